"""Reads of the views, for the web, the CLI and the workers' own scans."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from domain.services.escalations import DueDeadline
from readmodel.store import ViewStore, parse, ts

OPEN_FOR_RECEIVER = ("requested", "received", "accepted", "in-progress", "on-hold")


def due_deadlines(store: ViewStore, now: datetime, limit: int = 500) -> list[dict[str, Any]]:
    """Deadlines whose next escalation is due: an index range scan, so its cost follows the
    number due, not the number open."""
    with store.reading() as cur:
        return cur.all("SELECT * FROM {p}deadlines WHERE next_escalation_at <= ? "
                       "ORDER BY next_escalation_at LIMIT ?", (ts(now), limit))


def due_escalations(store: ViewStore, now: datetime, limit: int = 500) -> list[DueDeadline]:
    """The due deadlines as the domain's escalation scan takes them."""
    return [DueDeadline(row["referral_id"], row["stage"], int(row["next_level"]),
                        tuple(parse(t) for t in json.loads(row["escalation_times"])))
            for row in due_deadlines(store, now, limit)]


def sendable_notifications(store: ViewStore, now: datetime,
                           limit: int = 100) -> list[dict[str, Any]]:
    with store.reading() as cur:
        return cur.all("SELECT * FROM {p}notifications WHERE status = 'pending' "
                       "OR (status = 'retry' AND retry_at <= ?) ORDER BY created_at LIMIT ?",
                       (ts(now), limit))


def stuck_notifications(store: ViewStore, claimed_before: datetime) -> list[dict[str, Any]]:
    """Claimed for sending but never recorded as delivered: a sender crashed or the mail
    server's answer was lost. Whether they went out needs a look at the mail server."""
    with store.reading() as cur:
        return cur.all("SELECT * FROM {p}notifications WHERE status = 'sending' "
                       "AND updated_at <= ? ORDER BY updated_at", (ts(claimed_before),))


INBOX = "to_organisation_id = ? AND status IN (?, ?, ?, ?, ?)"
OUTBOX = "from_organisation_id = ?"


INBOX_PAGE = 200  # referrals of the inbox on one page


def inbox(store: ViewStore, organisation_id: str, limit: int = INBOX_PAGE,
          offset: int = 0) -> list[dict[str, Any]]:
    """What the organisation must act on, the nearest deadline first."""
    with store.reading() as cur:
        return cur.all(
            f"SELECT * FROM {{p}}referrals WHERE {INBOX} "
            "ORDER BY next_due_at IS NULL, next_due_at, updated_at, referral_id LIMIT ? OFFSET ?",
            (organisation_id, *OPEN_FOR_RECEIVER, limit, offset))


def outbox(store: ViewStore, organisation_id: str, limit: int = 200,
           offset: int = 0) -> list[dict[str, Any]]:
    with store.reading() as cur:
        return cur.all(f"SELECT * FROM {{p}}referrals WHERE {OUTBOX} "
                       "ORDER BY updated_at DESC, referral_id LIMIT ? OFFSET ?",
                       (organisation_id, limit, offset))


def inbox_counts(store: ViewStore, organisation_id: str, now: datetime) -> tuple[int, int]:
    """(open referrals and people's requests in the inbox, of which overdue) for the
    navigation's badge."""
    with store.reading() as cur:
        row = cur.one(f"SELECT COUNT(*) AS open, COALESCE(SUM(CASE WHEN next_due_at < ? "
                      f"THEN 1 ELSE 0 END), 0) AS overdue FROM {{p}}referrals WHERE {INBOX}",
                      (ts(now), organisation_id, *OPEN_FOR_RECEIVER))
        asked = cur.one("SELECT COUNT(*) AS open, COALESCE(SUM(CASE WHEN r.due_at < ? "
                        "THEN 1 ELSE 0 END), 0) AS overdue FROM {p}person_requests r "
                        "JOIN {p}cases c ON c.case_id = r.case_id "
                        "WHERE c.lead_organisation_id = ?", (ts(now), organisation_id))
    counted = [row, asked]
    return (sum(int(r["open"]) for r in counted if r),
            sum(int(r["overdue"]) for r in counted if r))


def inbox_counted(inbox_rows: list[dict[str, Any]], person_requests: list[dict[str, Any]],
                  now: datetime) -> tuple[int, int]:
    """What :func:`inbox_counts` answers, counted in the whole inbox and the people's
    requests already read (the inbox page)."""
    moment = ts(now)
    return (len(inbox_rows) + len(person_requests),
            sum(1 for r in inbox_rows if r["next_due_at"] and r["next_due_at"] < moment)
            + sum(1 for r in person_requests if r["due_at"] and r["due_at"] < moment))


