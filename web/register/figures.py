"""What the register's pages set beside a need group: the care-gap report's figures for its
need in its districts (so a card on the wall meets the numbers), and its history in words."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

from flask_babel import lazy_gettext as _l

from domain.network import NetworkConfig
from readmodel.register import RegisterGroup, group_districts
from readmodel.reports import GapRow, ReportFilter, care_gaps, suppressed
from readmodel.store import ViewStore
from web.application import current_application
from web.reports.query import default_period

# The need group's events as the history names them.
HISTORY = {"NeedGroup.Formed": _l("need group formed"),
           "NeedGroup.AgreementMade": _l("agreement made"),
           "NeedGroup.Reported": _l("reported to politics"),
           "NeedGroup.Resolved": _l("resolved"),
           "NeedGroup.Reopened": _l("reopened")}


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


def history(application: Any, group_id: UUID) -> list[dict[str, Any]]:
    """The group's events: when, who, what (oldest first)."""
    found = []
    for event in application.repository.event_store.get(group_id):
        name = f"NeedGroup.{type(event).__name__}"
        account = application.directory.user(event.by.user) if event.by.user != "system" \
            else None
        found.append({"at": event.timestamp, "what": HISTORY.get(name, name),
                      "who": account.display_name if account else event.by.user,
                      "detail": getattr(event, "note", None) or getattr(event, "to", None)
                      or ""})
    return found


def users_named(usernames: set[str]) -> dict[str, str]:
    directory = current_application().directory
    names = {}
    for username in usernames:
        account = directory.user(username)
        names[username] = account.display_name if account else username
    return names
