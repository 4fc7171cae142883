"""Errors of the API as RFC 9457 problem details (``application/problem+json``): a type URI
per kind of problem, a title, the status, a detail in the caller's language, and for bad
input the fields at fault as JSON pointers."""

from __future__ import annotations

import re

from collections.abc import Iterator, Mapping
from typing import Any

from flask import Response, g, json, request
from marshmallow import Schema, fields
from werkzeug.http import HTTP_STATUS_CODES

from domain.base import ConflictError, DomainError, NotFound, PermissionDenied
from web.i18n import translate

MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "urn:fallnetz:problem:"
# The HTTP status of each kind of refusal, for pages and problem details alike.
DOMAIN_STATUS = ((NotFound, 404), (PermissionDenied, 403), (ConflictError, 409),
                 (DomainError, 422))


def status_of(error: DomainError) -> int:
    return next(code for cls, code in DOMAIN_STATUS if isinstance(error, cls))


class FieldErrorSchema(Schema):
    pointer = fields.String(metadata={"description": "JSON pointer to the field at fault, "
                                                     "e.g. #/reason"})
    detail = fields.String()


class ProblemSchema(Schema):
    """RFC 9457 problem details."""
    type = fields.String(metadata={"description": "URI of the kind of problem"})
    title = fields.String()
    status = fields.Integer()
    detail = fields.String()
    instance = fields.String(metadata={"description": "Correlation id of the request"})
    errors = fields.List(fields.Nested(FieldErrorSchema))


def is_api_request() -> bool:
    # (a network's API seen from the installation's root: a network not served)
    path = re.sub(r"^/n/[^/]+(?=/)", "", request.path)
    return path == "/api" or path.startswith("/api/")


def problem(status: int, detail: str | None = None, *, code: str | None = None,
            errors: list[dict[str, str]] | None = None,
            headers: Mapping[str, str] | None = None) -> Response:
    body: dict[str, Any] = {
        "type": f"{TYPE_BASE}{code}" if code else "about:blank",
        "title": HTTP_STATUS_CODES.get(status, "Error"),
        "status": status,
    }
    if detail:
        body["detail"] = detail
    correlation_id = g.get("correlation_id")
    if correlation_id:
        body["instance"] = f"urn:fallnetz:request:{correlation_id}"
    if errors:
        body["errors"] = errors
    response = Response(json.dumps(body), status=status, mimetype=MEDIA_TYPE)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def domain_problem(error: DomainError) -> Response:
    status = status_of(error)
    detail = translate(error.message)
    errors = [{"pointer": f"#/{error.field}", "detail": detail}] if error.field else None
    return problem(status, detail, code=error.code, errors=errors)


def field_errors(messages: Any, path: str = "#") -> Iterator[dict[str, str]]:
    """marshmallow's nested messages as a flat list of pointer + detail; webargs's outer
    level (json, query, headers) is not part of the pointer."""
    if isinstance(messages, Mapping):
        for key, value in messages.items():
            if path == "#" and key in ("json", "query", "headers", "form", "files"):
                yield from field_errors(value, path)
            elif key == "_schema":
                yield from field_errors(value, path)
            else:
                yield from field_errors(value, f"{path}/{key}")
    elif isinstance(messages, (list, tuple)):
        for item in messages:
            yield from field_errors(item, path)
    else:
        yield {"pointer": path, "detail": str(messages)}
