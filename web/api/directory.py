"""The directory: organisations with their services, capacities and current load, capacity
changes, and the whole directory in Open Referral HSDS 3.0 (export and import)."""

from __future__ import annotations
from typing import Any
from uuid import UUID
from flask import g, request
from flask_babel import gettext as _
from marshmallow import fields, validate
from domain.organisation import KEY, Organisation
from domain.services.exchange import OUTCOMES
from domain.stamp import Role
from web.api.common import ApiSchema, Stop, api_blueprint, etag, idempotency_key, \
    requires, run_versioned
from web.api.problems import FieldErrorSchema, ProblemSchema, problem
from web.application import current_application
from web.i18n import translate
from web.reads import read_store
from web.visible import organisation
from readmodel import queries

bp = api_blueprint("directory", "The network's directory, also in Open Referral HSDS 3.0.")
ETAG_HEADER = {"ETag": {"schema": {"type": "string"}}}
KEEPERS = (Role.SUPERVISOR, Role.COORDINATOR, Role.ADMIN)


class ServiceSchema(ApiSchema):
    service_id = fields.String()
    name = fields.String()
    needs = fields.List(fields.String())
    legal_spheres = fields.List(fields.String())
    districts = fields.List(fields.String())
    languages = fields.List(fields.String())
    capacity = fields.Integer(allow_none=True)
    active_referrals = fields.Integer(metadata={"description": "Places taken: accepted, in "
                                                               "progress or paused (from the "
                                                               "views)"})
    requested_referrals = fields.Integer(metadata={"description": "Sent or received and not "
                                                                  "yet decided"})
    waiting_referrals = fields.Integer(metadata={"description": "On the waiting list"})


class OrganisationSchema(ApiSchema):
    id = fields.UUID()
    key = fields.String()
    name = fields.String()
    sector = fields.String()
    inbox_address = fields.String()
    active = fields.Boolean()
    version = fields.Integer()
    services = fields.List(fields.Nested(ServiceSchema))


LOAD_FIELDS = ("active_referrals", "requested_referrals", "waiting_referrals")


def organisation_body(o: Organisation, load: dict[tuple[str, str], dict[str, int]]
                      ) -> dict[str, Any]:
    return {"id": o.id, "key": o.key, "name": o.name, "sector": o.sector,
            "inbox_address": o.inbox_address, "active": o.active, "version": o.version,
            "services": [{"service_id": key, **service,
                          **load.get((str(o.id), key), dict.fromkeys(LOAD_FIELDS, 0))}
                         for key, service in sorted(o.services.items())]}


def _load() -> dict[tuple[str, str], dict[str, int]]:
    return {(row["organisation_id"], row["service_id"]): {f: int(row[f]) for f in LOAD_FIELDS}
            for row in queries.service_load(read_store())}


@bp.get("/organisations")
@bp.response(200, OrganisationSchema(many=True))
@bp.alt_response(401, schema=ProblemSchema, description="No or an invalid token")
@requires("directory:read")
def organisations() -> Any:
    """Every organisation of the network, by name."""
    load = _load()
    return [organisation_body(o, load)
            for o in sorted(current_application().organisations(), key=lambda o: o.name)]


@bp.get("/organisations/<uuid:organisation_id>")
@bp.response(200, OrganisationSchema, headers=ETAG_HEADER)
@bp.alt_response(404, schema=ProblemSchema, description="No such organisation")
@requires("directory:read")
def organisation_detail(organisation_id: UUID) -> Any:
    """One organisation, with its version as ETag."""
    return _organisation_response(organisation_id)


def _organisation_response(organisation_id: UUID) -> Any:
    found = organisation(organisation_id)
    return organisation_body(found, _load()), 200, {"ETag": etag(found.version)}


class CapacitySchema(ApiSchema):
    capacity = fields.Integer(required=True, validate=validate.Range(0, 100000))


@bp.put("/organisations/<uuid:organisation_id>/services/<string:service_id>/capacity")
@bp.arguments(CapacitySchema)
@bp.response(200, OrganisationSchema, headers=ETAG_HEADER)
@bp.alt_response(403, schema=ProblemSchema, description="Not the organisation's supervisor, "
                                                        "a coordinator or an admin")
@bp.alt_response(404, schema=ProblemSchema, description="No such organisation")
@bp.alt_response(409, schema=ProblemSchema, description="Changed concurrently")
@bp.alt_response(412, schema=ProblemSchema, description="If-Match names a stale version")
@bp.alt_response(422, schema=ProblemSchema, description="No such service, or refused")
@requires("directory:write", KEEPERS)
def change_capacity(body: dict[str, Any], organisation_id: UUID, service_id: str) -> Any:
    """Sets how many referrals the service can hold at once (accepted, in progress, on
    hold)."""
    found = organisation(organisation_id)
    run_versioned(lambda version: current_application().directory.change_capacity(
        g.viewer, found.id, service_id, body["capacity"], expected_version=version,
        idempotency_key=idempotency_key()), found.version)
    return _organisation_response(organisation_id)


