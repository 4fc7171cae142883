"""The needs register's views (DESIGN §11): forums, their needs and how they are grouped,
the need groups' status, agreements (the organisations' inboxes and the scan for missed
ones) and the reports sent to politics. Network texts only: no person is in any of them."""

from __future__ import annotations

import json
from functools import singledispatchmethod
from typing import Any

from domain.agreement import Agreement
from domain.register import Forum, NeedGroup, PoliticsReport
from readmodel.projections.dispatch import handler
from readmodel.store import Cursor, as_json, ts

TABLES = {
    "register_forums": "forum_id TEXT PRIMARY KEY, kind TEXT NOT NULL, name TEXT NOT NULL, "
                       "district TEXT, held_on TEXT, lead_organisation_id TEXT, "
                       "participants TEXT NOT NULL, convened_at TEXT NOT NULL",
    "register_needs": "forum_id TEXT NOT NULL, number INTEGER NOT NULL, text TEXT NOT NULL, "
                      "district TEXT NOT NULL, sector TEXT NOT NULL, raised_by TEXT NOT NULL, "
                      "raised_on TEXT NOT NULL, group_id TEXT, "
                      "PRIMARY KEY (forum_id, number)",
    "register_groups": "group_id TEXT PRIMARY KEY, title TEXT NOT NULL, district TEXT, "
                       "need TEXT, status TEXT NOT NULL, reported_on TEXT, reported_to TEXT, "
                       "note TEXT NOT NULL, formed_at TEXT NOT NULL, changed_at TEXT NOT NULL",
    "register_agreements": "agreement_id TEXT PRIMARY KEY, forum_id TEXT NOT NULL, "
                           "group_id TEXT, organisation_id TEXT NOT NULL, what TEXT NOT NULL, "
                           "due_on TEXT NOT NULL, due_at TEXT NOT NULL, status TEXT NOT NULL, "
                           "note TEXT NOT NULL, escalated INTEGER NOT NULL, "
                           "made_at TEXT NOT NULL, closed_at TEXT, follow_ups INTEGER NOT NULL",
    "register_reports": "report_id TEXT PRIMARY KEY, recipient TEXT NOT NULL, "
                        "sent_on TEXT NOT NULL, districts TEXT NOT NULL, groups TEXT NOT NULL, "
                        "recorded_at TEXT NOT NULL, recorded_by TEXT NOT NULL",
}
INDEXES = {
    "register_needs_by_group": "register_needs (group_id)",
    "agreements_by_organisation": "register_agreements (organisation_id, status, due_at)",
    "agreements_by_forum": "register_agreements (forum_id)",
    "agreements_missed": "register_agreements (status, escalated, due_at)",
}


