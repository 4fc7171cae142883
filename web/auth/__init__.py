"""Sign-in and sign-out, the chosen organisation, and who is acting in this request.

The session cookie holds the username, the organisation and role acted for, a fingerprint
of the password hash, when the session began and when it was last used; every request
checks them against the events again, so a removed membership, a changed password or a
sign-out (which ends every session of the user begun before it, copies of the cookie
included) ends the session at once, as do 30 minutes without a request and 10 hours after
sign-in (SESSION_IDLE_MINUTES, SESSION_HOURS)."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit
from uuid import UUID

from flask import Blueprint, abort, current_app, flash, g, redirect, request, session, url_for
from flask_babel import gettext as _

from domain.base import DomainError
from domain.organisation import Organisation
from domain.stamp import CASEWORK, Role, Stamp
from readmodel.queries import leads_open_cases
from web.application import current_application
from web.reads import read_store
from web.security_log import security_event

bp = Blueprint("auth", __name__)
F = TypeVar("F", bound=Callable[..., Any])
# The sector whose services lead cases (the social work of the accommodations).
LEADING_SECTOR = "social_work"
# How often the cookie's last use is written anew (each time would send a cookie with
# every answer for nothing).
SEEN_EVERY = timedelta(minutes=1)



def local_path(target: str | None) -> str | None:
    """Only paths of this site are followed after sign-in (no open redirect)."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def password_fingerprint(password_hash: str | None) -> str:
    return hashlib.sha256((password_hash or "").encode()).hexdigest()[:16]


def sign_in(username: str, organisation_id: UUID, role: str, password_hash: str | None,
            began: str | None = None) -> None:
    """A new session, or (``began`` given: another organisation chosen) the same one."""
    end_session()  # nothing of an earlier session carries over
    now = current_application().clock().isoformat()
    session.permanent = True
    session.update(user=username, organisation_id=str(organisation_id), role=role,
                   auth=password_fingerprint(password_hash), began=began or now, seen=now)


def end_session() -> None:
    """Forgets who was signed in; the chosen language stays."""
    language = session.get("language")
    session.clear()
    if language:
        session["language"] = language


def _timed_out(now: datetime) -> bool:
    settings = current_app.extensions["fallnetz.settings"]
    began = datetime.fromisoformat(session["began"])
    seen = datetime.fromisoformat(session["seen"])
    return (now - seen > timedelta(minutes=settings.session_idle_minutes)
            or now - began > timedelta(hours=settings.session_hours))


def load_viewer() -> None:
    """Sets ``g.viewer`` (a Stamp for this request), ``g.organisation`` and ``g.account``
    from the session, or leaves them None."""
    g.viewer = g.organisation = g.account = None
    g.correlation_id = request.headers.get("X-Request-ID", "")[:64] or secrets.token_hex(8)
    username = session.get("user")
    if not username or request.endpoint == "static":
        return
    account = current_application().directory.user(username)
    now = current_application().clock()
    try:
        viewer = Stamp(username, UUID(session["organisation_id"]), session["role"],
                       g.correlation_id)
        if _timed_out(now):
            security_event("session_timed_out", username)
            end_session()
            flash(_("Your session has ended after a while without use. Please sign in "
                    "again."), "info")
            return
        if account is None or session.get("auth") != password_fingerprint(
                account.password_hash) or account.session_ended(
                    datetime.fromisoformat(session["began"])):
            raise DomainError("stale session")
        organisation = current_application().accounts.require_member(viewer)
    except (DomainError, KeyError, ValueError):
        end_session()
        return
    if now - datetime.fromisoformat(session["seen"]) > SEEN_EVERY:
        session["seen"] = now.isoformat()
    g.viewer, g.organisation, g.account = viewer, organisation, account


def viewer() -> Stamp:
    assert g.viewer is not None
    return g.viewer


def login_required(view: F) -> F:
    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if g.viewer is None:
            return redirect(url_for("auth.login", next=request.script_root + request.full_path.rstrip("?")))
        return view(*args, **kwargs)
    return wrapped  # type: ignore[return-value]


def roles(*allowed: Role) -> Callable[[F], F]:
    """Signed in, in one of these roles (403 otherwise)."""
    def decorate(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if g.viewer is None:
                return redirect(url_for("auth.login", next=request.script_root + request.full_path.rstrip("?")))
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
                return redirect(url_for("auth.login", next=request.script_root + request.full_path.rstrip("?")))
            if not rule(g.viewer):
                abort(403)
            return view(*args, **kwargs)
        return wrapped  # type: ignore[return-value]
    return decorate


def home_for(role: str, organisation_id: UUID | str) -> str:
    """Where a member starts: the organisation's cases when it leads open ones or is a
    social work service (whose work is leading cases, from the first), else its inbox (the
    receivers'); the coordination office on the network's health."""
    if role in CASEWORK:
        organisation = current_application().find(Organisation, UUID(str(organisation_id)))
        if (organisation is not None and organisation.sector == LEADING_SECTOR) or \
                leads_open_cases(read_store(), str(organisation_id)):
            return url_for("cases.index")
        return url_for("inbox.index")
    if role == Role.COORDINATOR:
        return url_for("reports.overview")
    if role == Role.DATA_PROTECTION:
        return url_for("privacy.index")
    return url_for("directory.index")


from web.auth import routes, second_factor  # noqa: E402,F401  (registers the routes)
