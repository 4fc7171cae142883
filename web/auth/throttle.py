"""Failed sign-ins are throttled (Flask-Limiter): per username and address, so nobody can
guess a colleague's password from their computer, and per address, so nobody can try many
names. Only failures count. Neither lets an attacker lock a colleague out: their
failures count against the attacker's address, not the colleague's (ASVS 6.3.1). Behind
the reverse proxy the address is the client's only when TRUSTED_PROXIES says how many
proxies set X-Forwarded-For (web/__init__.py); otherwise every colleague would share the
proxy's address and its counter.

Counters live in memory per process unless RATELIMIT_STORAGE_URI names a shared store
(e.g. the Redis of production)."""

from __future__ import annotations

from typing import Any

from flask import Flask, render_template, request, session
from flask_babel import gettext as _
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from web.security_log import security_event

PER_USERNAME_AND_ADDRESS = "10 per 15 minutes"
PER_ADDRESS = "50 per 15 minutes"
# Wrong codes of the second factor, per user: only someone who has the password gets there.
CODES_PER_USER = "10 per 15 minutes"
# Wrong birth years or codes on the person's own page: per code and address, so one
# resident's typos do not lock out the others of a shared accommodation's address, and per
# address, so nobody can try many codes (as for sign-ins).
PERSON_PER_CODE_AND_ADDRESS = "10 per 15 minutes"
PERSON_PER_ADDRESS = "50 per 15 minutes"
# Someone with a lost slip cannot try every birth year from many addresses: a code takes
# 20 failures a day, wherever they come from (its owner's caseworker renews the slip).
PERSON_PER_CODE = "20 per day"


def _failed(response: Any) -> bool:
    return response.status_code == 401


def _pending_user() -> str:
    pending = session.get("pending")
    user = pending.get("user") if isinstance(pending, dict) else None
    return f"code:{user if isinstance(user, str) else get_remote_address()}"


def _username_and_address() -> str:
    return (f"user:{(request.form.get('username') or '').strip().lower()}"
            f"@{get_remote_address()}")


def _code() -> str:
    """The access a code would open, by its id: the code itself is kept in no counter (a
    counter's key is logged when it runs over)."""
    from domain.person_access import PersonAccess

    return f"person:{PersonAccess.id_for(request.form.get('code') or '')}"


def _code_and_address() -> str:
    return f"{_code()}@{get_remote_address()}"


def init_app(app: Flask) -> None:
    limiter = Limiter(get_remote_address, app=app, default_limits=[],
                      storage_uri=app.config.get("RATELIMIT_STORAGE_URI", "memory://"))
    login = app.view_functions["auth.login"]
    login = limiter.limit(PER_USERNAME_AND_ADDRESS, key_func=_username_and_address,
                          methods=["POST"], deduct_when=_failed)(login)
    login = limiter.limit(PER_ADDRESS, methods=["POST"], deduct_when=_failed)(login)
    app.view_functions["auth.login"] = login
    for endpoint in ("auth.confirm_code", "auth.enrol_second_factor"):
        app.view_functions[endpoint] = limiter.limit(
            CODES_PER_USER, key_func=_pending_user, methods=["POST"],
            deduct_when=_failed)(app.view_functions[endpoint])

    person = app.view_functions["person.open_page"]
    person = limiter.limit(PERSON_PER_CODE_AND_ADDRESS, key_func=_code_and_address,
                           methods=["POST"], deduct_when=_failed)(person)
    person = limiter.limit(PERSON_PER_CODE, key_func=_code, methods=["POST"],
                           deduct_when=_failed)(person)
    person = limiter.limit(PERSON_PER_ADDRESS, methods=["POST"], deduct_when=_failed)(person)
    app.view_functions["person.open_page"] = person

    @app.errorhandler(429)
    def too_many(_error: Any) -> Any:
        if request.blueprint == "person":
            security_event("person_page_throttled", None)
            from web.person import TOO_MANY

            return render_template("person/enter.html", values={},
                                   errors={"_form": [str(TOO_MANY)]}), 429
        pending = session.get("pending")
        security_event("sign_in_throttled", (request.form.get("username") or "")[:80] or (
            pending.get("user") if isinstance(pending, dict) else None))
        return render_template(
            "error.html", status=429,
            message=_("Too many failed sign-ins. Please wait a few minutes and try again, "
                      "or ask your admin to reset the password.")), 429
