"""Who acted, for which organisation, in which role, within which request.

Every event carries a :class:`Stamp`; the event's own timestamp says when (UTC).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Transcoding


class Role(StrEnum):
    CASEWORKER = "caseworker"
    SUPERVISOR = "supervisor"
    COORDINATOR = "coordinator"
    ADMIN = "admin"
    # Commands the system issues on its own (drafts from a legal-sphere change, escalations).
    SYSTEM = "system"


@dataclass(frozen=True)
class Stamp:
    user: str
    organisation_id: UUID | None
    role: str
    correlation_id: str

    @classmethod
    def system(cls, correlation_id: str) -> Stamp:
        return cls(user="system", organisation_id=None, role=Role.SYSTEM.value,
                   correlation_id=correlation_id)

    def with_role(self, role: Role) -> Stamp:
        return Stamp(self.user, self.organisation_id, role.value, self.correlation_id)


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
