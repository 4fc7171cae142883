"""Cases: the lead organisation's list, opening, reading and every case command."""

from __future__ import annotations
from typing import Any
from uuid import UUID
from flask import g, url_for
from marshmallow import fields, validate
from domain.base import require_text
from domain.case import Case
from domain.messages import _
from domain.routing import suggest_receivers
from domain.services.cases import CaseService
from domain.vocabulary import HOUSING_STAGES, LEGAL_SPHERES, REFERRAL_KINDS, RESIDENCE_STATUSES, \
    SECTORS, URGENCIES
from web.api.common import ApiSchema, CASEWORK, ViewTime, api_blueprint, command_problems, \
    etag, idempotency_key, page_of, problems, requires, run_versioned
from web.api.problems import ProblemSchema
from web.application import current_application
from web.reads import read_store, service_loads
from web.visible import visible_case
from web.read_audit import records_read
from readmodel import queries

bp = api_blueprint("cases", "Cases led by the caller's organisation, and their commands.")
LANGUAGE = validate.Regexp(r"^[a-z]{2,3}$")


# -- representations ------------------------------------------------------------------------------
class PersonSchema(ApiSchema):
    display_name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    birth_year = fields.Integer(allow_none=True, validate=validate.Range(1900, 2100))
    household_size = fields.Integer(load_default=1, validate=validate.Range(1, 30))
    languages = fields.List(fields.String(validate=LANGUAGE), load_default=list)
    interpreter_needed = fields.Boolean(load_default=False)
    district = fields.String(required=True, validate=validate.Length(min=1, max=80))


class PersonChangesSchema(PersonSchema):
    display_name = fields.String(validate=validate.Length(min=1, max=120))
    household_size = fields.Integer(validate=validate.Range(1, 30))
    languages = fields.List(fields.String(validate=LANGUAGE))
    interpreter_needed = fields.Boolean()
    district = fields.String(validate=validate.Length(min=1, max=80))


class NeedSchema(ApiSchema):
    need = fields.String()
    status = fields.String()
    note = fields.String()


class ConsentSchema(ApiSchema):
    consent_id = fields.String()
    receiver_organisation_id = fields.UUID(allow_none=True)
    sector = fields.String(allow_none=True)
    purposes = fields.List(fields.String())
    given_on = fields.Date()
    expires_on = fields.Date()
    state = fields.String()


class CaseSchema(ApiSchema):
    id = fields.UUID()
    reference = fields.String()
    version = fields.Integer()
    status = fields.String()
    lead_organisation_id = fields.UUID()
    lead_caseworker = fields.String()
    housing_stage = fields.String()
    residence_status = fields.String()
    legal_sphere = fields.String()
    person = fields.Nested(PersonSchema)
    # When the person's data and free texts were erased (they read "gelöscht"); else null.
    erased_at = fields.DateTime(allow_none=True)
    needs = fields.List(fields.Nested(NeedSchema))
    consents = fields.List(fields.Nested(ConsentSchema))
    referral_ids = fields.List(fields.UUID())


class CaseSummarySchema(ApiSchema):
    id = fields.UUID(attribute="case_id")
    reference = fields.String()
    version = fields.Integer()
    status = fields.String()
    lead_organisation_id = fields.UUID()
    lead_caseworker = fields.String()
    district = fields.String()
    legal_sphere = fields.String()
    opened_at = ViewTime()
    open_referrals = fields.Integer()


class CaseListQuery(ApiSchema):
    include_closed = fields.Boolean(load_default=False)


def case_body(case: Case) -> dict[str, Any]:
    return {
        "id": case.id, "reference": case.reference, "version": case.version,
        "status": case.status, "lead_organisation_id": case.lead_organisation_id,
        "lead_caseworker": case.lead_caseworker, "housing_stage": case.housing_stage,
        "residence_status": case.residence_status, "legal_sphere": case.legal_sphere,
        "person": case.person, "erased_at": case.erased_at,
        "needs": [{"need": n, **v} for n, v in case.needs.items()],
        "consents": [{"consent_id": c, **{k: v[k] for k in (
            "receiver_organisation_id", "sector", "purposes", "given_on", "expires_on",
            "state")}} for c, v in case.consents.items()],
        "referral_ids": case.referral_ids,
    }


