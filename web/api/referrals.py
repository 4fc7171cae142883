"""Referrals: sending, reading (with what the caller may see of the case), every command of
DESIGN §5, and the FHIR R4 export."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from flask import g, url_for
from marshmallow import fields, validate

from domain import access
from domain.case import Case
from domain.exchange.fhir import referral_bundle
from domain.referral import COMMANDS, REJECTION_GROUNDS, Referral, ReferralCommand, \
    running_stage
from domain.vocabulary import REFERRAL_KINDS, URGENCIES
from web.api.cases import PersonSchema, ReasonSchema
from web.api.common import ApiSchema, CASEWORK, api_blueprint, command_problems, etag, \
    idempotency_key, problems, requires, run_versioned
from web.api.problems import ProblemSchema
from web.application import current_application
from web.visible import visible_referral
from web.read_audit import records_read

bp = api_blueprint("referrals", "Referrals between organisations and every command on them.")
ETAG_HEADER = {"ETag": {"schema": {"type": "string"}}}


class DeadlineSchema(ApiSchema):
    stage = fields.String()
    due_at = fields.DateTime()


class ReferralContentSchema(ApiSchema):
    reason = fields.String()
    status_reason = fields.String()
    outcome = fields.String()
    crisis_override_reason = fields.String(allow_none=True)


class SharedCaseSchema(ApiSchema):
    reference = fields.String()
    person = fields.Nested(PersonSchema)


class ReferralSchema(ApiSchema):
    id = fields.UUID()
    version = fields.Integer()
    case_id = fields.UUID()
    need = fields.String()
    urgency = fields.String()
    kind = fields.String()
    status = fields.String()
    from_organisation_id = fields.UUID()
    from_user = fields.String()
    to_organisation_id = fields.UUID()
    to_service_id = fields.String(allow_none=True)
    parent_referral_id = fields.UUID(allow_none=True)
    child_referral_id = fields.UUID(allow_none=True)
    rejection_grounds = fields.String(allow_none=True, metadata={
        "description": "no_capacity, not_responsible or other; set once rejected"})
    consent_id = fields.String(allow_none=True)
    policy_version = fields.String(allow_none=True)
    sent_at = fields.DateTime(allow_none=True)
    first_contact_made = fields.Boolean()
    deadline = fields.Nested(DeadlineSchema, allow_none=True)
    commands = fields.List(fields.String(), metadata={
        "description": "The commands the caller may issue now"})
    content = fields.Nested(ReferralContentSchema, allow_none=True, metadata={
        "description": "Free text: only while the caller may see the case's content"})
    case = fields.Nested(SharedCaseSchema, allow_none=True, metadata={
        "description": "The minimum case data: only while the consent holds"})


def referral_body(referral: Referral, case: Case) -> dict[str, Any]:
    application = current_application()
    viewer, today = g.viewer, application.today()
    stage = running_stage(referral.status, referral.first_contact_made)
    deadline = None
    if stage and referral.sent_at:
        deadline = {"stage": stage,
                    "due_at": application.escalations.deadline_of(referral, stage).due_at}
    body: dict[str, Any] = {
        "id": referral.id, "version": referral.version, "case_id": referral.case_id,
        "need": referral.need, "urgency": referral.urgency, "kind": referral.kind,
        "status": referral.status, "rejection_grounds": referral.rejection_grounds,
        "from_organisation_id": referral.from_organisation_id,
        "from_user": referral.from_user, "to_organisation_id": referral.to_organisation_id,
        "to_service_id": referral.to_service_id,
        "parent_referral_id": referral.parent_referral_id,
        "child_referral_id": referral.child_referral_id, "consent_id": referral.consent_id,
        "policy_version": referral.policy_version, "sent_at": referral.sent_at,
        "first_contact_made": referral.first_contact_made, "deadline": deadline,
        "commands": [c.route for c in COMMANDS.values() if referral.may(c.name, viewer)],
        "content": None, "case": None,
    }
    if access.sees_referral_content(viewer, referral, case, today):
        body["content"] = {"reason": referral.reason, "status_reason": referral.status_reason,
                           "outcome": referral.outcome,
                           "crisis_override_reason": referral.crisis_override_reason}
    if access.sees_case_data_of(viewer, referral, case, today):
        body["case"] = {"reference": case.reference, "person": case.person}
    return body


def referral_response(referral_id: UUID, status: int = 200) -> Any:
    referral, case = visible_referral(referral_id)
    headers = {"ETag": etag(referral.version)}
    if status == 201:
        headers["Location"] = url_for("api_referrals.referral", referral_id=referral.id)
    return referral_body(referral, case), status, headers


# -- sending --------------------------------------------------------------------------------------
class SendReferralSchema(ApiSchema):
    case_id = fields.UUID(required=True)
    need = fields.String(required=True, validate=validate.Length(min=1, max=80))
    urgency = fields.String(required=True, validate=validate.OneOf(URGENCIES))
    to_organisation_id = fields.UUID(required=True)
    to_service_id = fields.String(validate=validate.Length(min=1, max=80))
    reason = fields.String(required=True, validate=validate.Length(min=1, max=1000))
    kind = fields.String(load_default="service", validate=validate.OneOf(REFERRAL_KINDS))
    crisis_override_reason = fields.String(validate=validate.Length(min=1, max=1000))


@bp.post("/referrals")
@bp.arguments(SendReferralSchema)
@bp.response(201, ReferralSchema, headers={**ETAG_HEADER,
                                           "Location": {"schema": {"type": "string"}}})
@bp.alt_response(401, schema=ProblemSchema, description="No or an invalid token")
@bp.alt_response(403, schema=ProblemSchema, description="Scope or role does not allow it")
@bp.alt_response(404, schema=ProblemSchema, description="No such case, or not visible")
@bp.alt_response(422, schema=ProblemSchema, description="Refused by a rule (e.g. no "
                                                        "consent covers the receiver)")
@requires("referrals:write", CASEWORK)
def send_referral(body: dict[str, Any]) -> Any:
    """Sends a referral for a case the caller's organisation leads: a consent must cover
    the receiver, or a crisis override reason be given."""
    result = current_application().referrals.send_referral(g.viewer,
                                                           idempotency_key=idempotency_key(),
                                                           **body)
    return referral_response(result["referral_id"], 201)


@bp.get("/referrals/<uuid:referral_id>")
@records_read("api_referral")
@bp.response(200, ReferralSchema, headers=ETAG_HEADER)
@bp.alt_response(404, schema=ProblemSchema, description="No such referral, or not visible")
@requires("referrals:read", CASEWORK)
def referral(referral_id: UUID) -> Any:
    """A referral the caller's organisation sent, received or leads the case of."""
    return referral_response(referral_id)


