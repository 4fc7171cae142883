"""The validated, immutable form of a network's configuration."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class NeedCategory:
    code: str
    label_de: str
    label_en: str

    @property
    def group(self) -> str:
        return self.code.split(".", 1)[0]


@dataclass(frozen=True)
class ResponsibilityRule:
    """(need, legal spheres, districts, housing stages) → organisations; empty = any."""

    need: str
    organisations: tuple[str, ...]
    legal_spheres: tuple[str, ...] = ()
    districts: tuple[str, ...] = ()
    housing_stages: tuple[str, ...] = ()

    def applies(self, need: str, legal_sphere: str, district: str, housing_stage: str) -> bool:
        return (self.need == need
                and (not self.legal_spheres or legal_sphere in self.legal_spheres)
                and (not self.districts or district in self.districts)
                and (not self.housing_stages or housing_stage in self.housing_stages))


@dataclass(frozen=True)
class LeadRule:
    """Who takes over the lead of a case whose legal sphere changes to ``legal_sphere``."""

    legal_sphere: str
    need: str
    organisations: tuple[str, ...]
    districts: tuple[str, ...] = ()

    def applies(self, legal_sphere: str, district: str) -> bool:
        return self.legal_sphere == legal_sphere and (
            not self.districts or district in self.districts)


@dataclass(frozen=True)
class SelfHelp:
    """What the people can do themselves about a need at a housing stage (Organigramm); in
    German, and in English where the coordination office wrote it."""

    need: str
    housing_stage: str
    text: str
    text_en: str = ""


@dataclass(frozen=True)
class Duration:
    """Either calendar hours or working days (counted to the end of the working day)."""

    hours: int = 0
    working_days: int = 0


@dataclass(frozen=True)
class EscalationLevel:
    level: int
    after: Duration
    after_crisis: Duration
    recipients: tuple[str, ...]


@dataclass(frozen=True)
class DeadlinePolicy:
    version: str
    # urgency → stage (receive | decide | first_contact) → duration
    stages: dict[str, dict[str, Duration]]
    lead_handoff_decide: Duration
    escalation: tuple[EscalationLevel, ...]

    def duration(self, urgency: str, stage: str, *, lead_handoff: bool = False) -> Duration:
        if lead_handoff and stage == "decide":
            return self.lead_handoff_decide
        return self.stages[urgency][stage]


@dataclass(frozen=True)
class NetworkConfig:
    slug: str
    name: str
    state: str
    case_reference_prefix: str
    districts: tuple[str, ...]
    needs: dict[str, NeedCategory]
    legal_sphere_by_residence_status: dict[str, str]
    responsibility_version: str
    rules: tuple[ResponsibilityRule, ...]
    lead_rules: tuple[LeadRule, ...]
    deadlines: DeadlinePolicy
    coordination_office: str = ""
    languages: tuple[str, ...] = field(default=())
    retention_months: int = 36
    # the longest a consent may run from the day it is given (longer ones are mistakes)
    consent_max_months: int = 24
    # district → its neighbours, symmetric (see :func:`symmetric_neighbours`)
    neighbours: dict[str, frozenset[str]] = field(default_factory=dict)
    # what the people can do themselves, per need and housing stage (responsibility.toml)
    self_help: tuple[SelfHelp, ...] = field(default=())

    def next_to(self, district: str) -> frozenset[str]:
        """The districts that border ``district`` (none when the network names none)."""
        return self.neighbours.get(district, frozenset())

    def responsible(self, need: str, legal_sphere: str, district: str,
                    housing_stage: str) -> list[str]:
        """Organisation keys the map names for this situation, most specific rules first."""
        matching = [r for r in self.rules
                    if r.applies(need, legal_sphere, district, housing_stage)]
        matching.sort(key=lambda r: -(bool(r.legal_spheres) + bool(r.districts)
                                      + bool(r.housing_stages)))
        keys: list[str] = []
        for rule in matching:
            keys.extend(k for k in rule.organisations if k not in keys)
        return keys

    def lead_takers(self, legal_sphere: str, district: str) -> list[tuple[str, str]]:
        """(organisation key, need) pairs the map names to take over the lead of a case whose
        legal sphere changed to ``legal_sphere``."""
        takers: list[tuple[str, str]] = []
        for rule in sorted(self.lead_rules, key=lambda r: -bool(r.districts)):
            if rule.applies(legal_sphere, district):
                takers.extend((k, rule.need) for k in rule.organisations
                              if k not in [t[0] for t in takers])
        return takers

    def is_need(self, code: str) -> bool:
        return code in self.needs


def symmetric_neighbours(named: dict[str, list[str]]) -> dict[str, frozenset[str]]:
    """Each pair in both directions: a network file may name it on either side."""
    pairs: dict[str, set[str]] = {}
    for district, others in named.items():
        for other in others:
            pairs.setdefault(district, set()).add(other)
            pairs.setdefault(other, set()).add(district)
    return {district: frozenset(others) for district, others in pairs.items()}