def case_response(case_id: UUID, status: int = 200) -> Any:
    case = visible_case(case_id)
    headers = {"ETag": etag(case.version)}
    if status == 201:
        headers["Location"] = url_for("api_cases.case", case_id=case.id, _external=False)
    return case_body(case), status, headers


# -- commands' bodies ----------------------------------------------------------------------
class OpenCaseSchema(ApiSchema):
    person = fields.Nested(PersonSchema, required=True)
    housing_stage = fields.String(required=True, validate=validate.OneOf(HOUSING_STAGES))
    residence_status = fields.String(required=True, validate=validate.OneOf(RESIDENCE_STATUSES))
    legal_sphere = fields.String(validate=validate.OneOf(LEGAL_SPHERES))
    needs = fields.List(fields.String(validate=validate.Length(max=80)), load_default=list)
    lead_caseworker = fields.String(validate=validate.Length(min=1, max=80), metadata={
        "description": "Member who leads the case; required when a token opens it"})


class RecordNeedSchema(ApiSchema):
    need = fields.String(required=True, validate=validate.Length(min=1, max=80))
    note = fields.String(load_default="", validate=validate.Length(max=500))


class NoteSchema(ApiSchema):
    note = fields.String(load_default="", validate=validate.Length(max=500))


class GiveConsentSchema(ApiSchema):
    purposes = fields.List(fields.String(validate=validate.Length(min=1, max=80)),
                           required=True, validate=validate.Length(min=1))
    expires_on = fields.Date(required=True)
    receiver_organisation_id = fields.UUID()
    sector = fields.String(validate=validate.OneOf(SECTORS))
    given_on = fields.Date()


class ReasonSchema(ApiSchema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=1000))


class ResidenceStatusSchema(ApiSchema):
    residence_status = fields.String(required=True, validate=validate.OneOf(RESIDENCE_STATUSES))
    legal_sphere = fields.String(validate=validate.OneOf(LEGAL_SPHERES))


class HousingStageSchema(ApiSchema):
    housing_stage = fields.String(required=True, validate=validate.OneOf(HOUSING_STAGES))


# -- routes ---------------------------------------------------------------------------------------
@bp.get("/cases")
@bp.arguments(CaseListQuery, location="query")
@bp.response(200, CaseSummarySchema(many=True))
@bp.alt_response(401, schema=ProblemSchema, description="No or an invalid token")
@bp.alt_response(403, schema=ProblemSchema, description="Scope or role does not allow it")
@requires("cases:read", CASEWORK)
@bp.paginate()
def cases(query: dict[str, Any], pagination_parameters: Any) -> Any:
    """The cases the caller's organisation leads, newest first (from the views)."""
    rows = queries.cases_led_by(read_store(), str(g.viewer.organisation_id),
                                query["include_closed"])
    return page_of(rows, pagination_parameters)


@bp.post("/cases")
@bp.arguments(OpenCaseSchema)
@bp.response(201, CaseSchema, headers={"ETag": {"schema": {"type": "string"}},
                                        "Location": {"schema": {"type": "string"}}})
@bp.alt_response(401, schema=ProblemSchema, description="No or an invalid token")
@bp.alt_response(403, schema=ProblemSchema, description="Scope or role does not allow it")
@bp.alt_response(422, schema=ProblemSchema, description="Invalid fields; nothing was stored")
@requires("cases:write", CASEWORK)
def open_case(body: dict[str, Any]) -> Any:
    """Opens a case led by the caller's organisation."""
    result = current_application().cases.open_case(g.viewer, idempotency_key=idempotency_key(),
                                                   **body)
    return case_response(result["case_id"], 201)


