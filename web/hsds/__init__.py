"""The public HSDS 3.0 API: the organisations and services the network marks as public,
read-only and without sign-in, at the standard's paths under ``/hsds`` (its OpenAPI
description at ``/hsds/openapi.json``). Only directory data leaves: names, inboxes, needs,
districts, languages and capacities; never people, cases or staff."""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from typing import Any, Iterable

from flask import Blueprint, Response, abort, jsonify, request, url_for
from marshmallow import RAISE, Schema, ValidationError, fields

from domain.exchange.hsds import TAXONOMY, export_organisation, export_service, hsds_id
from domain.organisation import Organisation
from domain.vocabulary import LEGAL_SPHERES, SECTORS
from web.application import current_application
from web.hsds.spec import openapi

bp = Blueprint("hsds", __name__, url_prefix="/hsds")
DEFAULT_PER_PAGE = 50
MOST_PER_PAGE = 500
DESCRIPTIONS = {"sector": "Sector of an organisation (Fallnetz)",
                "need": "Needs a service meets (the network's catalogue)",
                "legal_sphere": "Legal spheres a service works in (AsylbLG, SGB II, …)"}


class ListQuery(Schema):
    """The standard's query parameters; what a path does not use is accepted and unused."""
    class Meta:
        unknown = RAISE

    search = fields.String(load_default=None)
    page = fields.Integer(load_default=1)
    per_page = fields.Integer(load_default=DEFAULT_PER_PAGE)
    format = fields.String(load_default="json")
    full = fields.Boolean(load_default=False)
    full_service = fields.Boolean(load_default=False)
    minimal = fields.Boolean(load_default=False)
    taxonomy_term_id = fields.String(load_default=None)
    taxonomy_id = fields.String(load_default=None)
    organization_id = fields.String(load_default=None)
    modified_after = fields.String(load_default=None)
    postcode = fields.String(load_default=None)
    proximity = fields.String(load_default=None)
    top_only = fields.Boolean(load_default=False)
    parent_id = fields.String(load_default=None)


@bp.after_request
def readable_from_anywhere(response: Response) -> Response:
    """A public, read-only directory: HSDS tools in other sites' pages may read it."""
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.errorhandler(404)
def not_found(_error: Any) -> Any:
    """An API answers in JSON: nothing public has this id."""
    response = jsonify({"title": "Not found", "status": 404})
    response.status_code = 404
    return response


def _query() -> dict[str, Any]:
    try:
        return ListQuery().load(request.args.to_dict())
    except ValidationError as e:
        response = jsonify({"title": "Invalid query", "status": 400, "errors": e.messages})
        response.status_code = 400
        abort(response)


def _public() -> list[Organisation]:
    return sorted((o for o in current_application().organisations()
                   if o.active and o.public_services is not None), key=lambda o: o.name)


def _capacities(organisation: Organisation, key: str, service: dict[str, Any],
                served: dict[str, Any]) -> list[dict[str, Any]]:
    """HSDS 3.1's ``service_capacity``: places in all, and free now."""
    if service.get("capacity") is None:
        return []
    from web.reads import places_taken

    taken = places_taken(organisation.id, key)
    return [{"id": hsds_id("capacity", served["id"]), "service_id": served["id"],
             "unit": {"id": hsds_id("unit", "referrals"), "name": "concurrent referrals",
                      "scheme": "fallnetz", "identifier": "referrals"},
             "available": max(0, service["capacity"] - taken),
             "maximum": service["capacity"],
             "description": "Referrals the service can hold at once",
             "updated": organisation.modified_on.astimezone(timezone.utc).isoformat()}]


def _services(organisation: Organisation) -> list[dict[str, Any]]:
    served = []
    for key in organisation.public_services or []:
        service = organisation.offered_services().get(key)
        if service is None:  # ended since it was made public
            continue
        body = export_service(organisation, key, service)
        body["capacities"] = _capacities(organisation, key, service, body)
        served.append(body)
    return served


def _organisation(organisation: Organisation, services: str) -> dict[str, Any]:
    """``services``: "full", "ids" or "none"."""
    body = export_organisation(organisation)
    del body["contacts"]  # named people: the public directory shows organisations only
    body.pop("services")
    if services == "full":
        body["services"] = _services(organisation)
    elif services == "ids":
        body["services"] = [{"id": s["id"]} for s in _services(organisation)]
    return body


def _page(items: list[Any], query: dict[str, Any]) -> Any:
    if query["format"] == "ndjson":  # the standard's stream of every result
        return Response("".join(json.dumps(i, ensure_ascii=False) + "\n" for i in items),
                        mimetype="application/x-ndjson")
    per_page = query["per_page"] if 0 < query["per_page"] <= MOST_PER_PAGE else \
        (MOST_PER_PAGE if query["per_page"] > MOST_PER_PAGE else DEFAULT_PER_PAGE)
    pages = max(1, math.ceil(len(items) / per_page))
    page = max(1, query["page"])  # past the last page: an empty one
    shown = items[(page - 1) * per_page: page * per_page]
    return jsonify({"total_items": len(items), "total_pages": pages, "page_number": page,
                    "size": len(shown), "first_page": page == 1, "last_page": page >= pages,
                    "empty": not shown, "contents": shown})