# -- HSDS 3.0 -------------------------------------------------------------------------------------
class HsdsServiceOutcomeSchema(ApiSchema):
    key = fields.String()
    name = fields.String()
    outcome = fields.String(metadata={"enum": [o for o in OUTCOMES if o != "refused"]})
    missing = fields.List(fields.String(), metadata={"description": "Why it is pending or "
                                                                    "ended"})


class HsdsOrganisationOutcomeSchema(ApiSchema):
    index = fields.Integer(metadata={"description": "Position in the document"})
    name = fields.String()
    source_id = fields.String(metadata={"description": "The publisher's id"})
    key = fields.String(allow_none=True, metadata={"description": "Our key, once registered"})
    outcome = fields.String(metadata={"enum": [o for o in OUTCOMES if o != "ended"]})
    missing = fields.List(fields.String(), metadata={"description": "Why it is pending"})
    errors = fields.List(fields.Nested(FieldErrorSchema),
                         metadata={"description": "Why it was refused, as JSON pointers"})
    services = fields.List(fields.Nested(HsdsServiceOutcomeSchema))


class HsdsReportSchema(ApiSchema):
    publisher = fields.String()
    dry_run = fields.Boolean(metadata={"description": "True: nothing was stored"})
    counts = fields.Dict(keys=fields.String(), values=fields.Integer(),
                         metadata={"description": "Organisations per outcome"})
    service_counts = fields.Dict(keys=fields.String(), values=fields.Integer(),
                                 metadata={"description": "Services per outcome"})
    organisations = fields.List(fields.Nested(HsdsOrganisationOutcomeSchema))
    absent = fields.List(fields.String(), metadata={
        "description": "Imported from this publisher before, not in this document"})


class HsdsImportQuerySchema(ApiSchema):
    publisher = fields.String(load_default="hsds", validate=validate.Regexp(
        KEY, error="2–40 lower-case letters, digits or '-'"),
        metadata={"description": "Whose directory this is; a re-import of the same "
                                 "publisher updates what it imported before"})
    dry_run = fields.Boolean(load_default=False,
                             metadata={"description": "Report only; store nothing"})


HSDS_DOCUMENT = {"oneOf": [
    {"type": "array", "items": {"type": "object"},
     "description": "HSDS 3.0 organization objects, each with its services nested"},
    {"type": "object", "description": "one page of an HSDS API (contents), or one "
                                      "organization"}],
    "description": "this product's own fields are attributes of the taxonomies "
                   "urn:fallnetz:sector, need, legal-sphere, capacity and service-key"}
EXPORTED = {"type": "array", "items": {"type": "object"},
            "description": "HSDS 3.0 organization objects, each with its services nested"}


@bp.get("/directory/hsds")
@bp.response(200, EXPORTED, description="The active organisations as HSDS 3.0")
@bp.alt_response(401, schema=ProblemSchema, description="No or an invalid token")
@requires("directory:read")
def export_hsds() -> Any:
    """The directory in Open Referral HSDS 3.0."""
    from flask import Response, json

    return Response(json.dumps(current_application().exchange.export_hsds()),
                    mimetype="application/json")


@bp.post("/directory/hsds")
@bp.arguments(HsdsImportQuerySchema, location="query", as_kwargs=True)
@bp.doc(requestBody={"required": True, "content": {
    "application/json": {"schema": HSDS_DOCUMENT},
    "application/zip": {"schema": {"type": "string", "format": "binary",
                                   "description": "The tabular form: a data package of "
                                                  "CSV tables with datapackage.json"}}}})
@bp.response(200, HsdsReportSchema)
@bp.alt_response(400, schema=ProblemSchema, description="Not a JSON document or data package")
@bp.alt_response(422, schema=ProblemSchema, description="Not an HSDS document")
@bp.alt_response(403, schema=ProblemSchema, description="Coordinators and admins only")
@requires("directory:write", (Role.COORDINATOR, Role.ADMIN))
def import_hsds(publisher: str, dry_run: bool) -> Any:
    """Imports another publisher's HSDS 3.0 directory (or this product's own export): each
    organisation and service is registered, updated, unchanged, pending until the
    coordinator maps its terms (with what is missing), or refused (with JSON pointers). An
    organisation is imported whole or not at all; a dry run stores nothing."""
    from domain.exchange.hsds import Unreadable, organisations_in
    from web.incoming import UnreadableInput, hsds_document

    try:
        document = hsds_document(request.get_data())
        if not all(isinstance(o, dict) for o in organisations_in(document)):
            raise Unreadable([{"pointer": "#", "detail": _(
                "An HSDS import is a list of organization objects.")}])
    except UnreadableInput as e:
        raise Stop(problem(400, str(e.description), code="not_json")) from None
    except Unreadable as e:
        raise Stop(problem(422, _("This is not an HSDS document."), code="invalid_fields",
                           errors=[{"pointer": x["pointer"], "detail": translate(x["detail"])}
                                   for x in e.errors])) from None
    report = current_application().exchange.import_hsds(g.viewer, document,
                                                        publisher=publisher,
                                                        dry_run=dry_run).as_dict()
    for outcome in report["organisations"]:
        outcome["missing"] = [translate(m) for m in outcome["missing"]]
        for error in outcome["errors"]:
            error["detail"] = translate(error["detail"])
        for service in outcome["services"]:
            service["missing"] = [translate(m) for m in service["missing"]]
    return report