@bp.get("/cases/<uuid:case_id>")
@records_read("api_case")
@bp.response(200, CaseSchema, headers={"ETag": {"schema": {"type": "string"}}})
@bp.alt_response(404, schema=ProblemSchema, description="No such case, or not visible")
@requires("cases:read", CASEWORK)
def case(case_id: UUID) -> Any:
    """A case of the caller's organisation, with its version as ETag."""
    return case_response(case_id)


def _case_command(case_id: UUID, run: Any) -> Any:
    case = visible_case(case_id)
    run_versioned(lambda version: run(case, version), case.version)
    return case_response(case_id)


def _command_route(path: str, schema: type[ApiSchema], summary: str, run: Any) -> None:
    def view(body: dict[str, Any], case_id: UUID) -> Any:
        return _case_command(case_id, lambda case, version: run(
            case, body, expected_version=version, idempotency_key=idempotency_key()))
    view.__name__ = path.strip("/").replace("-", "_")
    view.__doc__ = summary
    decorated = requires("cases:write", CASEWORK)(view)
    decorated = problems(bp, *command_problems("case"))(decorated)
    decorated = bp.response(200, CaseSchema, headers={
        "ETag": {"schema": {"type": "string"}}})(decorated)
    decorated = bp.arguments(schema)(decorated)
    bp.post(f"/cases/<uuid:case_id>{path}")(decorated)


def _cases() -> CaseService:
    return current_application().cases


_command_route("/needs", RecordNeedSchema, "Records a need of the person.",
               lambda case, b, **kw: _cases().record_need(g.viewer, case.id, b["need"],
                                                          b["note"], **kw))
_command_route("/consents", GiveConsentSchema,
               "Records a consent for one organisation or a sector, for purposes, until a date.",
               lambda case, b, **kw: _cases().give_consent(g.viewer, case.id, **b, **kw))
_command_route("/residence-status", ResidenceStatusSchema,
               "Records a new residence status; a changed legal sphere drafts lead handoffs.",
               lambda case, b, **kw: _cases().change_residence_status(g.viewer, case.id, **b,
                                                                      **kw))
_command_route("/housing-stage", HousingStageSchema, "Records a new housing stage.",
               lambda case, b, **kw: _cases().change_housing_stage(g.viewer, case.id,
                                                                   b["housing_stage"], **kw))
_command_route("/person", PersonChangesSchema, "Corrects the person's data (given fields).",
               lambda case, b, **kw: _cases().correct_person_data(g.viewer, case.id, b, **kw))
_command_route("/close", ReasonSchema, "Closes the case.",
               lambda case, b, **kw: _cases().close_case(g.viewer, case.id, b["reason"], **kw))
_command_route("/reopen", ReasonSchema, "Reopens a closed case.",
               lambda case, b, **kw: _cases().reopen_case(g.viewer, case.id, b["reason"],
                                                          **kw))


@bp.post("/cases/<uuid:case_id>/needs/<string:need>/resolve")
@bp.arguments(NoteSchema)
@bp.response(200, CaseSchema, headers={"ETag": {"schema": {"type": "string"}}})
@problems(bp, *command_problems("case"))
@requires("cases:write", CASEWORK)
def resolve_need(body: dict[str, Any], case_id: UUID, need: str) -> Any:
    """Marks a need as resolved."""
    return _case_command(case_id, lambda case, version: _cases().resolve_need(
        g.viewer, case.id, need, body["note"], expected_version=version,
        idempotency_key=idempotency_key()))


@bp.post("/cases/<uuid:case_id>/consents/<string:consent_id>/revoke")
@bp.arguments(ReasonSchema)
@bp.response(200, CaseSchema, headers={"ETag": {"schema": {"type": "string"}}})
@problems(bp, *command_problems("case"))
@requires("cases:write", CASEWORK)
def revoke_consent(body: dict[str, Any], case_id: UUID, consent_id: str) -> Any:
    """Revokes a consent: receivers lose the case data of referrals it covered."""
    return _case_command(case_id, lambda case, version: current_application().cases.revoke_consent(
        g.viewer, case.id, consent_id, body["reason"], expected_version=version,
        idempotency_key=idempotency_key()))


