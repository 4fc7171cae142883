"""Idempotency: a receipt per applied idempotency key, saved atomically with the command's
changes, so a repeated command returns the earlier result and records nothing new."""

from __future__ import annotations

from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import event

from domain.base import DomainError, StampedAggregate
from domain.messages import _
from domain.stamp import Stamp


class IdempotencyKeyReused(DomainError):
    code = "idempotency_key_reused"


class CommandReceipt(StampedAggregate):
    @staticmethod
    def id_for(by: Stamp, key: str) -> UUID:
        # A key belongs to whoever used it: another user's identical key is another command.
        return uuid5(NAMESPACE_URL,
                     f"fallnetz:command:{by.user}:{by.organisation_id}:{by.role}:{key}")

    @event("Recorded")
    def __init__(self, id: UUID, command: str, fingerprint: str, result: dict[str, Any],
                 by: Stamp) -> None:
        self.command = command
        self.fingerprint = fingerprint
        self.result = result

    def result_for(self, command: str, fingerprint: str) -> dict[str, Any]:
        if (command, fingerprint) != (self.command, self.fingerprint):
            raise IdempotencyKeyReused(
                _("This idempotency key was already used for another command."),
                field="idempotency_key")
        return self.result


def fingerprint(arguments: dict[str, Any]) -> str:
    """A stable digest of a command's arguments."""
    import hashlib

    text = repr(sorted((k, repr(v)) for k, v in arguments.items()))
    return hashlib.sha256(text.encode()).hexdigest()