def overdue_of(store: ViewStore, organisation_id: str, now: datetime,
               limit: int = 200) -> list[dict[str, Any]]:
    """The organisation's open referrals past a deadline, sent or received, the most overdue
    first: what its supervisor follows up."""
    with store.reading() as cur:
        return cur.all(
            "SELECT * FROM {p}referrals WHERE (to_organisation_id = ? OR "
            "from_organisation_id = ?) AND status IN (?, ?, ?, ?, ?) AND next_due_at < ? "
            "ORDER BY next_due_at LIMIT ?",
            (organisation_id, organisation_id, *OPEN_FOR_RECEIVER, ts(now), limit))


def inbox_size(store: ViewStore, organisation_id: str) -> int:
    return _count(store, INBOX, (organisation_id, *OPEN_FOR_RECEIVER))


def outbox_size(store: ViewStore, organisation_id: str) -> int:
    return _count(store, OUTBOX, (organisation_id,))


def _count(store: ViewStore, where: str, params: tuple[Any, ...]) -> int:
    with store.reading() as cur:
        row = cur.one(f"SELECT COUNT(*) AS n FROM {{p}}referrals WHERE {where}", params)
    return int(row["n"]) if row else 0


def timeline(store: ViewStore, case_id: str) -> list[dict[str, Any]]:
    with store.reading() as cur:
        return cur.all("SELECT * FROM {p}timeline WHERE case_id = ? ORDER BY position",
                       (case_id,))


def service_load(store: ViewStore) -> list[dict[str, Any]]:
    with store.reading() as cur:
        return cur.all("SELECT * FROM {p}service_load ORDER BY organisation_id, service_id")


def inapp_notifications(store: ViewStore, recipient: str) -> list[dict[str, Any]]:
    with store.reading() as cur:
        return cur.all("SELECT * FROM {p}inapp WHERE recipient = ? ORDER BY created_at DESC",
                       (recipient,))


def notifications_by_status(store: ViewStore) -> dict[str, int]:
    with store.reading() as cur:
        rows = cur.all("SELECT status, COUNT(*) AS n FROM {p}notifications GROUP BY status")
    return {row["status"]: int(row["n"]) for row in rows}


def dump(store: ViewStore) -> dict[str, list[tuple[Any, ...]]]:
    """Every view row, in a stable order: for comparing a view with its rebuild."""
    from readmodel.schema import VIEW_TABLES

    with store.reading() as cur:
        return {table: sorted(tuple(str(v) for v in row.values())
                              for row in cur.all(f"SELECT * FROM {{p}}{table}"))
                for table in VIEW_TABLES}


# -- reads of the web ------------------------------------------------------------------------------
def position(store: ViewStore, projection: str = "handoff_views") -> int:
    with store.reading() as cur:
        row = cur.one("SELECT position FROM {p}positions WHERE projection = ?", (projection,))
    return int(row["position"]) if row else 0


def leads_open_cases(store: ViewStore, organisation_id: str) -> bool:
    """Whether the organisation leads a case that is open (a sender's work starts there,
    a receiver's in its inbox)."""
    with store.reading() as cur:
        return cur.one("SELECT 1 AS found FROM {p}cases WHERE lead_organisation_id = ? "
                       "AND status = 'open' LIMIT 1", (organisation_id,)) is not None


def cases_led_by(store: ViewStore, organisation_id: str, include_closed: bool,
                 limit: int = 500) -> list[dict[str, Any]]:
    """The organisation's cases, newest first, each with its number of open referrals."""
    with store.reading() as cur:
        return cur.all(
            "SELECT c.*, (SELECT COUNT(*) FROM {p}referrals r WHERE r.case_id = c.case_id "
            "AND r.status IN (?, ?, ?, ?, ?, ?)) AS open_referrals FROM {p}cases c "
            "WHERE c.lead_organisation_id = ? "
            + ("" if include_closed else "AND c.status = 'open' ")
            + "ORDER BY c.opened_at DESC LIMIT ?",
            ("draft", *OPEN_FOR_RECEIVER, organisation_id, limit))


def case_by_reference(store: ViewStore, reference: str) -> dict[str, Any] | None:
    with store.reading() as cur:
        return cur.one("SELECT * FROM {p}cases WHERE reference = ?", (reference.upper(),))


def erasure_work(store: ViewStore, closed_before: str) -> dict[str, list[dict[str, Any]]]:
    """The data protection role's work: the erasures asked for, and the closed cases whose
    retention period ended before ``closed_before`` (ISO time) and that are not erased."""
    with store.reading() as cur:
        requested = cur.all("SELECT * FROM {p}cases WHERE erasure = 'requested' "
                            "ORDER BY erasure_requested_at")
        due = cur.all("SELECT * FROM {p}cases WHERE status = 'closed' AND erasure IS NULL "
                      "AND closed_at < ? ORDER BY closed_at LIMIT 500", (closed_before,))
    return {"requested": requested, "due": due}


