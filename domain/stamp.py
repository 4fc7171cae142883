"""Who acted, for which organisation, in which role, within which request.

Every event carries a :class:`Stamp`; the event's own timestamp says when (UTC).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Transcoding


class Role(StrEnum):
    CASEWORKER = "caseworker"
    SUPERVISOR = "supervisor"
    COORDINATOR = "coordinator"
    ADMIN = "admin"
    # The data protection officer's role: confirms erasures (four eyes), sees every read.
    DATA_PROTECTION = "data_protection"
    # Commands the system issues on its own (drafts from a legal-sphere change, escalations).
    SYSTEM = "system"
    # The person themself, on their own page with the code of their slip (no account).
    PERSON = "person"


# The roles of staff: members of an organisation, who sign in.
STAFF_ROLES = tuple(r for r in Role if r not in (Role.SYSTEM, Role.PERSON))


# The roles that work on cases and referrals (DESIGN §2, §8).
CASEWORK = (Role.CASEWORKER, Role.SUPERVISOR)


@dataclass(frozen=True)
class Stamp:
    user: str
    organisation_id: UUID | None
    role: str
    correlation_id: str
    # Only Stamp.system() sets this: a role string from a form or a token can never carry
    # the application's own authority.
    is_engine: bool = field(default=False, compare=False, repr=False)

    @classmethod
    def person(cls, correlation_id: str) -> Stamp:
        """The person of a case, acting on their own page: who they are stays with the
        case (the events name no one)."""
        return cls(user="person", organisation_id=None, role=Role.PERSON.value,
                   correlation_id=correlation_id)

    @classmethod
    def system(cls, correlation_id: str) -> Stamp:
        return cls(user="system", organisation_id=None, role=Role.SYSTEM.value,
                   correlation_id=correlation_id, is_engine=True)


class StampAsDict(Transcoding):
    type = Stamp
    name = "stamp"

    def encode(self, obj: Stamp) -> dict[str, Any]:
        return {
            "user": obj.user,
            "organisation_id": obj.organisation_id,
            "role": obj.role,
            "correlation_id": obj.correlation_id,
        }

    def decode(self, data: dict[str, Any]) -> Stamp:
        return Stamp(**data)
