"""The network's instruments (DESIGN §11): the figures the network map, the care-gap report
and the network's health are counted from. Per month, district, need and pair of
organisations the referrals' counts and the hours of their steps; per month, district and
need the needs recorded. Behind them one row per referral and per recorded need, the
moments of its steps, from which a change is counted as the difference it makes. No
names, no free text, nothing of the person beyond the district. The reports
(:mod:`readmodel.reports`) read the monthly rows, so a report costs the same for a history
of a thousand events as for one of millions."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from functools import singledispatchmethod
from typing import Any

from domain.case import Case
from domain.demand import DemandEstimate
from domain.referral import (
    ENTERED_IN_ERROR, NO_CAPACITY, NOT_RESPONSIBLE, OTHER_GROUNDS, STATUS_AFTER_EVENT, Referral)
from readmodel.projections.dispatch import handler
from readmodel.projections.written import WrittenRows
from readmodel.store import Cursor, parse, ts

FLOW_COUNTS = ("sent", "accepted", "rejected_no_capacity", "rejected_not_responsible",
               "rejected_other", "escalated", "ended")

TABLES = {
    "report_cases": "case_id TEXT PRIMARY KEY, district TEXT NOT NULL",
    # Per recorded need its latest recording; the organisation that recorded it is a
    # supervisor's slice.
    "report_needs": "case_id TEXT NOT NULL, need TEXT NOT NULL, district TEXT NOT NULL, "
                    "organisation_id TEXT NOT NULL, recorded_at TEXT NOT NULL, "
                    "resolved_at TEXT, PRIMARY KEY (case_id, need)",
    # Per referral the moments of its steps: what a change of the referral is measured
    # against, so the monthly rows below change by its difference.
    "report_referrals": "referral_id TEXT PRIMARY KEY, district TEXT NOT NULL, "
                        "need TEXT NOT NULL, kind TEXT NOT NULL, "
                        "from_organisation_id TEXT NOT NULL, "
                        "to_organisation_id TEXT NOT NULL, status TEXT NOT NULL, "
                        "sent_at TEXT, received_at TEXT, accepted_at TEXT, "
                        "rejected_at TEXT, grounds TEXT, forwarded_at TEXT, "
                        "first_contact_at TEXT, ended_at TEXT, "
                        "escalated INTEGER NOT NULL",
    # What the reports read: per month sent, district, need and pair of organisations the
    # referrals' counts, and the hours each step took as a histogram (the medians). A
    # report reads months, not referrals, whatever the size of the history.
    "report_flows": "month TEXT NOT NULL, district TEXT NOT NULL, need TEXT NOT NULL, "
                    "from_organisation_id TEXT NOT NULL, to_organisation_id TEXT NOT NULL, "
                    + ", ".join(f"{count} INTEGER NOT NULL" for count in FLOW_COUNTS)
                    + ", PRIMARY KEY (month, district, need, from_organisation_id, "
                    "to_organisation_id)",
    "report_step_hours": "month TEXT NOT NULL, district TEXT NOT NULL, need TEXT NOT NULL, "
                         "from_organisation_id TEXT NOT NULL, "
                         "to_organisation_id TEXT NOT NULL, step TEXT NOT NULL, "
                         "hours INTEGER NOT NULL, referrals INTEGER NOT NULL, "
                         "PRIMARY KEY (month, district, need, from_organisation_id, "
                         "to_organisation_id, step, hours)",
    "report_need_months": "month TEXT NOT NULL, district TEXT NOT NULL, need TEXT NOT NULL, "
                          "organisation_id TEXT NOT NULL, recorded INTEGER NOT NULL, "
                          "PRIMARY KEY (month, district, need, organisation_id)",
    # The coordination office's expected demand (domain.demand), withdrawn ones removed.
    "report_demand": "estimate_id TEXT PRIMARY KEY, need TEXT NOT NULL, district TEXT, "
                     "first_month TEXT NOT NULL, last_month TEXT NOT NULL, "
                     "people INTEGER NOT NULL",
}
INDEXES: dict[str, str] = {}
# The moment each event of a referral records, by the event's name.
MOMENTS = {"Received": "received_at", "Accepted": "accepted_at", "Rejected": "rejected_at",
           "Forwarded": "forwarded_at", "FirstContactMade": "first_contact_at"}
ENDED = {"Completed", "Failed", "Rejected", "Forwarded", "Cancelled", "MarkedEnteredInError"}
FLOW_KEY = ("month", "district", "need", "from_organisation_id", "to_organisation_id")
FLOW_PLACEHOLDERS = ", ".join("?" for _ in (*FLOW_KEY, *FLOW_COUNTS))


def _hours(start: str | None, end: str | None) -> int | None:
    if not start or not end:
        return None
    return round((parse(end) - parse(start)).total_seconds() / 3600)


def _decided_at(row: dict[str, Any]) -> str | None:
    moments = [row[m] for m in ("accepted_at", "rejected_at", "forwarded_at") if row[m]]
    return min(moments) if moments else None


# The steps whose hours the reports take medians of: from which moment to which.
STEPS: dict[str, Callable[[dict[str, Any]], int | None]] = {
    "receipt": lambda r: _hours(r["sent_at"], r["received_at"]),
    "acceptance": lambda r: _hours(r["sent_at"], r["accepted_at"]),
    "decision": lambda r: _hours(r["received_at"] or r["sent_at"], _decided_at(r)),
    "first_contact": lambda r: _hours(r["sent_at"], r["first_contact_at"]),
    "contact_after_acceptance": lambda r: _hours(r["accepted_at"], r["first_contact_at"]),
}


def flow_counts(row: dict[str, Any]) -> dict[str, int]:
    """What one referral adds to its month's counts: nothing before it is sent, nothing
    once it is marked entered in error (it did not happen)."""
    if not row["sent_at"] or row["status"] == ENTERED_IN_ERROR:
        return {count: 0 for count in FLOW_COUNTS}
    return {"sent": 1, "accepted": int(bool(row["accepted_at"])),
            "rejected_no_capacity": int(row["grounds"] == NO_CAPACITY),
            "rejected_not_responsible": int(row["grounds"] == NOT_RESPONSIBLE),
            "rejected_other": int(row["grounds"] == OTHER_GROUNDS),
            "escalated": int(row["escalated"]), "ended": int(bool(row["ended_at"]))}


def step_hours(row: dict[str, Any]) -> dict[str, int]:
    """The hours of each step the referral has taken, under the same rule."""
    if not row["sent_at"] or row["status"] == ENTERED_IN_ERROR:
        return {}
    taken = {step: hours(row) for step, hours in STEPS.items()}
    return {step: h for step, h in taken.items() if h is not None}


class NetworkReports:
    """Projects the report facts; dispatch per event class as in
    :class:`readmodel.projections.workflow.WorkflowViews`."""

    def __init__(self) -> None:
        self._referrals = WrittenRows()

    def apply(self, cur: Cursor, event: Any, position: int) -> None:
        handler(self, event)(self, event, cur)

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
        # A need recorded again (after it was resolved) counts once, in its latest month.
        case_id = str(e.originator_id)
        before = cur.one("SELECT * FROM {p}report_needs WHERE case_id = ? AND need = ?",
                         (case_id, e.need))
        if before:
            self._count_need(cur, before, -1)
            cur.execute("DELETE FROM {p}report_needs WHERE case_id = ? AND need = ?",
                        (case_id, e.need))
        after = {"case_id": case_id, "need": e.need, "district": self._district(cur, case_id),
                 "organisation_id": str(e.by.organisation_id or ""),
                 "recorded_at": ts(e.timestamp)}
        cur.execute("INSERT INTO {p}report_needs VALUES (?, ?, ?, ?, ?, NULL)",
                    tuple(after.values()))
        self._count_need(cur, after, 1)

    @project.register(Case.NeedResolved)
    def _need_resolved(self, e: Any, cur: Cursor) -> None:
        cur.execute("UPDATE {p}report_needs SET resolved_at = ? WHERE case_id = ? AND need = ?",
                    (ts(e.timestamp), str(e.originator_id), e.need))

    def _count_need(self, cur: Cursor, need: dict[str, Any], change: int) -> None:
        cur.execute("INSERT INTO {p}report_need_months AS m VALUES (?, ?, ?, ?, ?) "
                    "ON CONFLICT (month, district, need, organisation_id) "
                    "DO UPDATE SET recorded = m.recorded + excluded.recorded",
                    (need["recorded_at"][:7], need["district"], need["need"],
                     need["organisation_id"], change))

    @project.register(Referral.Created)
    def _referral_created(self, e: Any, cur: Cursor) -> None:
        row = {"referral_id": str(e.originator_id),
               "district": self._district(cur, str(e.case_id)), "need": e.need,
               "kind": e.kind, "from_organisation_id": str(e.from_organisation_id),
               "to_organisation_id": str(e.to_organisation_id), "status": e.status,
               "sent_at": ts(e.timestamp) if e.status == "requested" else None,
               **{moment: None for moment in MOMENTS.values()}, "grounds": None,
               "ended_at": None, "escalated": 0}
        columns = ", ".join(row)
        cur.execute(f"INSERT INTO {{p}}report_referrals ({columns}) "
                    f"VALUES ({', '.join('?' for _ in row)})", tuple(row.values()))
        self._referrals.put(cur, row["referral_id"], row)
        self._count_referral(cur, None, row)

    @project.register(Referral.Event)
    def _referral_changed(self, e: Any, cur: Cursor) -> None:
        name = type(e).__name__
        moment = ts(e.timestamp)
        changes: dict[str, Any] = {}
        if name in STATUS_AFTER_EVENT:
            changes["status"] = STATUS_AFTER_EVENT[name]
        if name == "Sent":
            changes["sent_at"] = moment
        if name in MOMENTS:  # a first contact recorded afterwards counts from when it was
            changes[MOMENTS[name]] = ts(getattr(e, "made_at", None) or e.timestamp)
        if name == "Rejected":
            changes["grounds"] = e.grounds
        if name in ENDED:
            changes["ended_at"] = moment
        if name == "Escalated":
            changes["escalated"] = 1
        if not changes:
            return
        rid = str(e.originator_id)
        before = self._referrals.get(cur, rid) or \
            cur.one("SELECT * FROM {p}report_referrals WHERE referral_id = ?", (rid,))
        if before is None:  # created before the report tables existed: cannot happen
            return        # after a rebuild, which projects every event from the first
        assignments = ", ".join(f"{column} = ?" for column in changes)
        cur.execute(f"UPDATE {{p}}report_referrals SET {assignments} WHERE referral_id = ?",
                    (*changes.values(), rid))
        after = {**before, **changes}
        self._referrals.put(cur, rid, after)
        self._count_referral(cur, before, after)

    def _count_referral(self, cur: Cursor, before: dict[str, Any] | None,
                        after: dict[str, Any]) -> None:
        """Moves the referral's share of the monthly rows from how it was to how it is:
        one statement per row that changes (its month's counts, the hours of a step just
        taken), none for the rows it leaves as they were."""
        counts: dict[tuple[str, ...], Counter[str]] = defaultdict(Counter)
        hours: Counter[tuple[Any, ...]] = Counter()
        for row, sign in ((before, -1), (after, 1)):
            if row is None or not row["sent_at"]:
                continue
            key = (row["sent_at"][:7], row["district"], row["need"],
                   row["from_organisation_id"], row["to_organisation_id"])
            for count, value in flow_counts(row).items():
                counts[key][count] += sign * value
            for step, taken in step_hours(row).items():
                hours[(*key, step, taken)] += sign
        for key, change in counts.items():
            if any(change.values()):
                cur.execute(
                    f"INSERT INTO {{p}}report_flows AS f VALUES ({FLOW_PLACEHOLDERS}) "
                    f"ON CONFLICT ({', '.join(FLOW_KEY)}) DO UPDATE SET "
                    + ", ".join(f"{c} = f.{c} + excluded.{c}" for c in FLOW_COUNTS),
                    (*key, *(change[c] for c in FLOW_COUNTS)))
        for bucket, referrals in hours.items():
            if referrals:
                cur.execute("INSERT INTO {p}report_step_hours AS h "
                            "VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                            f"ON CONFLICT ({', '.join(FLOW_KEY)}, step, hours) "
                            "DO UPDATE SET referrals = h.referrals + excluded.referrals",
                            (*bucket, referrals))

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
