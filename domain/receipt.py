"""Idempotency: a receipt per applied idempotency key, saved atomically with the command's
changes, so a repeated command returns the earlier result and records nothing new."""

from __future__ import annotations

from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import event

from domain.base import DomainError, StampedAggregate
from domain.stamp import Stamp


class IdempotencyKeyReused(DomainError):
    code = "idempotency_key_reused"


class CommandReceipt(StampedAggregate):
    @staticmethod
    def id_for(key: str) -> UUID:
        return uuid5(NAMESPACE_URL, f"fallnetz:command:{key}")

    @event("Recorded")
    def __init__(self, id: UUID, command: str, result: dict[str, Any], by: Stamp) -> None:
        self.command = command
        self.result = result

    def result_for(self, command: str) -> dict[str, Any]:
        if command != self.command:
            raise IdempotencyKeyReused(
                f"This idempotency key was already used for '{self.command}'.",
                field="idempotency_key")
        return self.result