class RegisterViews:
    """Dispatch per event class, as :class:`readmodel.projections.workflow.WorkflowViews`."""

    def apply(self, cur: Cursor, event: Any, position: int) -> None:
        handler(self, event)(self, event, cur)

    @singledispatchmethod
    def project(self, event: Any, cur: Cursor) -> None:
        """Every other event is not the register's."""

    # -- forums and their needs -----------------------------------------------------------------
    @project.register(Forum.Convened)
    def _convened(self, e: Any, cur: Cursor) -> None:
        cur.execute("INSERT INTO {p}register_forums VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (str(e.originator_id), e.kind, e.name, e.district,
                     e.held_on.isoformat() if e.held_on else None,
                     str(e.lead_organisation_id) if e.lead_organisation_id else None,
                     as_json([str(o) for o in e.participants]), ts(e.timestamp)))

    @project.register(Forum.Renamed)
    def _renamed(self, e: Any, cur: Cursor) -> None:
        cur.execute("UPDATE {p}register_forums SET name = ?, held_on = ? WHERE forum_id = ?",
                    (e.name, e.held_on.isoformat() if e.held_on else None,
                     str(e.originator_id)))

    @project.register(Forum.ParticipantsChanged)
    def _participants(self, e: Any, cur: Cursor) -> None:
        cur.execute("UPDATE {p}register_forums SET participants = ? WHERE forum_id = ?",
                    (as_json([str(o) for o in e.participants]), str(e.originator_id)))

    @project.register(Forum.NeedRaised)
    def _need_raised(self, e: Any, cur: Cursor) -> None:
        forum_id = str(e.originator_id)
        cur.execute("INSERT INTO {p}register_needs VALUES (?, ?, ?, ?, ?, ?, ?, NULL)",
                    (forum_id, e.number, e.text, e.district, e.sector,
                     as_json([str(o) for o in e.raised_by]), e.raised_on.isoformat()))
        row = cur.one("SELECT participants FROM {p}register_forums WHERE forum_id = ?",
                      (forum_id,))
        if row is not None:  # who raised a need took part (as the aggregate counts it)
            known = json.loads(row["participants"])
            known += [str(o) for o in e.raised_by if str(o) not in known]
            cur.execute("UPDATE {p}register_forums SET participants = ? WHERE forum_id = ?",
                        (as_json(known), forum_id))

    @project.register(Forum.NeedCorrected)
    def _corrected(self, e: Any, cur: Cursor) -> None:
        cur.execute("UPDATE {p}register_needs SET text = ?, sector = ?, district = ? "
                    "WHERE forum_id = ? AND number = ?",
                    (e.text, e.sector, e.district, str(e.originator_id), e.number))

    @project.register(Forum.NeedWithdrawn)
    def _withdrawn(self, e: Any, cur: Cursor) -> None:
        cur.execute("DELETE FROM {p}register_needs WHERE forum_id = ? AND number = ?",
                    (str(e.originator_id), e.number))

    @project.register(Forum.NeedsGrouped)
    def _grouped(self, e: Any, cur: Cursor) -> None:
        group = str(e.group_id) if e.group_id else None
        for number in e.numbers:
            cur.execute("UPDATE {p}register_needs SET group_id = ? WHERE forum_id = ? AND "
                        "number = ?", (group, str(e.originator_id), number))

    # -- need groups ----------------------------------------------------------------------------
    @project.register(NeedGroup.Formed)
    def _formed(self, e: Any, cur: Cursor) -> None:
        cur.execute("INSERT INTO {p}register_groups VALUES (?, ?, ?, ?, 'open', NULL, NULL, "
                    "'', ?, ?)", (str(e.originator_id), e.title, e.district, e.need,
                                  ts(e.timestamp), ts(e.timestamp)))

    @project.register(NeedGroup.Described)
    def _described(self, e: Any, cur: Cursor) -> None:
        cur.execute("UPDATE {p}register_groups SET title = ?, district = ?, need = ?, "
                    "changed_at = ? WHERE group_id = ?",
                    (e.title, e.district, e.need, ts(e.timestamp), str(e.originator_id)))

    @project.register(NeedGroup.AgreementMade)
    def _agreed(self, e: Any, cur: Cursor) -> None:
        # the first agreement moves an open group on (domain.register.STATUS_CHANGES)
        cur.execute("UPDATE {p}register_groups SET status = 'agreed', changed_at = ? "
                    "WHERE group_id = ? AND status = 'open'",
                    (ts(e.timestamp), str(e.originator_id)))

    @project.register(NeedGroup.Reported)
    def _reported(self, e: Any, cur: Cursor) -> None:
        self._status(cur, e, "reported", reported_on=e.on.isoformat(), reported_to=e.to)

    @project.register(NeedGroup.Resolved)
    def _resolved(self, e: Any, cur: Cursor) -> None:
        self._status(cur, e, "resolved", note=e.note)

    @project.register(NeedGroup.Reopened)
    def _reopened(self, e: Any, cur: Cursor) -> None:
        self._status(cur, e, e.status, note=e.note)

    def _status(self, cur: Cursor, e: Any, status: str, **columns: Any) -> None:
        sets = "".join(f", {name} = ?" for name in columns)
        cur.execute(f"UPDATE {{p}}register_groups SET status = ?, changed_at = ?{sets} "
                    "WHERE group_id = ?",
                    (status, ts(e.timestamp), *columns.values(), str(e.originator_id)))

    # -- agreements -----------------------------------------------------------------------------
    @project.register(Agreement.Made)
    def _made(self, e: Any, cur: Cursor) -> None:
        cur.execute("INSERT INTO {p}register_agreements VALUES (?, ?, ?, ?, ?, ?, ?, 'open', "
                    "'', 0, ?, NULL, 0)",
                    (str(e.originator_id), str(e.forum_id),
                     str(e.group_id) if e.group_id else None, str(e.organisation_id), e.what,
                     e.due_on.isoformat(), ts(e.due_at), ts(e.timestamp)))

    @project.register(Agreement.Done)
    @project.register(Agreement.Withdrawn)
    def _closed(self, e: Any, cur: Cursor) -> None:
        status = "done" if isinstance(e, Agreement.Done) else "withdrawn"
        cur.execute("UPDATE {p}register_agreements SET status = ?, note = ?, closed_at = ? "
                    "WHERE agreement_id = ?",
                    (status, e.note, ts(e.timestamp), str(e.originator_id)))

    @project.register(Agreement.Rescheduled)
    def _rescheduled(self, e: Any, cur: Cursor) -> None:
        cur.execute("UPDATE {p}register_agreements SET due_on = ?, due_at = ?, escalated = 0 "
                    "WHERE agreement_id = ?",
                    (e.due_on.isoformat(), ts(e.due_at), str(e.originator_id)))

    @project.register(Agreement.Escalated)
    def _escalated(self, e: Any, cur: Cursor) -> None:
        cur.execute("UPDATE {p}register_agreements SET escalated = 1 WHERE agreement_id = ?",
                    (str(e.originator_id),))

    @project.register(Agreement.FollowedUp)
    def _followed_up(self, e: Any, cur: Cursor) -> None:
        cur.execute("UPDATE {p}register_agreements SET follow_ups = follow_ups + 1 "
                    "WHERE agreement_id = ?", (str(e.originator_id),))

    # -- reports to politics --------------------------------------------------------------------
    @project.register(PoliticsReport.Sent)
    def _sent(self, e: Any, cur: Cursor) -> None:
        cur.execute("INSERT INTO {p}register_reports VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (str(e.originator_id), e.recipient, e.sent_on.isoformat(),
                     as_json(list(e.districts)), as_json([str(g) for g in e.groups]),
                     ts(e.timestamp), e.by.user))


PROJECTOR = RegisterViews
