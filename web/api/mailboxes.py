"""The organisation's inbox (what to act on, nearest deadline first) and outbox, read from
the projected views; ``X-Views-Behind`` says how many events they have still to take in,
``X-Views-Stale-Since`` since when they have stopped following the events."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import g
from marshmallow import fields

from web.api.common import ApiSchema, CASEWORK, ViewTime, api_blueprint, requires
from web.api.problems import ProblemSchema
from web.reads import lists_freshness, read_store
from readmodel import queries

bp = api_blueprint("mailboxes", "The caller's organisation's inbox and outbox.")
BEHIND = {"X-Views-Behind": {"schema": {"type": "integer"},
                             "description": "Events not yet in the views"},
          "X-Views-Stale-Since": {"schema": {"type": "string", "format": "date-time"},
                                  "description": "Only when the views have stopped "
                                                 "following the events: their last "
                                                 "catch-up (the background processing "
                                                 "is not running)"}}


class MailboxEntrySchema(ApiSchema):
    referral_id = fields.UUID()
    case_id = fields.UUID()
    case_reference = fields.String(allow_none=True)
    need = fields.String()
    urgency = fields.String()
    kind = fields.String()
    status = fields.String()
    from_organisation_id = fields.UUID()
    to_organisation_id = fields.UUID()
    to_service_id = fields.String(allow_none=True)
    parent_referral_id = fields.UUID(allow_none=True)
    sent_at = ViewTime(allow_none=True)
    updated_at = ViewTime()
    version = fields.Integer()
    next_stage = fields.String(allow_none=True)
    next_due_at = ViewTime(allow_none=True)
    escalation_level = fields.Integer()


def _mailbox(read: Callable[..., list[dict[str, Any]]], size: Callable[..., int],
             pagination_parameters: Any) -> Any:
    """One page, read by LIMIT and OFFSET in the database."""
    store, organisation_id = read_store(), str(g.viewer.organisation_id)
    pagination_parameters.item_count = size(store, organisation_id)
    rows = read(store, organisation_id, pagination_parameters.page_size,
                pagination_parameters.first_item)
    state = lists_freshness()
    headers = {"X-Views-Behind": str(state.behind)}
    if state.stale_since is not None:
        headers["X-Views-Stale-Since"] = state.stale_since.isoformat(timespec="seconds")
    return rows, headers


@bp.get("/inbox")
@bp.response(200, MailboxEntrySchema(many=True), headers=BEHIND)
@bp.alt_response(401, schema=ProblemSchema, description="No or an invalid token")
@bp.alt_response(403, schema=ProblemSchema, description="Scope or role does not allow it")
@requires("referrals:read", CASEWORK)
@bp.paginate()
def inbox(pagination_parameters: Any) -> Any:
    """Open referrals to the caller's organisation, the nearest deadline first."""
    return _mailbox(queries.inbox, queries.inbox_size, pagination_parameters)


@bp.get("/outbox")
@bp.response(200, MailboxEntrySchema(many=True), headers=BEHIND)
@bp.alt_response(401, schema=ProblemSchema, description="No or an invalid token")
@bp.alt_response(403, schema=ProblemSchema, description="Scope or role does not allow it")
@requires("referrals:read", CASEWORK)
@bp.paginate()
def outbox(pagination_parameters: Any) -> Any:
    """Referrals the caller's organisation sent, the latest change first."""
    return _mailbox(queries.outbox, queries.outbox_size, pagination_parameters)
