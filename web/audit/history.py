"""Complete histories from the stored events: who (user, organisation, role), what, when,
and the state of its subject before and after; and the state as it was at a past moment.
Read from the event store itself, never from a view, so an audit shows what was recorded."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from uuid import UUID

from flask_babel import gettext

from domain.application import ReferralNetwork
from domain.base import Erased
from domain.organisation import Organisation
from domain.case import Case
from domain.referral import Referral

STANDARD_FIELDS = {"originator_id", "originator_version", "timestamp", "originator_topic",
                   "by"}
ORGANISATION_FIELDS = {"organisation_id", "to_organisation_id", "from_organisation_id",
                       "receiver_organisation_id", "lead_organisation_id"}


@dataclass(frozen=True)
class HistoryRow:
    at: datetime
    subject_id: UUID
    subject: str  # "case" or "referral"
    version: int
    event: str  # e.g. "Referral.Accepted"
    user: str
    user_name: str
    organisation: str
    role: str
    correlation_id: str
    state_before: str
    state_after: str
    details: dict[str, Any]
    # the subject's fields an event may change, as they were before it ("vorher → nachher")
    before: dict[str, Any] = field(default_factory=dict)

    @property
    def what(self) -> str:
        """The key of what happened, for its label: a referral created as sent at once was
        also sent."""
        if self.event == "Referral.Created" and self.state_after != "draft":
            return "Referral.CreatedAndSent"
        return self.event


# The fields of a case whose change the audit shows as "before → after".
CHANGEABLE = ("housing_stage", "residence_status", "lead_caseworker", "person")


def _copied(value: Any) -> Any:
    return dict(value) if isinstance(value, dict) else value


def _state(aggregate: Any) -> str:
    return "" if aggregate is None else str(aggregate.status)


def _events(application: ReferralNetwork, aggregate_id: UUID) -> list[Any]:
    return list(application.repository.event_store.get(aggregate_id))


class _Names(dict):  # type: ignore[type-arg]
    """Organisation id → name, each organisation the history names loaded from the store
    when it is first needed (the history is read from the events, not from the views)."""

    def __init__(self, application: ReferralNetwork, known: dict[UUID, str]) -> None:
        super().__init__(known)
        self.app = application

    def get(self, key: Any, default: Any = None) -> Any:
        if key not in self and isinstance(key, UUID):
            found = self.app.find(Organisation, key)
            self[key] = found.name if found is not None else default
        return super().get(key, default)


def history_rows(application: ReferralNetwork, aggregate_ids: list[UUID],
                 until: datetime | None = None,
                 organisations: dict[UUID, str] | None = None) -> list[HistoryRow]:
    """Every event of these aggregates in the order it happened (up to ``until``);
    ``organisations`` (id → name) saves a second read of the directory."""
    organisations = _Names(application, organisations or {})
    people: dict[str, str] = {}
    rows = []
    for aggregate_id in aggregate_ids:
        aggregate = None
        for event in _events(application, aggregate_id):
            if until is not None and event.timestamp > until:
                break
            before = _state(aggregate)
            fields_before = {name: _copied(getattr(aggregate, name, None))
                             for name in CHANGEABLE} if aggregate is not None else {}
            aggregate = event.mutate(aggregate)
            kind, _, name = type(event).__qualname__.partition(".")
            by = event.by
            if by.user not in people:
                account = application.directory.user(by.user) if by.user != "system" else None
                people[by.user] = account.display_name if account else by.user
            rows.append(HistoryRow(
                at=event.timestamp, subject_id=aggregate_id, subject=kind.lower(),
                version=event.originator_version, event=f"{kind}.{name}", user=by.user,
                user_name=people[by.user],
                organisation=organisations.get(by.organisation_id, "") if by.organisation_id
                else "", role=by.role, correlation_id=by.correlation_id,
                state_before=before, state_after=_state(aggregate),
                details=_details(event, organisations), before=fields_before))
    rows.sort(key=lambda r: (r.at, r.subject, r.version))
    return rows


def without_details(row: HistoryRow) -> HistoryRow:
    """The row without the event's content: who, when, what and the states only."""
    from dataclasses import replace

    return replace(row, details={})


def _details(event: Any, organisations: dict[UUID, str]) -> dict[str, Any]:
    details = {}
    for key, value in vars(event).items():
        if key in STANDARD_FIELDS or key.startswith("_"):
            continue
        if key in ORGANISATION_FIELDS and isinstance(value, UUID):
            value = organisations.get(value, str(value))
        details[key] = value
    return details


def detail_text(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, Erased):
        return gettext("erased")
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return json.dumps({k: _erased_in_words(v) for k, v in value.items()},
                          ensure_ascii=False, default=str)
    if isinstance(value, list):
        return json.dumps([_erased_in_words(v) for v in value], ensure_ascii=False,
                          default=str)
    return str(value)


def _erased_in_words(value: Any) -> Any:
    return gettext("erased") if isinstance(value, Erased) else value


def state_at(application: ReferralNetwork, aggregate_id: UUID, moment: datetime) -> Any:
    """The aggregate as it was at ``moment`` (None if it did not exist yet)."""
    aggregate = None
    for event in _events(application, aggregate_id):
        if event.timestamp > moment:
            break
        aggregate = event.mutate(aggregate)
    return aggregate


@dataclass(frozen=True)
class StageTrail:
    stage: str
    due_at: datetime
    escalations: tuple[datetime, ...]
    met_at: datetime | None
    escalated_levels: tuple[int, ...]


ENDS_STAGE = {"receive": {"Received", "Accepted", "Rejected", "Forwarded", "Cancelled",
                          "MarkedEnteredInError"},
              "decide": {"Accepted", "Rejected", "Forwarded", "Cancelled",
                         "MarkedEnteredInError"},
              "first_contact": {"FirstContactMade", "Forwarded", "Completed", "Failed",
                                "Cancelled", "MarkedEnteredInError"}}


def deadline_trail(application: ReferralNetwork, referral: Referral) -> list[StageTrail]:
    """Each deadline stage the referral entered: when it was due, when its escalation
    levels fell due, when it was met, and which levels were escalated."""
    if referral.sent_at is None:
        return []
    events = _events(application, referral.id)
    stages = ["receive", "decide"]
    if any(type(e).__name__ == "Accepted" for e in events):
        stages.append("first_contact")
    return [_trail(application, referral, stage, events) for stage in stages]


def _trail(application: ReferralNetwork, referral: Referral, stage: str,
           events: list[Any]) -> StageTrail:
    deadline = application.escalations.deadline_of(referral, stage)
    met = next((getattr(e, "made_at", None) or e.timestamp for e in events
                if type(e).__name__ in ENDS_STAGE[stage]), None)  # a contact recorded later
    levels = tuple(e.level for e in events
                   if type(e).__name__ == "Escalated" and e.stage == stage)
    return StageTrail(stage, deadline.due_at, deadline.escalations, met, levels)


def case_snapshot(application: ReferralNetwork, case_id: UUID, moment: datetime,
                  ) -> tuple[Case | None, list[Referral]]:
    current = application.load(Case, case_id, what="case")
    case = state_at(application, case_id, moment)
    referrals = [r for r in (state_at(application, rid, moment) for rid in current.referral_ids)
                 if r is not None]
    return case, referrals