def _matches(text: str | None, *values: Any) -> bool:
    return not text or any(text.casefold() in str(v or "").casefold() for v in values)


def _modified_after(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None  # the standard names no error answer: an unreadable time filters nothing
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _found(items: Iterable[dict[str, Any]], wanted: str) -> dict[str, Any]:
    for item in items:
        if item["id"] == wanted:
            return item
    abort(404)


@bp.get("/")
def about() -> Any:
    return jsonify({"version": "3.0",
                    "profile": "https://docs.openreferral.org/en/v3.0/",
                    "openapi_url": url_for("hsds.description", _external=True)})


@bp.get("/openapi.json")
def description() -> Any:
    network = current_application().network
    return jsonify(openapi(f"{network.name} – HSDS 3.0", url_for("hsds.about").rstrip("/")))


@bp.get("/organizations")
def organizations() -> Any:
    query = _query()
    services = "full" if query["full_service"] else "ids" if query["full"] else "none"
    return _page([_organisation(o, services) for o in _public()
                  if _matches(query["search"], o.name)], query)


@bp.get("/organizations/<string:organization_id>")
def organization(organization_id: str) -> Any:
    query = _query()
    found = next((o for o in _public() if str(o.id) == organization_id), None)
    if found is None:
        abort(404)
    return jsonify(_organisation(found, "full" if query["full_service"] else "ids"))


def _all_services(query: dict[str, Any]) -> list[dict[str, Any]]:
    after = _modified_after(query["modified_after"])
    found = []
    for organisation in _public():
        if query["organization_id"] and str(organisation.id) != query["organization_id"]:
            continue
        if after is not None and organisation.modified_on < after:
            continue
        for service in _services(organisation):
            terms = [a["taxonomy_term"] for a in service["attributes"]]
            if query["taxonomy_term_id"] and all(t["id"] != query["taxonomy_term_id"]
                                                 for t in terms):
                continue
            if query["taxonomy_id"] and all(_taxonomy_id(t["taxonomy"]) != query["taxonomy_id"]
                                            for t in terms):
                continue
            if _matches(query["search"], service["name"], organisation.name):
                found.append(service)
    return found


@bp.get("/services")
def services() -> Any:
    query = _query()
    return _page(_all_services(query), query)


@bp.get("/services/<string:service_id>")
def service(service_id: str) -> Any:
    return jsonify(_found(_all_services(ListQuery().load({})), service_id))


@bp.get("/service_at_locations")
def service_at_locations() -> Any:
    # The network records no locations of its services (districts served are service areas).
    return _page([], _query())


@bp.get("/service_at_locations/<string:service_at_location_id>")
def service_at_location(service_at_location_id: str) -> Any:
    abort(404)


# -- taxonomies -----------------------------------------------------------------------------------
SERVED_TAXONOMIES = ("sector", "need", "legal_sphere")


def _taxonomy_id(uri: str) -> str:
    return hsds_id("taxonomy", uri)


def _taxonomies() -> list[dict[str, Any]]:
    return [{"id": _taxonomy_id(TAXONOMY[kind]), "name": TAXONOMY[kind],
             "description": DESCRIPTIONS[kind], "uri": TAXONOMY[kind],
             "version": current_application().network.slug} for kind in SERVED_TAXONOMIES]


def _terms() -> list[dict[str, Any]]:
    """The terms as the services' attributes name them (name: the code), described in
    German where the network's catalogue has words for them."""
    network = current_application().network
    codes: dict[str, list[tuple[str, str]]] = {
        "sector": [(s, f"sector {s}") for s in SECTORS],
        "need": [(n.code, n.label_de) for n in network.needs.values()],
        "legal_sphere": [(s, f"legal sphere {s}") for s in LEGAL_SPHERES]}
    return [{"id": hsds_id("term", kind, code), "code": code, "name": code,
             "description": described, "taxonomy": TAXONOMY[kind],
             "taxonomy_id": _taxonomy_id(TAXONOMY[kind]),
             **({"language": "de"} if kind == "need" else {})}
            for kind in SERVED_TAXONOMIES for code, described in codes[kind]]


@bp.get("/taxonomies")
def taxonomies() -> Any:
    query = _query()
    return _page([t for t in _taxonomies() if _matches(query["search"], t["name"],
                                                         t["description"])], query)


@bp.get("/taxonomies/<string:taxonomy_id>")
def taxonomy(taxonomy_id: str) -> Any:
    return jsonify(_found(_taxonomies(), taxonomy_id))


@bp.get("/taxonomy_terms")
def taxonomy_terms() -> Any:
    query = _query()
    terms = [t for t in _terms()
             if _matches(query["search"], t["name"], t["code"])
             and (not query["taxonomy_id"] or t["taxonomy_id"] == query["taxonomy_id"])
             and not query["parent_id"]]  # the network's vocabularies are flat
    return _page(terms, query)


@bp.get("/taxonomy_terms/<string:term_id>")
def taxonomy_term(term_id: str) -> Any:
    return jsonify(_found(_terms(), term_id))
