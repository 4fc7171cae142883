"""The network's instruments (DESIGN §11): the facts the network map, the care-gap report
and the network's health are counted from. One row per referral and per recorded need,
with the district of the person's case and the moments of each step; no names, no free
text, nothing of the person beyond the district. The reports aggregate these rows
(:mod:`readmodel.reports`)."""

from __future__ import annotations

from functools import singledispatchmethod
from typing import Any

from domain.case import Case
from domain.demand import DemandEstimate
from domain.referral import STATUS_AFTER_EVENT, Referral
from readmodel.store import Cursor, ts

TABLES = {
    "report_cases": "case_id TEXT PRIMARY KEY, district TEXT NOT NULL",
    "report_needs": "case_id TEXT NOT NULL, need TEXT NOT NULL, district TEXT NOT NULL, "
                    "recorded_at TEXT NOT NULL, resolved_at TEXT, "
                    "PRIMARY KEY (case_id, need)",
    "report_referrals": "referral_id TEXT PRIMARY KEY, district TEXT NOT NULL, "
                        "need TEXT NOT NULL, kind TEXT NOT NULL, "
                        "from_organisation_id TEXT NOT NULL, "
                        "to_organisation_id TEXT NOT NULL, status TEXT NOT NULL, "
                        "sent_at TEXT, received_at TEXT, accepted_at TEXT, "
                        "rejected_at TEXT, grounds TEXT, forwarded_at TEXT, "
                        "first_contact_at TEXT, ended_at TEXT, "
                        "escalated INTEGER NOT NULL",
    # The coordination office's expected demand (domain.demand), withdrawn ones removed.
    "report_demand": "estimate_id TEXT PRIMARY KEY, need TEXT NOT NULL, district TEXT, "
                     "first_month TEXT NOT NULL, last_month TEXT NOT NULL, "
                     "people INTEGER NOT NULL",
}
INDEXES = {
    "report_referrals_sent": "report_referrals (sent_at)",
    "report_needs_recorded": "report_needs (recorded_at)",
}
# The moment each event of a referral records, by the event's name.
MOMENTS = {"Received": "received_at", "Accepted": "accepted_at", "Rejected": "rejected_at",
           "Forwarded": "forwarded_at", "FirstContactMade": "first_contact_at"}
ENDED = {"Completed", "Failed", "Rejected", "Forwarded", "Cancelled", "MarkedEnteredInError"}


class NetworkReports:
    """Projects the report facts; dispatch per event class as in
    :class:`readmodel.projections.workflow.WorkflowViews`."""

    def apply(self, cur: Cursor, event: Any, position: int) -> None:
        self.project(event, cur)

    @singledispatchmethod
    def project(self, event: Any, cur: Cursor) -> None:
        """Every other event counts in no report."""

    @project.register(Case.Opened)
    def _case_opened(self, e: Any, cur: Cursor) -> None:
        cur.execute("INSERT INTO {p}report_cases VALUES (?, ?)",
                    (str(e.originator_id), e.person["district"]))

    @project.register(Case.PersonDataCorrected)
    def _moved(self, e: Any, cur: Cursor) -> None:
        # Referrals and needs keep the district they were counted in.
        cur.execute("UPDATE {p}report_cases SET district = ? WHERE case_id = ?",
                    (e.person["district"], str(e.originator_id)))

    @project.register(Case.NeedRecorded)
    def _need_recorded(self, e: Any, cur: Cursor) -> None:
        case_id = str(e.originator_id)
        cur.execute("DELETE FROM {p}report_needs WHERE case_id = ? AND need = ?",
                    (case_id, e.need))
        cur.execute("INSERT INTO {p}report_needs VALUES (?, ?, ?, ?, NULL)",
                    (case_id, e.need, self._district(cur, case_id), ts(e.timestamp)))

    @project.register(Case.NeedResolved)
    def _need_resolved(self, e: Any, cur: Cursor) -> None:
        cur.execute("UPDATE {p}report_needs SET resolved_at = ? WHERE case_id = ? AND need = ?",
                    (ts(e.timestamp), str(e.originator_id), e.need))

    @project.register(Referral.Created)
    def _referral_created(self, e: Any, cur: Cursor) -> None:
        sent_at = ts(e.timestamp) if e.status == "requested" else None
        cur.execute("INSERT INTO {p}report_referrals VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, "
                    "NULL, NULL, NULL, NULL, NULL, NULL, 0)",
                    (str(e.originator_id), self._district(cur, str(e.case_id)), e.need,
                     e.kind, str(e.from_organisation_id), str(e.to_organisation_id),
                     e.status, sent_at))

    @project.register(Referral.Event)
    def _referral_changed(self, e: Any, cur: Cursor) -> None:
        name = type(e).__name__
        rid = str(e.originator_id)
        moment = ts(e.timestamp)
        changes: dict[str, Any] = {}
        if name in STATUS_AFTER_EVENT:
            changes["status"] = STATUS_AFTER_EVENT[name]
        if name == "Sent":
            changes["sent_at"] = moment
        if name in MOMENTS:
            changes[MOMENTS[name]] = moment
        if name == "Rejected":
            changes["grounds"] = e.grounds
        if name in ENDED:
            changes["ended_at"] = moment
        if name == "Escalated":
            changes["escalated"] = 1
        if not changes:
            return
        assignments = ", ".join(f"{column} = ?" for column in changes)
        cur.execute(f"UPDATE {{p}}report_referrals SET {assignments} WHERE referral_id = ?",
                    (*changes.values(), rid))

    @project.register(DemandEstimate.Recorded)
    def _demand_recorded(self, e: Any, cur: Cursor) -> None:
        cur.execute("INSERT INTO {p}report_demand VALUES (?, ?, ?, ?, ?, ?)",
                    (str(e.originator_id), e.need, e.district, e.first_month.isoformat(),
                     e.last_month.isoformat(), e.people))

    @project.register(DemandEstimate.Revised)
    def _demand_revised(self, e: Any, cur: Cursor) -> None:
        # Also brings a withdrawn estimate back, which is why withdrawal keeps the row.
        cur.execute("UPDATE {p}report_demand SET people = ? WHERE estimate_id = ?",
                    (e.people, str(e.originator_id)))

    @project.register(DemandEstimate.Withdrawn)
    def _demand_withdrawn(self, e: Any, cur: Cursor) -> None:
        # Kept with 0 people: the revision's event names only the number.
        cur.execute("UPDATE {p}report_demand SET people = 0 WHERE estimate_id = ?",
                    (str(e.originator_id),))

    def _district(self, cur: Cursor, case_id: str) -> str:
        row = cur.one("SELECT district FROM {p}report_cases WHERE case_id = ?", (case_id,))
        return row["district"] if row else ""
PROJECTOR = NetworkReports
