"""The receiver a referral or forward form names: ``<organisation id>:<service id>`` (the
service part empty for the organisation as a whole). Built and read here only."""

from __future__ import annotations

from uuid import UUID

from domain.organisation import Organisation


def receiver_value(organisation_id: UUID, service_id: str | None) -> str:
    return f"{organisation_id}:{service_id or ''}"


def receiver_values(organisations: list[Organisation]) -> list[str]:
    """Every choice the forms offer: each organisation, and each of its services."""
    values = []
    for organisation in organisations:
        values.append(receiver_value(organisation.id, None))
        values.extend(receiver_value(organisation.id, sid)
                      for sid in organisation.offered_services())
    return values


def parse_receiver(value: str) -> tuple[UUID, str | None]:
    """(organisation id, service id or None); ValueError for anything else."""
    organisation_id, _sep, service_id = value.partition(":")
    return UUID(organisation_id), service_id or None