def organisations(store: ViewStore) -> list[dict[str, Any]]:
    with store.reading() as cur:
        return cur.all("SELECT * FROM {p}organisations ORDER BY name")


def escalated_referrals(store: ViewStore) -> list[dict[str, Any]]:
    """Escalated referrals network-wide, highest level first: metadata, no content."""
    with store.reading() as cur:
        return cur.all(
            "SELECT referral_id, case_reference, need, urgency, kind, from_organisation_id, "
            "to_organisation_id, status, next_stage, next_due_at, escalation_level, sent_at, "
            "updated_at FROM {p}referrals WHERE escalation_level > 0 "
            "ORDER BY escalation_level DESC, next_due_at")


def referrals_noted_for(store: ViewStore, recipients: tuple[str, ...],
                        ) -> dict[str, dict[str, Any]]:
    """The referrals the in-app notifications of these recipients are about (metadata)."""
    marks = ", ".join("?" * len(recipients))
    with store.reading() as cur:
        rows = cur.all(
            "SELECT referral_id, case_reference, need, urgency, status, from_organisation_id, "
            "to_organisation_id, escalation_level FROM {p}referrals WHERE referral_id IN "
            f"(SELECT referral_id FROM {{p}}inapp WHERE recipient IN ({marks}))", recipients)
    return {row["referral_id"]: row for row in rows}


def places_taken(store: ViewStore, organisation_id: str, service_id: str) -> int:
    with store.reading() as cur:
        row = cur.one("SELECT active_referrals FROM {p}service_load "
                      "WHERE organisation_id = ? AND service_id = ?",
                      (organisation_id, service_id))
    return int(row["active_referrals"]) if row else 0


def waiting_list(store: ViewStore, organisation_id: str) -> list[dict[str, Any]]:
    """The organisation's referrals on its waiting list, longest waiting first."""
    with store.reading() as cur:
        return cur.all("SELECT * FROM {p}referrals WHERE to_organisation_id = ? "
                       "AND status = 'on-hold' AND waitlisted_at IS NOT NULL "
                       "ORDER BY waitlisted_at, referral_id", (organisation_id,))


def waiting_among(inbox_rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What :func:`waiting_list` answers, taken from the whole inbox already read."""
    return sorted((r for r in inbox_rows if r["status"] == "on-hold" and r["waitlisted_at"]),
                  key=lambda r: (r["waitlisted_at"], r["referral_id"]))


def person_requests(store: ViewStore, organisation_id: str) -> list[dict[str, Any]]:
    """Revocations of consent the people of the organisation's cases asked for, the
    nearest deadline first."""
    with store.reading() as cur:
        return cur.all("SELECT r.case_id, r.consent_id, r.requested_at, r.due_at, "
                       "c.reference, c.lead_caseworker FROM {p}person_requests r "
                       "JOIN {p}cases c ON c.case_id = r.case_id "
                       "WHERE c.lead_organisation_id = ? ORDER BY r.due_at, c.reference",
                       (organisation_id,))


def feedback_per_service(store: ViewStore, first_day: str, after_last_day: str,
                         organisation_id: str | None = None, district: str | None = None,
                         need: str | None = None) -> list[dict[str, Any]]:
    """How the people answered in a period, per service: counts of each answer (to be
    suppressed by whoever shows them). ``organisation_id``: referrals it sent or received;
    ``need``: a need or its group."""
    where, params = ["given_at >= ?", "given_at < ?"], [first_day, after_last_day]
    if organisation_id:
        where.append("(organisation_id = ? OR from_organisation_id = ?)")
        params += [organisation_id, organisation_id]
    if district:
        where.append("district = ?")
        params.append(district)
    if need:
        where.append("(need = ? OR need LIKE ?)")
        params += [need, f"{need}.%"]
    with store.reading() as cur:
        return cur.all(
            "SELECT organisation_id, service_id, COUNT(*) AS answers, "
            "SUM(CASE WHEN helped IN ('much', 'somewhat') THEN 1 ELSE 0 END) AS helped, "
            "SUM(CASE WHEN understood = 'yes' THEN 1 ELSE 0 END) AS understood, "
            "SUM(by_person) AS by_person "
            f"FROM {{p}}feedback WHERE {' AND '.join(where)} "
            "GROUP BY organisation_id, service_id ORDER BY organisation_id, service_id",
            tuple(params))
