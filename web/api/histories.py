"""Audit histories for supervisors: every event of a case and its referrals, or of one
referral, with who (user, organisation, role), when, the request's correlation id and the
state before and after. The receiving side sees a referral's free text only while it may
see the case's content (DESIGN §8), as in the web's audit."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from flask import g
from marshmallow import fields

from domain import access
from domain.stamp import Role
from web.api.common import ApiSchema, api_blueprint, requires
from web.api.problems import ProblemSchema
from web.audit.history import HistoryRow, detail_text, history_rows, without_details
from web.application import current_application
from web.visible import audited_case, audited_referral
from web.read_audit import records_read

bp = api_blueprint("histories", "Complete histories of cases and referrals (supervisors).")


class HistoryEntrySchema(ApiSchema):
    at = fields.DateTime()
    subject = fields.String(metadata={"description": "case or referral"})
    subject_id = fields.UUID()
    version = fields.Integer()
    event = fields.String()
    user = fields.String()
    user_name = fields.String()
    organisation = fields.String()
    role = fields.String()
    correlation_id = fields.String()
    state_before = fields.String()
    state_after = fields.String()
    details = fields.Dict(keys=fields.String(), values=fields.String())


def _entries(rows: list[HistoryRow]) -> list[dict[str, Any]]:
    return [{"at": r.at, "subject": r.subject, "subject_id": r.subject_id,
             "version": r.version, "event": r.event, "user": r.user,
             "user_name": r.user_name, "organisation": r.organisation, "role": r.role,
             "correlation_id": r.correlation_id, "state_before": r.state_before,
             "state_after": r.state_after,
             "details": {k: detail_text(v) for k, v in r.details.items()}} for r in rows]


@bp.get("/cases/<uuid:case_id>/history")
@records_read("api_case_history")
@bp.response(200, HistoryEntrySchema(many=True))
@bp.alt_response(404, schema=ProblemSchema, description="No such case, or not audited by "
                                                        "the caller")
@requires("audit:read", (Role.SUPERVISOR,))
def case_history(case_id: UUID) -> Any:
    """Every event of the case and of its referrals, in order."""
    case = audited_case(case_id)
    return _entries(history_rows(current_application(), [case.id, *case.referral_ids]))


@bp.get("/referrals/<uuid:referral_id>/history")
@records_read("api_referral_history")
@bp.response(200, HistoryEntrySchema(many=True))
@bp.alt_response(404, schema=ProblemSchema, description="No such referral, or not audited "
                                                        "by the caller")
@requires("audit:read", (Role.SUPERVISOR,))
def referral_history(referral_id: UUID) -> Any:
    """Every event of the referral, in order."""
    referral, case = audited_referral(referral_id)
    rows = history_rows(current_application(), [referral.id])
    if not access.sees_referral_content(g.viewer, referral, case, current_application().today()):
        rows = [without_details(row) for row in rows]
    return _entries(rows)
