"""The second step of signing in: a code of the authenticator app (or a recovery code), and
setting up the app. Between the password and the code the session holds only a pending
sign-in (``session["pending"]``: whose, a fingerprint of the password hash, when), which
signs nobody in; it lapses after PENDING_MINUTES and after MAX_TRIES wrong codes.

The secret being set up is not kept in the cookie: it is derived from the master key and a
random nonce kept there, so a copy of the cookie taken during setup does not give it away."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from collections.abc import Callable
from typing import Any
from uuid import UUID

import segno
from flask import (current_app, flash, g, make_response, redirect, render_template, request,
                   session, url_for)
from flask_babel import gettext as _
from flask_babel import ngettext

from domain import second_factor
from domain.account import UserAccount
from domain.base import DomainError
from domain.stamp import Stamp
from web.application import current_application
from web.auth import (bp, home_for, local_path, login_required, password_fingerprint, sign_in,
                      viewer)
from web.i18n import translate
from web.forms import FormError, FormSchema, load_form, text
from web.security_log import security_event

PENDING_MINUTES = 5
MAX_TRIES = 5


class CodeForm(FormSchema):
    code = text(max_length=40)


def begin(account: UserAccount, next_page: str | None) -> Any:
    """After the right password: on to the code, or to setting up an app when the user's
    roles need one and there is none yet."""
    enrol = not account.has_second_factor()
    session["pending"] = {"user": account.username, "at": _now().isoformat(),
                          "auth": password_fingerprint(account.password_hash),
                          "next": next_page, "tries": 0, "enrol": enrol}
    return redirect(url_for("auth.enrol_second_factor" if enrol else "auth.confirm_code"))


def finish(account: UserAccount, next_page: str | None) -> str:
    """Signs in for the first organisation; where to go next (the choice of organisation
    when there are several)."""
    memberships = current_application().accounts.memberships(account.username)
    if not memberships:
        flash(_("Your account belongs to no active organisation. Please ask your admin."),
              "error")
        return url_for("auth.login")
    organisation, role = memberships[0]
    sign_in(account.username, organisation.id, role, account.password_hash)
    if len(memberships) > 1:
        return url_for("auth.choose_organisation", next=local_path(next_page))
    return local_path(next_page) or home_for(role, organisation.id)


@bp.route("/anmelden/code", methods=["GET", "POST"])
def confirm_code() -> Any:
    if g.viewer is not None:  # signed in already (Back to this page, a second tab)
        return redirect(url_for("home"))
    pending, account = _pending()
    if account is None or pending.get("enrol"):
        return _start_again()
    if request.method == "GET":
        return render_template("auth/code.html", errors={})
    try:
        code = load_form(CodeForm)["code"]
        used_recovery = current_application().accounts.confirm_second_factor(
            _stamp_for(account.username), code)
    except FormError as e:
        return render_template("auth/code.html", errors=e.errors), 422
    except DomainError as e:
        if e.field != "code":
            raise
        return _wrong_code(pending, account, e)
    onward = finish(account, pending.get("next"))  # a new session: flash after it
    if used_recovery:
        security_event("recovery_code_used", account.username)
        left = len(current_application().directory.user(account.username).recovery_hashes)
        flash(ngettext("You signed in with a recovery code; %(num)d is left. Set up your "
                       "app again under Account.",
                       "You signed in with a recovery code; %(num)d are left. Set up your "
                       "app again under Account.", left), "info")
    return redirect(onward)


@bp.route("/anmelden/einrichten", methods=["GET", "POST"])
def enrol_second_factor() -> Any:
    """Setting up the app: during a pending sign-in (roles that need it), or signed in (a
    new phone, or by choice)."""
    pending, account = _pending()
    if g.viewer is not None:
        account, pending = g.account, {}
    elif account is None or not pending.get("enrol"):
        return _start_again()
    nonce = session.setdefault("enrolment", secrets.token_hex(16))
    secret = _enrolment_secret(account.username, nonce)
    if request.method == "GET":
        return _enrolment_page(account, secret, {})
    try:
        code = load_form(CodeForm)["code"]
        by = viewer() if g.viewer is not None else _stamp_for(account.username)
        recovery_codes = current_application().accounts.enrol_second_factor(by, secret, code)
    except FormError as e:
        return _enrolment_page(account, secret, e.errors, 422)
    except DomainError as e:
        if e.field != "code":
            raise
        if not pending:
            return _enrolment_page(account, secret, {"code": [_translated(e)]}, 422)
        return _wrong_code(pending, account, e, lambda errors: _enrolment_page(
            account, secret, errors, 401))
    session.pop("enrolment", None)
    security_event("second_factor_enrolled", account.username)
    onward = finish(account, pending.get("next")) if pending else url_for("auth.account")
    return _recovery_codes_page(recovery_codes, onward)


@bp.route("/konto")
@login_required
def account() -> Any:
    return _account_page({}, 200)


@bp.post("/konto/wiederherstellungscodes")
@login_required
def renew_recovery_codes() -> Any:
    recovery_codes, refused = _on_account_page("code", lambda: (
        current_application().accounts.renew_recovery_codes(
            viewer(), load_form(CodeForm)["code"])))
    if refused is not None:
        return refused
    security_event("recovery_codes_renewed", viewer().user)
    return _recovery_codes_page(recovery_codes, url_for("auth.account"))


@bp.post("/konto/zweiter-faktor/entfernen")
@login_required
def remove_second_factor() -> Any:
    _done, refused = _on_account_page("remove", lambda: (
        load_form(FormSchema),
        current_application().accounts.remove_second_factor(viewer(), viewer().user)))
    if refused is not None:
        return refused
    security_event("second_factor_removed", viewer().user)
    flash(_("The second factor is removed; you sign in with your password only."), "success")
    return redirect(url_for("auth.account"))


def _on_account_page(field: str, command: Callable[[], Any]) -> tuple[Any, Any]:
    """Runs a command of the account page: its result, or the page again with the error at
    ``field``."""
    try:
        return command(), None
    except FormError as e:
        return None, _account_page(e.errors)
    except DomainError as e:
        if e.field != "code":
            raise
        return None, _account_page({field: [_translated(e)]})


def _account_page(errors: dict[str, list[str]], status: int = 422) -> Any:
    required = second_factor.required(
        role for _o, role in current_application().accounts.memberships(viewer().user))
    return render_template("auth/account.html", errors=errors, required=required), status


def _pending() -> tuple[dict[str, Any], UserAccount | None]:
    """The pending sign-in and its account, or None when there is none (any more): lapsed,
    or the password changed meanwhile."""
    pending = session.get("pending")
    if not isinstance(pending, dict) or not isinstance(pending.get("user"), str):
        return {}, None
    try:
        began = datetime.fromisoformat(pending["at"])
    except (KeyError, TypeError, ValueError):
        return {}, None
    account = current_application().directory.user(pending["user"])
    if (account is None or _now() - began > timedelta(minutes=PENDING_MINUTES)
            or pending.get("auth") != password_fingerprint(account.password_hash)):
        session.pop("pending", None)
        return {}, None
    return pending, account


def _start_again() -> Any:
    session.pop("pending", None)
    flash(_("Please sign in again."), "info")
    return redirect(url_for("auth.login"))


def _wrong_code(pending: dict[str, Any], account: UserAccount, error: DomainError,
                page: Any = None) -> Any:
    tries = int(pending.get("tries", 0)) + 1
    security_event("second_factor_failed", account.username, tries=tries)
    if tries >= MAX_TRIES:
        return _start_again()
    session["pending"] = {**pending, "tries": tries}
    errors = {"code": [_translated(error)]}
    if page is not None:
        return page(errors)
    return render_template("auth/code.html", errors=errors), 401


def _enrolment_page(account: UserAccount, secret: str, errors: dict[str, list[str]],
                    status: int = 200) -> Any:
    network = current_application().network.name
    qr = segno.make(second_factor.provisioning_uri(secret, account.username, network),
                    error="m")
    page = render_template(
        "auth/enrol.html", errors=errors, signed_in=g.viewer is not None,
        qr=qr.svg_inline(scale=4, title=_("QR code for the authenticator app")),
        secret=" ".join(secret[i:i + 4] for i in range(0, len(secret), 4)))
    response = make_response(page, status)
    response.headers["Cache-Control"] = "no-store"  # the secret stays out of caches
    return response


def _recovery_codes_page(codes: list[str], onward: str) -> Any:
    """Shown once, in the answer to the form: only the codes' hashes are kept."""
    response = make_response(render_template("auth/recovery_codes.html", codes=codes,
                                              onward=onward))
    response.headers["Cache-Control"] = "no-store"
    return response


def _enrolment_secret(username: str, nonce: str) -> str:
    settings = current_app.extensions["fallnetz.settings"]
    seed = hmac.new(settings.derived_key("second factor setup"),
                    f"{username}:{nonce}".encode(), hashlib.sha256).digest()
    return base64.b32encode(seed[:20]).decode()


def _stamp_for(username: str) -> Stamp:
    """Who acts in a pending sign-in: the user, for their first organisation."""
    memberships = current_application().accounts.memberships(username)
    organisation_id: UUID | None = memberships[0][0].id if memberships else None
    role = memberships[0][1] if memberships else "caseworker"
    return Stamp(username, organisation_id, role, g.correlation_id)  # type: ignore[arg-type]


def _translated(error: DomainError) -> str:
    return translate(error.message)


def _now() -> datetime:
    return current_application().clock()
