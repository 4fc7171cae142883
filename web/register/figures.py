"""What the register's pages set beside a need group: the care-gap report's figures for its
need in its districts (so a card on the wall meets the numbers), and its history in words."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

from flask_babel import format_date, lazy_gettext as _l

from domain.network import NetworkConfig
from readmodel.register import RegisterGroup, group_districts
from readmodel.reports import GapRow, ReportFilter, care_gaps, suppressed
from readmodel.store import ViewStore
from web.reports.query import default_period

# A need group's and an agreement's events as their histories name them.
HISTORY = {"NeedGroup.Formed": _l("need group formed"),
           "NeedGroup.AgreementMade": _l("agreement made"),
           "NeedGroup.Reported": _l("reported to politics"),
           "NeedGroup.Resolved": _l("resolved"),
           "NeedGroup.Reopened": _l("reopened"),
           "NeedGroup.Described": _l("title, district or need changed"),
           "Agreement.Made": _l("agreement made"),
           "Agreement.Done": _l("marked done"),
           "Agreement.Withdrawn": _l("withdrawn"),
           "Agreement.Rescheduled": _l("moved to another day"),
           "Agreement.Escalated": _l("missed: escalated to the coordination office"),
           "Agreement.FollowedUp": _l("followed up")}


@dataclass(frozen=True)
class GapFigures:
    """The care-gap report's counts for one need in some districts over the last twelve
    months (the report's default period)."""

    needs_recorded: int
    sent: int
    accepted: int
    rejected_no_capacity: int
    escalated: int
    districts_without_service: tuple[str, ...]

    def shown(self, export: bool) -> list[Any]:
        count = suppressed if export else (lambda n: n)
        return [count(self.needs_recorded), count(self.sent), count(self.accepted),
                count(self.rejected_no_capacity), count(self.escalated),
                ", ".join(self.districts_without_service) or "–"]


def gap_figures(store: ViewStore, network: NetworkConfig, today: date) -> list[GapRow]:
    return care_gaps(store, network, ReportFilter(default_period(today)))


def for_group(rows: list[GapRow], group: RegisterGroup) -> GapFigures | None:
    """None when the group names no need of the catalogue (nothing to set beside it)."""
    if not group.need:
        return None
    districts = set(group_districts(group))
    matching = [r for r in rows if r.district in districts and (
        r.need == group.need or r.need.startswith(f"{group.need}."))]
    return GapFigures(
        sum(r.needs_recorded for r in matching), sum(r.sent for r in matching),
        sum(r.accepted for r in matching), sum(r.rejected_no_capacity for r in matching),
        sum(r.overdue for r in matching),
        tuple(sorted({r.district for r in matching if r.no_provider})))


GAP_HEADER = (_l("Needs recorded in cases"), _l("Referrals"), _l("Accepted"),
              _l("Rejected for lack of capacity"), _l("Escalated"),
              _l("Districts without a service"))


def history(application: Any, aggregate_id: UUID) -> list[dict[str, Any]]:
    """A need group's or an agreement's events: when, who, what (oldest first)."""
    found = []
    for event in application.repository.event_store.get(aggregate_id):
        name = type(event).__qualname__
        account = application.directory.user(event.by.user) \
            if event.by.role != "system" else None
        due = getattr(event, "due_on", None)
        said = [getattr(event, name, None) for name in ("title", "note", "to", "reason")]
        found.append({"at": event.timestamp, "what": HISTORY.get(name, name),
                      "who": account.display_name if account
                      else str(_l("Fallnetz (automatic)")),
                      "detail": next((s for s in said if s), None)
                      or (format_date(due, "dd.MM.yyyy") if due else "")})
    return found
