"""Suggested receivers for a need (DESIGN §7): the services of the organisations the
responsibility map names, preferring those that serve the person's district, speak one of
their languages and work in their legal sphere, and spreading load by current load ÷
capacity (the Cottbus practice of spreading families across practices)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from domain.case import Case, need_group
from domain.deadlines import StageDeadline, calendar_for, stage_deadline
from domain.network import NetworkConfig
from domain.organisation import Organisation

STAGES = ("receive", "decide", "first_contact")


@dataclass(frozen=True)
class Suggestion:
    organisation_id: UUID
    organisation_name: str
    service_id: str | None
    service_name: str | None
    named_by_map: bool
    serves_district: bool
    speaks_language: bool
    serves_legal_sphere: bool
    load: int
    capacity: int | None
    deadlines: tuple[StageDeadline, ...]

    @property
    def matches(self) -> int:
        return self.serves_district + self.speaks_language + self.serves_legal_sphere

    @property
    def utilisation(self) -> float | None:
        """Current load ÷ capacity; None where the service declares no capacity."""
        if self.capacity is None:
            return None
        return float("inf") if self.capacity == 0 else self.load / self.capacity

    @property
    def full(self) -> bool:
        return self.capacity is not None and self.load >= self.capacity

    def rank(self) -> tuple[bool, int, bool, float, str]:
        # Map first, then the closest match; within equal matches the least loaded. A
        # service without a declared capacity ranks after those whose load is known.
        utilisation = self.utilisation
        return (not self.named_by_map, -self.matches, utilisation is None,
                utilisation or 0.0, self.organisation_name)


def offers_need(service: Mapping[str, object], need: str) -> bool:
    needs = service.get("needs") or []
    assert isinstance(needs, list)
    return need in needs or need_group(need) in needs


def suggest_receivers(network: NetworkConfig, organisations: Iterable[Organisation],
                      case: Case, need: str, urgency: str,
                      load: Mapping[tuple[UUID, str], int], now: datetime,
                      lead_handoff: bool = False) -> list[Suggestion]:
    """Every active organisation that could receive a referral for ``need`` of ``case``,
    best first, each with the deadlines a referral sent ``now`` would get. Organisations the
    map does not name come last, so a gap in the map never leaves the caseworker with
    nothing to choose."""
    person = case.person
    named = network.responsible(need, case.legal_sphere, person["district"],
                                case.housing_stage)
    calendar = calendar_for(network.state)
    deadlines = tuple(stage_deadline(network.deadlines, calendar, urgency=urgency,
                                     lead_handoff=lead_handoff, stage=stage, sent_at=now)
                      for stage in STAGES)
    languages = set(person.get("languages") or [])
    suggestions = []
    for organisation in organisations:
        if not organisation.active or organisation.id == case.lead_organisation_id:
            continue
        by_map = organisation.key in named
        services = [(sid, s) for sid, s in sorted(organisation.services.items())
                    if offers_need(s, need)]
        if not services and not by_map:
            continue
        if not services:  # named by the map without a described service
            suggestions.append(Suggestion(
                organisation.id, organisation.name, None, None, True, True, False, True,
                0, None, deadlines))
            continue
        for service_id, service in services:
            suggestions.append(Suggestion(
                organisation_id=organisation.id, organisation_name=organisation.name,
                service_id=service_id, service_name=str(service["name"]),
                named_by_map=by_map,
                serves_district=not service["districts"]
                or person["district"] in service["districts"],
                speaks_language=not languages or bool(languages & set(service["languages"])),
                serves_legal_sphere=not service["legal_spheres"]
                or case.legal_sphere in service["legal_spheres"],
                load=load.get((organisation.id, service_id), 0),
                capacity=service["capacity"], deadlines=deadlines))
    return sorted(suggestions, key=Suggestion.rank)
