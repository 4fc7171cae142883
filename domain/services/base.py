"""What every area's service shares: the application it runs its commands through."""

from __future__ import annotations

from typing import Any, TYPE_CHECKING

from domain.stamp import Role

if TYPE_CHECKING:
    from domain.application import ReferralNetwork

DIRECTORY_ROLES = (Role.ADMIN, Role.COORDINATOR)


class Service:
    """One area's commands and reads. Each command decides in a closure that the
    application's pipeline (:meth:`ReferralNetwork.execute`) runs and saves atomically."""

    def __init__(self, application: ReferralNetwork) -> None:
        self.application = application


def arguments(values: dict[str, Any]) -> dict[str, Any]:
    """A command's arguments from its ``locals()``, for the idempotency fingerprint."""
    return {k: v for k, v in values.items()
            if k not in ("self", "by", "idempotency_key", "decide", "change")
            and not callable(v)}