# -- commands -------------------------------------------------------------------------------------
class EmptySchema(ApiSchema):
    pass


class OutcomeSchema(ApiSchema):
    outcome = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class ForwardSchema(ApiSchema):
    to_organisation_id = fields.UUID(required=True)
    to_service_id = fields.String(validate=validate.Length(min=1, max=80))
    reason = fields.String(required=True, validate=validate.Length(min=1, max=1000))
    crisis_override_reason = fields.String(validate=validate.Length(min=1, max=1000))


class AcceptSchema(ApiSchema):
    over_capacity_reason = fields.String(validate=validate.Length(min=1, max=1000), metadata={
        "description": "Why the referral is accepted although the service has no free "
                       "place left; required exactly then"})


class RejectSchema(ApiSchema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=1000))
    grounds = fields.String(validate=validate.OneOf(REJECTION_GROUNDS), metadata={
        "description": "On which grounds: no_capacity, not_responsible or other (the "
                       "default); the care-gap report counts rejections for capacity"})


class SendDraftSchema(ApiSchema):
    crisis_override_reason = fields.String(validate=validate.Length(min=1, max=1000))


class StartSchema(ApiSchema):
    made_on = fields.Date(load_default=None, metadata={
        "description": "The day of the first contact when it is recorded afterwards (not "
                       "in the future, not before the referral was sent); none: now"})


