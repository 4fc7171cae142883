"""What the needs register's pages, its documentation pack, the report for politics, the
inboxes and the scan for missed agreements read from the register's views
(:mod:`readmodel.projections.register`)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from domain.base import months_later
from domain.register import CONFERENCE, REPORTED, RESOLVED, RESUBMIT_AFTER_MONTHS
from readmodel.store import ViewStore, ts


@dataclass
class RegisterNeed:
    forum_id: str
    number: int
    text: str
    district: str
    sector: str
    raised_by: list[str]
    raised_on: date
    group_id: str | None

    @property
    def ref(self) -> str:
        return f"{self.forum_id}:{self.number}"


@dataclass
class RegisterGroup:
    group_id: str
    title: str
    district: str | None
    need: str | None
    status: str
    reported_on: date | None
    reported_to: str | None
    note: str
    needs: list[RegisterNeed] = field(default_factory=list)
    agreements: list[dict[str, Any]] = field(default_factory=list)

    def due_again(self, today: date) -> bool:
        return self.status == REPORTED and self.reported_on is not None and \
            months_later(self.reported_on, RESUBMIT_AFTER_MONTHS) <= today


def _need(row: dict[str, Any]) -> RegisterNeed:
    return RegisterNeed(row["forum_id"], int(row["number"]), row["text"], row["district"],
                        row["sector"], json.loads(row["raised_by"]),
                        date.fromisoformat(row["raised_on"]), row["group_id"])


def _group(row: dict[str, Any]) -> RegisterGroup:
    return RegisterGroup(row["group_id"], row["title"], row["district"], row["need"],
                         row["status"],
                         date.fromisoformat(row["reported_on"]) if row["reported_on"] else None,
                         row["reported_to"], row["note"])


def forums(store: ViewStore) -> list[dict[str, Any]]:
    """Every forum, the latest first, with its number of needs and open agreements."""
    with store.reading() as cur:
        rows = cur.all(
            "SELECT f.*, (SELECT COUNT(*) FROM {p}register_needs n "
            "WHERE n.forum_id = f.forum_id) AS needs, (SELECT COUNT(*) FROM "
            "{p}register_agreements a WHERE a.forum_id = f.forum_id AND a.status = 'open') "
            "AS open_agreements FROM {p}register_forums f "
            "ORDER BY COALESCE(f.held_on, substr(f.convened_at, 1, 10)) DESC, f.name")
    for row in rows:
        row["participants"] = json.loads(row["participants"])
    return rows


def forum(store: ViewStore, forum_id: str) -> dict[str, Any] | None:
    with store.reading() as cur:
        row = cur.one("SELECT * FROM {p}register_forums WHERE forum_id = ?", (forum_id,))
    if row is not None:
        row["participants"] = json.loads(row["participants"])
    return row


def needs(store: ViewStore, *, forum_id: str | None = None,
          districts: list[str] | None = None) -> list[RegisterNeed]:
    where, args = _where(forum_id=forum_id, districts=districts)
    with store.reading() as cur:
        rows = cur.all(f"SELECT * FROM {{p}}register_needs{where} "
                       "ORDER BY district, raised_on, forum_id, number", args)
    return [_need(r) for r in rows]


def _where(forum_id: str | None = None, districts: list[str] | None = None,
           column: str = "district") -> tuple[str, tuple[Any, ...]]:
    clauses, args = [], []
    if forum_id is not None:
        clauses.append("forum_id = ?")
        args.append(forum_id)
    if districts:
        clauses.append(f"{column} IN ({', '.join('?' for _ in districts)})")
        args += districts
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), tuple(args)


def groups(store: ViewStore, *, districts: list[str] | None = None,
           include_resolved: bool = True) -> list[RegisterGroup]:
    """The need groups with their needs and agreements. A group belongs to a district by its
    own district, or, when it names none, by the districts of its needs."""
    with store.reading() as cur:
        group_rows = cur.all("SELECT * FROM {p}register_groups ORDER BY title")
        need_rows = cur.all("SELECT * FROM {p}register_needs WHERE group_id IS NOT NULL "
                            "ORDER BY district, raised_on, forum_id, number")
        agreement_rows = cur.all("SELECT * FROM {p}register_agreements WHERE group_id IS NOT "
                                 "NULL ORDER BY due_on")
    found = {row["group_id"]: _group(row) for row in group_rows}
    for row in need_rows:
        if row["group_id"] in found:
            found[row["group_id"]].needs.append(_need(row))
    for row in agreement_rows:
        if row["group_id"] in found:
            found[row["group_id"]].agreements.append(row)
    chosen = []
    for group in found.values():
        if not include_resolved and group.status == RESOLVED:
            continue
        if districts and not (set(districts) & set(group_districts(group))):
            continue
        chosen.append(group)
    return chosen


def group_districts(group: RegisterGroup) -> list[str]:
    if group.district:
        return [group.district]
    return sorted({n.district for n in group.needs})


def group(store: ViewStore, group_id: str) -> RegisterGroup | None:
    return next((g for g in groups(store) if g.group_id == group_id), None)


def agreements(store: ViewStore, *, forum_id: str | None = None,
               organisation_id: str | None = None, open_only: bool = False,
               forum_ids: list[str] | None = None) -> list[dict[str, Any]]:
    clauses, args = [], []
    if forum_id is not None:
        clauses.append("forum_id = ?")
        args.append(forum_id)
    if forum_ids is not None:
        if not forum_ids:
            return []
        clauses.append(f"forum_id IN ({', '.join('?' for _ in forum_ids)})")
        args += forum_ids
    if organisation_id is not None:
        clauses.append("organisation_id = ?")
        args.append(organisation_id)
    if open_only:
        clauses.append("status = 'open'")
    where = " WHERE " + " AND ".join(clauses) if clauses else ""
    with store.reading() as cur:
        return cur.all(f"SELECT * FROM {{p}}register_agreements{where} "
                       "ORDER BY due_at, made_at", tuple(args))


def earlier_forums(store: ViewStore, current: dict[str, Any]) -> list[str]:
    """The forums whose agreements this one follows up: a conference, the earlier
    conferences of its district; a working group, itself (its agreements run on)."""
    if current["kind"] != CONFERENCE:
        return [current["forum_id"]]
    with store.reading() as cur:
        rows = cur.all("SELECT forum_id FROM {p}register_forums WHERE kind = ? AND "
                       "district = ? AND forum_id <> ? AND held_on <= ?",
                       (CONFERENCE, current["district"], current["forum_id"],
                        current["held_on"]))
    return [r["forum_id"] for r in rows]


def missed_agreements(store: ViewStore, now: datetime, limit: int = 500) -> list[str]:
    """Open agreements past their day and not yet escalated (an indexed query)."""
    with store.reading() as cur:
        rows = cur.all("SELECT agreement_id FROM {p}register_agreements WHERE status = 'open' "
                       "AND escalated = 0 AND due_at <= ? ORDER BY due_at LIMIT ?",
                       (ts(now), limit))
    return [r["agreement_id"] for r in rows]


def open_agreement_counts(store: ViewStore, organisation_id: str,
                          now: datetime) -> tuple[int, int]:
    """(open, overdue) agreements of an organisation."""
    with store.reading() as cur:
        row = cur.one("SELECT COUNT(*) AS open, SUM(CASE WHEN due_at <= ? THEN 1 ELSE 0 END) "
                      "AS overdue FROM {p}register_agreements WHERE organisation_id = ? AND "
                      "status = 'open'", (ts(now), organisation_id))
    return (int(row["open"] or 0), int(row["overdue"] or 0)) if row else (0, 0)


def reports(store: ViewStore) -> list[dict[str, Any]]:
    with store.reading() as cur:
        rows = cur.all("SELECT * FROM {p}register_reports ORDER BY sent_on DESC, "
                       "recorded_at DESC")
    for row in rows:
        row["districts"] = json.loads(row["districts"])
        row["groups"] = json.loads(row["groups"])
    return rows
