"""What every API route shares: who is calling (a system's token or a signed-in user's
session), what it may do (scopes and roles), versions as ETags with If-Match, idempotency
keys, and pages of lists."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import wraps
from typing import Any, TypeVar

from flask import abort, g, request
from flask_babel import gettext as _
from flask_smorest import Blueprint
from marshmallow import RAISE, Schema, fields, validates_schema

from domain.base import ConflictError
from domain.organisation import TOKEN_SCOPES
from domain.stamp import CASEWORK, Role
from web.api.problems import problem
from web.application import current_application
from web.incoming import ArgumentsParser, refuse_unprintable
from web.security_log import security_event

F = TypeVar("F", bound=Callable[..., Any])
EVERY_ROLE = (Role.CASEWORKER, Role.SUPERVISOR, Role.COORDINATOR, Role.ADMIN)
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class ApiSchema(Schema):
    """Unknown fields are an error, never silently dropped; so are control characters and
    broken characters in any text."""
    class Meta:
        unknown = RAISE
        ordered = True

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def printable(self, _data: Any, original: Any, **_: Any) -> None:
        refuse_unprintable(original)


class ViewTime(fields.DateTime):
    """A time the views keep as ISO 8601 text in UTC: passed on as it is."""
    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> Any:
        return value if isinstance(value, str) else super()._serialize(value, attr, obj,
                                                                        **kwargs)


class Stop(Exception):
    """Ends a request with a ready response (a problem)."""
    def __init__(self, response: Any) -> None:
        self.response = response


class ApiBlueprint(Blueprint):
    ARGUMENTS_PARSER = ArgumentsParser()  # JSON within limits (web/incoming.py)

    def _document_pagination_metadata(self, spec: Any, resp_doc: dict[str, Any]) -> None:
        # The header carries JSON text; described as an object, clients would read it as a
        # comma-separated list of names and values.
        resp_doc.setdefault("headers", {})[self.PAGINATION_HEADER_NAME] = {
            "description": "Pagination as JSON: total, total_pages, first_page, last_page, "
                           "page, previous_page, next_page",
            "schema": {"type": "string"}}


def api_blueprint(name: str, description: str) -> Blueprint:
    blueprint = ApiBlueprint(f"api_{name}", __name__, url_prefix="/api/v1",
                          description=description)
    blueprint.before_request(authenticate)
    from web.api import reject_unknown_query_parameters

    blueprint.before_request(reject_unknown_query_parameters)
    return blueprint


def authenticate() -> Any:
    """A bearer token names a system of an organisation; without one, the web session's
    user may call the API too, with the CSRF token in a header for changes."""
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _sep, text = header.partition(" ")
        identity = (current_application().integrations.identify_token(text.strip())
                    if scheme.lower() == "bearer" else None)
        if identity is None:
            return problem(401, _("The token is unknown, revoked or malformed."),
                           code="invalid_token",
                           headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
        g.viewer = identity.stamp(g.correlation_id)
        g.organisation = identity.organisation
        g.scopes = identity.scopes
        g.api_token = identity
        return None
    if g.get("viewer") is None:
        return problem(401, _("Send a token: Authorization: Bearer <token>."),
                       code="authentication_required",
                       headers={"WWW-Authenticate": "Bearer"})
    g.scopes = TOKEN_SCOPES
    g.api_token = None
    if request.method not in SAFE_METHODS:
        from web import csrf

        csrf.protect()  # a browser session's change must carry X-CSRFToken
    return None


def requires(scope: str, roles: Sequence[Role] = EVERY_ROLE) -> Callable[[F], F]:
    def decorate(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if scope not in g.scopes:
                security_event("refused", g.viewer.user, code="insufficient_scope")
                return problem(403, _("This token lacks the scope {scope}.").format(
                    scope=scope), code="insufficient_scope")
            if g.viewer.role not in roles:
                security_event("refused", g.viewer.user, code="permission_denied")
                return problem(403, _("The role {role} cannot do this.").format(
                    role=g.viewer.role), code="permission_denied")
            try:
                return view(*args, **kwargs)
            except Stop as stop:
                return stop.response
        return wrapped  # type: ignore[return-value]
    return decorate


def problems(blueprint: Blueprint, *documented: tuple[int, str]) -> Callable[[F], F]:
    """Documents the problem responses (RFC 9457) an operation can give."""
    from web.api.problems import ProblemSchema

    def decorate(view: F) -> F:
        for status, description in documented:
            view = blueprint.alt_response(status, schema=ProblemSchema,
                                          description=description)(view)
        return view
    return decorate


def command_problems(what: str) -> tuple[tuple[int, str], ...]:
    """What a command on an existing case, referral or organisation can answer."""
    return ((404, f"No such {what}, or not visible"),
            (409, "Changed concurrently; nothing was stored"),
            (412, "If-Match names a stale version; nothing was stored"),
            (422, "Refused by a rule; nothing was stored"))


def etag(version: int) -> str:
    return f'"{version}"'


def expected_version(current: int) -> int | None:
    """With If-Match, the version the caller saw; a stale one ends the request with 412.
    Without it the command runs on the current version (the domain still refuses a
    concurrent save with 409)."""
    if not request.if_match or request.if_match.star_tag:
        return None
    if not request.if_match.contains(str(current)):
        raise Stop(problem(412, _("This object is at version {version} now; your If-Match "
                                  "names another. Nothing was changed. Fetch it again and "
                                  "decide anew.").format(version=current),
                           code="stale_version", headers={"ETag": etag(current)}))
    return current


def run_versioned(command: Callable[[int | None], Any], current: int) -> Any:
    """Runs a command at the version If-Match names; a save that loses a race against
    another is reported as stale (412) when the caller asked for a version."""
    version = expected_version(current)
    try:
        return command(version)
    except ConflictError:
        if version is None:
            raise
        raise Stop(problem(412, _("This object was changed meanwhile. Nothing was changed. "
                                  "Fetch it again and decide anew."),
                           code="stale_version")) from None


def idempotency_key() -> str | None:
    key = request.headers.get("Idempotency-Key", "").strip()
    if len(key) > 200:
        abort(400)
    return key or None


def page_of(items: list[Any], pagination_parameters: Any) -> list[Any]:
    pagination_parameters.item_count = len(items)
    start = pagination_parameters.first_item
    return items[start:start + pagination_parameters.page_size]
