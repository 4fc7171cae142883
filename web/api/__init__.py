"""The JSON API at ``/api/v1`` for the other systems of the network: cases, referrals with
every command, inbox and outbox, histories, the directory (also in Open Referral HSDS 3.0),
referrals as FHIR R4 ServiceRequest + Task, API tokens and webhooks.

The OpenAPI 3 description is generated from the marshmallow schemas (flask-smorest) and
served at ``/api/v1/openapi.json``, with interactive docs at ``/api/v1/docs``. The same
access rules as the web (DESIGN §8) decide per object; errors are RFC 9457 problem
details."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import re

from flask import Flask, request, send_from_directory
from flask_smorest import Api as SmorestApi
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES

from web.api.problems import field_errors, problem

PREFIX = "/api/v1"


class Api(SmorestApi):
    def handle_http_exception(self, error: HTTPException) -> Any:
        data = getattr(error, "data", None) or {}
        messages = data.get("errors") or data.get("messages") or {}
        # A nested schema and its parent may name the same field for the same reason
        # (control characters are looked for by both): once is enough.
        errors = list({(e["pointer"], e["detail"]): e for e in field_errors(messages)}.values())
        if errors and error.code == 422:
            from flask_babel import gettext as _

            detail = _("Some fields are not valid; nothing was stored.")
        else:
            detail = data.get("message") or error.description
        return problem(error.code or 500, detail, errors=errors or None,
                       code="invalid_fields" if errors else None,
                       headers=data.get("headers"))


COMMON_PROBLEMS = {
    "400": "Not understood (e.g. not JSON, or a session call without its CSRF token)",
    "401": "No token, or an unknown, revoked or malformed one",
    "403": "The token's scopes or the caller's role do not allow this",
    "422": "Unknown or invalid fields or query parameters; nothing was stored",
}
IDEMPOTENCY_KEY = {"in": "header", "name": "Idempotency-Key", "required": False,
                   "schema": {"type": "string", "maxLength": 200},
                   "description": "Your id for this command: a repeat returns the first "
                                  "result and records nothing new"}
WITHOUT_KEYS = ("/tokens", "/webhooks", "/directory/hsds")  # each call makes a new secret,
# or repeats harmlessly
IF_MATCH = {"in": "header", "name": "If-Match", "required": False,
            "schema": {"type": "string"},
            "description": "The ETag you saw: a stale one answers 412 and changes nothing"}


def _document_common_problems(api: Api) -> None:
    """Every operation can answer these; documenting them once keeps the routes short."""
    for response in api.spec.components.responses.values():  # flask-smorest's own errors
        response["content"] = problem_response("")["content"]
    for path, operations in api.spec._paths.items():  # noqa: SLF001 (apispec keeps no API)
        for method, operation in operations.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            responses = operation.setdefault("responses", {})
            for status, response in list(responses.items()):
                if not str(status).startswith(("4", "5")):
                    continue
                if isinstance(response, str):  # flask-smorest's own, e.g. pagination's 422
                    responses[status] = problem_response(HTTP_STATUS_CODES.get(int(status),
                                                                               "Error"))
                    continue
                content = response.get("content", {})
                if "application/json" in content:
                    content["application/problem+json"] = content.pop("application/json")
            query_parameters[path, method.upper()] = frozenset(
                p["name"] for p in operation.get("parameters", [])
                if isinstance(p, dict) and p.get("in") == "query")
            for status, description in COMMON_PROBLEMS.items():
                responses.setdefault(status, problem_response(description))
            if method in ("post", "put", "delete") and not path.endswith(WITHOUT_KEYS):
                parameters = operation.setdefault("parameters", [])
                parameters.append(IDEMPOTENCY_KEY)
                if "412" in responses:
                    parameters.append(IF_MATCH)


# Stateful clients (and schemathesis) follow these: a case or referral answered with its id
# leads to every operation on it.
LINKED = {"Case": ("/api/v1/cases/{case_id}", "case_id"),
          "Referral": ("/api/v1/referrals/{referral_id}", "referral_id")}
METHODS = ("get", "post", "put", "patch", "delete")


def _link_name(method: str, rest: str) -> str:
    """e.g. post_needs_need_resolve: letters, digits and _ only, as OpenAPI names go."""
    return re.sub(r"[^A-Za-z0-9_]", "", f"{method}_{rest.strip('/').replace('/', '_')}") \
        or method


def _document_links(api: Api) -> None:
    paths = api.spec._paths  # noqa: SLF001
    for schema_name, (prefix, parameter) in LINKED.items():
        targets = [(path, method) for path, operations in paths.items()
                   if path.startswith(prefix) for method in operations if method in METHODS]
        links = {_link_name(method, path[len(prefix):]): {
            "operationRef": "#/paths/" + path.replace("~", "~0").replace("/", "~1") +
                            f"/{method}",
            "parameters": {parameter: "$response.body#/id"}} for path, method in targets}
        for operations in paths.values():
            for method, operation in operations.items():
                if method not in METHODS:
                    continue
                for status, response in operation.get("responses", {}).items():
                    schema = (response.get("content", {}).get("application/json", {})
                              .get("schema")) if isinstance(response, dict) else None
                    if str(status).startswith("2") and isinstance(schema, dict) and \
                            schema.get("$ref") == f"#/components/schemas/{schema_name}":
                        response["links"] = links


def problem_response(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/problem+json": {
        "schema": {"$ref": "#/components/schemas/Problem"}}}}


# (OpenAPI path, method) → the query parameters the operation knows
query_parameters: dict[tuple[str, str], frozenset[str]] = {}


def reject_unknown_query_parameters() -> Any:
    """Unknown fields are an error everywhere, also in the query string."""
    if request.url_rule is None:
        return None
    path = re.sub(r"<(?:[a-z]+:)?(\w+)>", r"{\1}", request.url_rule.rule)
    known = query_parameters.get((path, request.method))
    if known is None:
        return None
    unknown = sorted(set(request.args) - known)
    if unknown:
        from flask_babel import gettext as _

        return problem(422, _("Some fields are not valid; nothing was stored."),
                       code="invalid_fields",
                       errors=[{"pointer": f"#/{name}", "detail": _("Unknown field.")}
                               for name in unknown])
    return None


def init_app(app: Flask) -> None:
    import swagger_ui_bundle

    from web import csrf
    from web.api import cases, directory, histories, integrations, mailboxes, referrals, \
        reports, staff

    app.config.update(
        API_TITLE="Fallnetz API",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX=PREFIX,
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs",
        OPENAPI_SWAGGER_UI_URL=f"{PREFIX}/docs/assets/",
        API_SPEC_OPTIONS={
            "info": {"description": __doc__.split("\n\n")[0].replace("\n", " ")},
            "components": {"securitySchemes": {
                "token": {"type": "http", "scheme": "bearer",
                          "description": "An API token of an organisation "
                                         "(flask --app web issue-token)"}}},
            "security": [{"token": []}],
        },
    )
    # One Api per app: a process builds several apps (a worker's report app per network,
    # the tests' apps), and a shared one would carry the last app's spec and blueprints.
    api = Api()
    app.extensions["fallnetz.api"] = api
    api.init_app(app)
    for module in (cases, referrals, mailboxes, histories, directory, integrations, reports,
                   staff):
        csrf.exempt(module.bp)  # session callers send X-CSRFToken; see common.authenticate
        api.register_blueprint(module.bp)
    _document_common_problems(api)
    _document_links(api)

    assets = Path(swagger_ui_bundle.swagger_ui_path)

    @app.after_request
    def docs_icons(response: Any) -> Any:
        # Swagger UI draws its arrows as inline SVG images; everything else stays 'self'.
        if request.path == f"{PREFIX}/docs":
            response.headers["Content-Security-Policy"] = (
                "default-src 'self'; img-src 'self' data:; style-src 'self'; "
                "script-src 'self'; frame-ancestors 'none'")
        return response

    @app.get(f"{PREFIX}/docs/assets/<path:filename>")
    def api_docs_assets(filename: str) -> Any:
        return send_from_directory(assets, filename, max_age=86400)
