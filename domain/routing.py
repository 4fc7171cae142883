"""Suggested receivers for a need (DESIGN §7) and the capacity rules of wohnortnahe
Verteilung, the Cottbus practice of spreading families over the practices near where they
live: a service with room in the person's district first, then one with room next door,
then elsewhere; full services last and marked; load counts the referrals already asked for,
not only those accepted; accepting into a full service needs a reason
(:meth:`domain.referral.Referral.accept`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from domain.case import Case, need_group
from domain.deadlines import StageDeadline, calendar_for, stage_deadline
from domain.network import NetworkConfig
from domain.organisation import Organisation

STAGES = ("receive", "decide", "first_contact")


@dataclass(frozen=True)
class ServiceLoad:
    """What weighs on a service now, as the views count it."""

    taken: int = 0  # accepted, in progress or paused: places in use
    requested: int = 0  # sent or received and not yet decided: places about to be asked for
    waiting: int = 0  # on the service's waiting list

    @property
    def committed(self) -> int:
        """What the suggestions count: places taken, those already asked for (so that ten
        referrals sent in one morning do not all go to the service empty at 9:00) and the
        families on the waiting list (a place that comes free is theirs first)."""
        return self.taken + self.requested + self.waiting


def counted_service(receiver: Organisation, referral: Any) -> str | None:
    """The service a referral counts against: the one named, else the receiver's first
    service (by id) offering the need."""
    if referral.to_service_id:
        return referral.to_service_id
    for service_id, service in sorted(receiver.services.items()):
        if offers_need(service, referral.need):
            return service_id
    return None


# What a referral in a state weighs on its service (None: nothing, it is over or a draft).
TAKEN, REQUESTED, WAITING = "taken", "requested", "waiting"


def load_kind(status: str, waitlisted: bool) -> str | None:
    if status in ("requested", "received"):
        return REQUESTED
    if status == "on-hold" and waitlisted:
        return WAITING
    if status in ("accepted", "in-progress", "on-hold"):
        return TAKEN
    return None


def service_full(capacity: int | None, taken: int) -> bool:
    """No place left to accept into (no declared capacity: never full)."""
    return capacity is not None and taken >= capacity


# Where a service is, seen from the person's district: the order suggestions prefer.
IN_DISTRICT, NEXT_DOOR, ELSEWHERE = "district", "neighbour", "elsewhere"
PLACE_ORDER = {IN_DISTRICT: 0, NEXT_DOOR: 1, ELSEWHERE: 2}


@dataclass(frozen=True)
class Suggestion:
    organisation_id: UUID
    organisation_name: str
    service_id: str | None
    service_name: str | None
    named_by_map: bool
    place: str  # IN_DISTRICT, NEXT_DOOR or ELSEWHERE
    speaks_language: bool
    serves_legal_sphere: bool
    load: ServiceLoad
    capacity: int | None
    deadlines: tuple[StageDeadline, ...]
    districts: tuple[str, ...] = ()  # where the service works (none: the whole network)

    @property
    def serves_district(self) -> bool:
        return self.place == IN_DISTRICT

    @property
    def matches(self) -> int:
        return self.speaks_language + self.serves_legal_sphere

    @property
    def utilisation(self) -> float | None:
        """Committed load ÷ capacity; None where the service declares no capacity."""
        if self.capacity is None:
            return None
        return float("inf") if self.capacity == 0 else self.load.committed / self.capacity

    @property
    def full(self) -> bool:
        """No room for another family: offered last, "voll – nur nach Rücksprache"."""
        return service_full(self.capacity, self.load.committed)

    def rank(self) -> tuple[bool, bool, int, int, bool, float, str]:
        """The rule of wohnortnahe Verteilung: every service with room comes before every
        full one. Among them, those the responsibility map names first (the network agreed
        they are responsible); then the person's district, its neighbours, the rest; then
        language and legal sphere; then the least loaded. A service without a declared
        capacity counts as having room and ranks after those whose load is known."""
        utilisation = self.utilisation
        return (self.full, not self.named_by_map, PLACE_ORDER[self.place], -self.matches,
                utilisation is None, utilisation or 0.0, self.organisation_name)

    def why(self) -> tuple[str, ...]:
        """Why it stands where it stands, as codes the web and the API put into words."""
        reasons = ["full" if self.full else f"room_{self.place}"]
        if self.named_by_map:
            reasons.append("named_by_map")
        reasons.append("speaks_language" if self.speaks_language else "no_common_language")
        reasons.append("serves_legal_sphere" if self.serves_legal_sphere
                       else "other_legal_sphere")
        return tuple(reasons)


def place_of(network: NetworkConfig, service_districts: Iterable[str], district: str) -> str:
    """A service without districts serves the whole network."""
    districts = set(service_districts)
    if not districts or district in districts:
        return IN_DISTRICT
    if districts & network.next_to(district):
        return NEXT_DOOR
    return ELSEWHERE


def offers_need(service: Mapping[str, object], need: str) -> bool:
    if service.get("ended"):  # withdrawn by its publisher
        return False
    needs = service.get("needs") or []
    assert isinstance(needs, list)
    return need in needs or need_group(need) in needs


def offers_need_or_group(service: Mapping[str, object], wanted: str) -> bool:
    """The service offers the need, or, when ``wanted`` names a need group ("health"),
    any need of that group."""
    needs = service.get("needs") or []
    assert isinstance(needs, list)
    return offers_need(service, wanted) or any(str(n).startswith(f"{wanted}.") for n in needs)


def suggest_receivers(network: NetworkConfig, organisations: Iterable[Organisation],
                      case: Case, need: str, urgency: str,
                      load: Mapping[tuple[UUID, str], ServiceLoad], now: datetime,
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
                organisation.id, organisation.name, None, None, True, IN_DISTRICT, False,
                True, ServiceLoad(), None, deadlines))
            continue
        for service_id, service in services:
            suggestions.append(Suggestion(
                organisation_id=organisation.id, organisation_name=organisation.name,
                service_id=service_id, service_name=str(service["name"]),
                named_by_map=by_map,
                place=place_of(network, service["districts"], person["district"]),
                speaks_language=not languages or bool(languages & set(service["languages"])),
                serves_legal_sphere=not service["legal_spheres"]
                or case.legal_sphere in service["legal_spheres"],
                load=load.get((organisation.id, service_id), ServiceLoad()),
                capacity=service["capacity"], deadlines=deadlines,
                districts=tuple(service["districts"])))
    return sorted(suggestions, key=Suggestion.rank)
