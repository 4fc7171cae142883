"""Sign-in and sign-out, the chosen organisation, and who is acting in this request.

The session cookie holds the username, the organisation and role acted for, and a
fingerprint of the password hash; every request checks them against the events again, so a
removed membership or a changed password ends the session at once."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar
from uuid import UUID

from flask import Blueprint, abort, g, redirect, request, session, url_for

from domain.base import DomainError
from domain.stamp import CASEWORK, Role, Stamp
from web.application import current_application

bp = Blueprint("auth", __name__)
F = TypeVar("F", bound=Callable[..., Any])



def password_fingerprint(password_hash: str | None) -> str:
    return hashlib.sha256((password_hash or "").encode()).hexdigest()[:16]


def sign_in(username: str, organisation_id: UUID, role: str, password_hash: str | None,
            ) -> None:
    language = session.get("language")
    session.clear()  # nothing of an earlier session carries over
    session.permanent = True
    session.update(user=username, organisation_id=str(organisation_id), role=role,
                   auth=password_fingerprint(password_hash))
    if language:
        session["language"] = language


def load_viewer() -> None:
    """Sets ``g.viewer`` (a Stamp for this request), ``g.organisation`` and ``g.account``
    from the session, or leaves them None."""
    g.viewer = g.organisation = g.account = None
    g.correlation_id = request.headers.get("X-Request-ID", "")[:64] or secrets.token_hex(8)
    username = session.get("user")
    if not username or request.endpoint == "static":
        return
    account = current_application().directory.user(username)
    try:
        viewer = Stamp(username, UUID(session["organisation_id"]), session["role"],
                       g.correlation_id)
        if account is None or session.get("auth") != password_fingerprint(
                account.password_hash):
            raise DomainError("stale session")
        organisation = current_application().accounts.require_member(viewer)
    except (DomainError, KeyError, ValueError):
        session.clear()
        return
    g.viewer, g.organisation, g.account = viewer, organisation, account


def viewer() -> Stamp:
    assert g.viewer is not None
    return g.viewer


def login_required(view: F) -> F:
    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if g.viewer is None:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)
    return wrapped  # type: ignore[return-value]


def roles(*allowed: Role) -> Callable[[F], F]:
    """Signed in, in one of these roles (403 otherwise)."""
    def decorate(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if g.viewer is None:
                return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
            if g.viewer.role not in allowed:
                abort(403)
            return view(*args, **kwargs)
        return wrapped  # type: ignore[return-value]
    return decorate


def allowed_by(rule: Callable[[Stamp], bool]) -> Callable[[F], F]:
    """Signed in, and allowed by a rule of :mod:`domain.access` (403 otherwise)."""
    def decorate(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if g.viewer is None:
                return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
            if not rule(g.viewer):
                abort(403)
            return view(*args, **kwargs)
        return wrapped  # type: ignore[return-value]
    return decorate


def home_for(role: str) -> str:
    if role in CASEWORK:
        return url_for("cases.index")
    if role == Role.COORDINATOR:
        return url_for("directory.escalations")
    return url_for("directory.index")


from web.auth import routes  # noqa: E402,F401  (registers the routes)
