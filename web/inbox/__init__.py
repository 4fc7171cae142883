"""The organisation's inbox (what to act on, nearest deadline first), its outbox and the
user's notices (escalations, crisis overrides). Read from the projected views."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g, render_template

from domain.stamp import Role
from web.auth import CASEWORK, roles, viewer
from web.application import current_application
from web.reads import lists_freshness, organisation_names, read_store
from readmodel import queries, register

bp = Blueprint("inbox", __name__)


@bp.get("/eingang")
@roles(*CASEWORK)
def index() -> Any:
    organisation_id = str(viewer().organisation_id)
    now = current_application().clock()
    listed = queries.inbox(read_store(), organisation_id)
    person_requests = queries.person_requests(read_store(), organisation_id)
    if len(listed) < queries.INBOX_PAGE:
        # The whole inbox is here: the navigation's counts and the waiting list are taken
        # from it instead of being asked again.
        g.inbox_counts = queries.inbox_counted(listed, person_requests, now)
        waiting = queries.waiting_among(listed)
    else:
        waiting = queries.waiting_list(read_store(), organisation_id)
    agreements = register.agreements(read_store(), organisation_id=organisation_id,
                                     open_only=True)
    # What is on the waiting list is listed there, longest waiting first, not among the
    # referrals to act on now.
    return render_template("inbox/index.html",
                           rows=[row for row in listed if not row["waitlisted_at"]],
                           names=organisation_names(), waiting=waiting,
                           person_requests=person_requests, agreements=agreements,
                           forums={f["forum_id"]: f["name"] for f in register.forums(
                               read_store())} if agreements else {},
                           freshness=lists_freshness(), now=_utc_text(now))


@bp.get("/ausgang")
@roles(*CASEWORK)
def outbox() -> Any:
    rows = queries.outbox(read_store(), str(viewer().organisation_id))
    return render_template("inbox/outbox.html", rows=rows, names=organisation_names(),
                           freshness=lists_freshness())


@bp.get("/benachrichtigungen")
@roles(Role.SUPERVISOR, Role.COORDINATOR)
def notifications() -> Any:
    """Escalations and crisis overrides addressed to this user (metadata only)."""
    recipients = (f"user:{viewer().user}", f"organisation:{viewer().organisation_id}")
    rows = sorted((row for recipient in recipients
                   for row in queries.inapp_notifications(read_store(), recipient)),
                  key=lambda row: row["created_at"], reverse=True)
    referrals = queries.referrals_noted_for(read_store(), recipients)
    # A supervisor follows up every overdue referral of the organisation, sent or received,
    # not only those whose escalation was addressed to them.
    overdue = queries.overdue_of(read_store(), str(viewer().organisation_id),
                                 current_application().clock()) \
        if g.viewer.role == Role.SUPERVISOR else []
    return render_template("inbox/notifications.html", rows=rows, referrals=referrals,
                           overdue=overdue, names=organisation_names(),
                           freshness=lists_freshness(), links=g.viewer.role == Role.SUPERVISOR)


def _utc_text(moment: Any) -> str:
    from readmodel.store import ts

    return ts(moment) or ""