# -- suggested receivers -----------------------------------------------------------------------
class SuggestionQuery(ApiSchema):
    # Required, but checked after the case's visibility: an invisible case answers 404
    # whatever the query says.
    need = fields.String(validate=validate.Length(min=1, max=80),
                         metadata={"description": "The need (required)"})
    urgency = fields.String(validate=validate.OneOf(URGENCIES),
                            metadata={"description": "The urgency (required)"})
    kind = fields.String(load_default="service", validate=validate.OneOf(REFERRAL_KINDS))


class SuggestedDeadlineSchema(ApiSchema):
    stage = fields.String()
    due_at = fields.DateTime()


class SuggestionSchema(ApiSchema):
    rank = fields.Integer(metadata={"description": "1 is the best suggestion"})
    organisation_id = fields.UUID()
    organisation_name = fields.String()
    service_id = fields.String(allow_none=True)
    service_name = fields.String(allow_none=True)
    place = fields.String(metadata={"description": "district (serves the person's district), "
                                                   "neighbour (a neighbouring one) or "
                                                   "elsewhere"})
    full = fields.Boolean(metadata={"description": "No free place: offered last, only after "
                                                   "talking it over"})
    named_by_map = fields.Boolean()
    speaks_language = fields.Boolean()
    serves_legal_sphere = fields.Boolean()
    capacity = fields.Integer(allow_none=True)
    taken = fields.Integer(metadata={"description": "Places in use"})
    requested = fields.Integer(metadata={"description": "Sent or received, not yet decided"})
    waiting = fields.Integer(metadata={"description": "On the waiting list"})
    why = fields.List(fields.String(), metadata={
        "description": "Why it stands where it stands: room_district, room_neighbour, "
                       "room_elsewhere or full, then named_by_map, speaks_language or "
                       "no_common_language, serves_legal_sphere or other_legal_sphere"})
    deadlines = fields.List(fields.Nested(SuggestedDeadlineSchema))


@bp.get("/cases/<uuid:case_id>/suggestions")
@bp.arguments(SuggestionQuery, location="query")
@bp.response(200, SuggestionSchema(many=True))
@bp.alt_response(404, schema=ProblemSchema, description="No such case, or not visible")
@bp.alt_response(422, schema=ProblemSchema, description="Unknown need or urgency")
@requires("cases:read", CASEWORK)
def suggestions(query: dict[str, Any], case_id: UUID) -> Any:
    """The receivers the referral form suggests for a need of the case, best first, with
    why each stands where it stands (wohnortnahe Verteilung: free places in the person's
    district, then next door, then elsewhere; full services last)."""
    case = visible_case(case_id)
    application = current_application()
    require_text(query.get("need"), "need", _("A need"))
    require_text(query.get("urgency"), "urgency", _("An urgency"))
    application.check_need(query["need"])
    found = suggest_receivers(application.responsibilities.effective_network(),
                              [o for o in current_application().organisations() if o.active], case,
                              query["need"], query["urgency"], service_loads(),
                              application.clock(), lead_handoff=query["kind"] == "lead_handoff")
    return [{"rank": rank, "organisation_id": s.organisation_id,
             "organisation_name": s.organisation_name, "service_id": s.service_id,
             "service_name": s.service_name, "place": s.place, "full": s.full,
             "named_by_map": s.named_by_map, "speaks_language": s.speaks_language,
             "serves_legal_sphere": s.serves_legal_sphere, "capacity": s.capacity,
             "taken": s.load.taken, "requested": s.load.requested, "waiting": s.load.waiting,
             "why": list(s.why()),
             "deadlines": [{"stage": d.stage, "due_at": d.due_at} for d in s.deadlines]}
            for rank, s in enumerate(found, start=1)]