# The body of each command's route: by the text it needs, or its own where it asks for more.
SCHEMAS_BY_TEXT: dict[str | None, type[ApiSchema]] = {
    None: EmptySchema, "reason": ReasonSchema, "outcome": OutcomeSchema}
OWN_SCHEMAS: dict[str, type[ApiSchema]] = {
    "send": SendDraftSchema, "accept": AcceptSchema, "forward": ForwardSchema,
    "reject": RejectSchema, "start": StartSchema}


def _schema(command: ReferralCommand) -> type[ApiSchema]:
    return OWN_SCHEMAS.get(command.name) or SCHEMAS_BY_TEXT[command.text]


def _command_view(command: ReferralCommand) -> Callable[..., Any]:
    def view(body: dict[str, Any], referral_id: UUID) -> Any:
        referral, _case = visible_referral(referral_id)
        method = getattr(current_application().referrals, command.application_method)
        run_versioned(lambda version: method(
            g.viewer, referral.id, **body, expected_version=version,
            idempotency_key=idempotency_key()), referral.version)
        return referral_response(referral_id)
    view.__name__ = command.name
    view.__doc__ = command.summary
    return view


for _command in COMMANDS.values():
    _view = requires("referrals:write", CASEWORK)(_command_view(_command))
    _view = problems(bp, *command_problems("referral"))(_view)
    _view = bp.response(200, ReferralSchema, headers=ETAG_HEADER)(_view)
    _view = bp.arguments(_schema(_command))(_view)
    bp.post(f"/referrals/<uuid:referral_id>/{_command.route}")(_view)


# -- FHIR R4 -------------------------------------------------------------------------------
class FhirQuery(ApiSchema):
    format = fields.String(data_key="_format", validate=validate.OneOf(
        ["json", "application/json", "application/fhir+json"]), metadata={
        "description": "FHIR's format parameter; only JSON is served"})


@bp.get("/referrals/<uuid:referral_id>/fhir")
@records_read("fhir")
@bp.arguments(FhirQuery, location="query")
@bp.response(200, description="A FHIR R4 Bundle (collection) of the ServiceRequest, its Task "
                              "and the sub-Tasks of forwarded referrals",
             content_type="application/fhir+json")
@bp.alt_response(404, schema=ProblemSchema, description="No such referral, or not visible")
@requires("referrals:read", CASEWORK)
def referral_fhir(query: dict[str, Any], referral_id: UUID) -> Any:
    """The referral as FHIR R4 resources, after the HL7 SDOH Clinical Care closed-loop
    referral: a ServiceRequest and a Task whose status follows DESIGN §5."""
    from flask import Response, json

    referral, case = visible_referral(referral_id)
    application = current_application()
    today = application.today()
    chain = _forward_chain(referral, case)
    bundle = referral_bundle(
        chain, _root_of(chain[0]), case,
        organisations={oid: application.repository.get(oid) for r in chain
                       for oid in (r.from_organisation_id, r.to_organisation_id)},
        shows_content=lambda r: access.sees_referral_content(g.viewer, r, case, today))
    return Response(json.dumps(bundle), mimetype="application/fhir+json",
                    headers={"ETag": etag(referral.version)})


def _root_of(referral: Referral) -> UUID:
    """The first referral of the forwarding chain (only its id is used)."""
    while referral.parent_referral_id is not None:
        parent = current_application().find(Referral, referral.parent_referral_id)
        if parent is None:
            break
        referral = parent
    return referral.id


def _forward_chain(referral: Referral, case: Case) -> list[Referral]:
    """The forwarding chain the referral belongs to, as far as the caller may see it, from
    the first referral on: so every Task in it points to the same ServiceRequest."""
    chain = [referral]
    while chain[0].parent_referral_id is not None:
        parent = current_application().find(Referral, chain[0].parent_referral_id)
        if parent is None or not access.sees_referral(g.viewer, parent, case):
            break
        chain.insert(0, parent)
    while chain[-1].child_referral_id is not None:
        child = current_application().find(Referral, chain[-1].child_referral_id)
        if child is None or not access.sees_referral(g.viewer, child, case):
            break
        chain.append(child)
    return chain
