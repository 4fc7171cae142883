"""The person's own access to the status of their case: a code on a printed slip, with their
birth year, opens their page without an account (DESIGN §2: the person is a data subject,
never an anonymous object of the process).

The code itself is stored nowhere: the access's id is derived from a digest of it, so a
code finds its access directly and the store cannot give it away. A code is revoked by the
caseworker, replaced by a new one, or ends on its expiry day."""

from __future__ import annotations

import hashlib
import secrets
from datetime import date
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import event

from domain.base import DomainError, StampedAggregate
from domain.messages import _
from domain.stamp import Stamp

# No 0/O, 1/I/L: read off paper and typed on a phone without doubt. 31^12 codes (about 2^59)
# against guessing that is throttled per address.
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 12
# How long a slip's code works unless the caseworker renews or revokes it.
ACCESS_DAYS = 180


def new_access_code() -> str:
    code = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    return "-".join(code[i:i + 4] for i in range(0, CODE_LENGTH, 4))


def normalised(code: str) -> str:
    """The code as typed, without spaces, dashes or case."""
    return "".join(c for c in (code or "").upper() if c.isascii() and c.isalnum())


class PersonAccess(StampedAggregate):
    @staticmethod
    def id_for(code: str) -> UUID:
        digest = hashlib.sha256(normalised(code).encode()).hexdigest()
        return uuid5(NAMESPACE_URL, f"fallnetz:person-access:{digest}")

    @event("Issued")
    def __init__(self, id: UUID, case_id: UUID, expires_on: date, by: Stamp) -> None:
        self.case_id = case_id
        self.expires_on = expires_on
        self.revoked = False

    @classmethod
    def issue(cls, code: str, case_id: UUID, expires_on: date, by: Stamp) -> PersonAccess:
        return cls(id=cls.id_for(code), case_id=case_id, expires_on=expires_on, by=by)

    def revoke(self, by: Stamp) -> None:
        if self.revoked:
            raise DomainError(_("This access code is revoked already."), field="access")
        self._revoked(by=by)

    @event("Revoked")
    def _revoked(self, by: Stamp) -> None:
        self.revoked = True

    def opens(self, today: date) -> bool:
        return not self.revoked and today <= self.expires_on
