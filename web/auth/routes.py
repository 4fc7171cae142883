"""Sign-in, organisation choice, sign-out, language and password."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from flask import (abort, current_app, flash, g, redirect, render_template, request, session,
                   url_for)
from flask_babel import gettext as _
from marshmallow import fields, validate

from domain.base import DomainError
from domain.second_factor import required as second_factor_required
from web.auth import (bp, end_session, home_for, local_path, login_required, second_factor,
                      sign_in, viewer)
from web.security_log import security_event
from web.application import current_application
from web.forms import FormError, FormSchema, load_form, text
from web.i18n import LANGUAGES


class LoginForm(FormSchema):
    username = text(max_length=63)
    password = text(max_length=1024, strip=False)
    next = text(required=False, max_length=2000)


class ChooseOrganisationForm(FormSchema):
    membership = text()


class LanguageForm(FormSchema):
    language = fields.String(required=True, validate=validate.OneOf(LANGUAGES))
    next = text(required=False, max_length=2000)


class PasswordForm(FormSchema):
    current_password = text(max_length=1024, strip=False)
    new_password = text(max_length=1024, strip=False)
    repeated_password = text(max_length=1024, strip=False)


@bp.route("/anmelden", methods=["GET", "POST"])
def login() -> Any:
    if g.system is None:  # the installation's start page: signing in for all its networks
        return _sign_in_for_networks()
    if request.method == "GET":
        if g.viewer is not None:
            return redirect(home_for(g.viewer.role, g.viewer.organisation_id))
        return render_template("auth/login.html", values={"next": request.args.get("next")},
                               errors={})
    try:
        data = load_form(LoginForm)
    except FormError as e:
        return render_template("auth/login.html", values=e.values, errors=e.errors), 422
    account = current_application().accounts.authenticate(data["username"], data["password"])
    memberships = current_application().accounts.memberships(account.username) if account else []
    if account is None or not memberships:
        security_event("sign_in_failed", data["username"][:80],
                       reason="password" if account is None else "no_membership")
        message = _("Username or password is wrong.") if account is None else _(
            "Your account belongs to no active organisation. Please ask your admin.")
        return render_template("auth/login.html", values={"username": data["username"],
                                                          "next": data.get("next")},
                               errors={"password": [message]}), 401
    if account.has_second_factor() or second_factor_required(r for _o, r in memberships):
        return second_factor.begin(account, local_path(data.get("next")))
    return redirect(second_factor.finish(account, data.get("next")))


def _sign_in_for_networks() -> Any:
    from web.networks import sign_in as sign_in_for_networks, start

    if request.method == "GET":
        return redirect(url_for("home"))
    try:
        data = load_form(LoginForm)
    except FormError as e:
        return start(e.values, e.errors), 422
    return sign_in_for_networks(data)


@bp.route("/organisation", methods=["GET", "POST"])
@login_required
def choose_organisation() -> Any:
    memberships = current_application().accounts.memberships(viewer().user)
    if request.method == "GET":
        return render_template("auth/organisation.html", memberships=memberships,
                               next=local_path(request.args.get("next")), errors={})
    try:
        data = load_form(ChooseOrganisationForm)
    except FormError as e:
        return render_template("auth/organisation.html", memberships=memberships,
                               next=None, errors=e.errors), 422
    for organisation, role in memberships:
        if f"{organisation.id}:{role}" == data["membership"]:
            sign_in(viewer().user, organisation.id, role, g.account.password_hash,
                    began=session["began"])
            flash(_("You now act for %(name)s.", name=organisation.name), "success")
            return redirect(home_for(role, organisation.id))
    return render_template("auth/organisation.html", memberships=memberships, next=None,
                           errors={"membership": [_("Please choose one of the options.")]}), 422


@bp.post("/abmelden")
def logout() -> Any:
    if g.viewer is not None:  # every copy of this session's cookie ends with it
        current_application().accounts.sign_out(viewer())
        security_event("signed_out", viewer().user)
    installation = current_app.extensions["fallnetz.installation"]
    if installation.several:  # (before the session goes: the start page's proof is in it)
        from web.networks import sign_out_everywhere

        sign_out_everywhere(g.system.application.network.slug if g.system else None)
    end_session()
    flash(_("You are signed out."), "success")
    response = redirect(url_for("auth.login"))
    if installation.several:
        # Signing out at a shared computer ends it all in this browser: the start page's
        # proof of the password (the installation's session) and the sessions of the
        # other networks signed in to from it.
        name = current_app.config["SESSION_COOKIE_NAME"]
        root = request.script_root.rsplit("/n/", 1)[0]
        response.delete_cookie(name, path=current_app.config["SESSION_COOKIE_PATH"] or "/")
        for entry in installation.entries():
            response.delete_cookie(f"{name}-{entry.slug}", path=f"{root}/n/{entry.slug}/")
    return response


@bp.post("/sprache")
def change_language() -> Any:
    try:
        data = load_form(LanguageForm)
    except FormError:
        abort(400)
    session["language"] = data["language"]
    return redirect(local_path(data.get("next")) or url_for("auth.login"))


@bp.route("/passwort", methods=["GET", "POST"])
@login_required
def change_password() -> Any:
    if request.method == "GET":
        return render_template("auth/password.html", values={}, errors={})
    try:
        data = load_form(PasswordForm)
        if (current_application().accounts.authenticate(viewer().user,
                                                        data["current_password"]) is None):
            raise FormError({"current_password": [_("The current password is wrong.")]}, {})
        if data["new_password"] != data["repeated_password"]:
            raise FormError({"repeated_password": [_("The two new passwords differ.")]}, {})
        current_application().accounts.set_password(viewer(), viewer().user, data["new_password"])
    except FormError as e:
        return render_template("auth/password.html", values={}, errors=e.errors), 422
    except DomainError as e:
        if e.field != "password":
            raise
        from web.i18n import translate
        return render_template("auth/password.html", values={},
                               errors={"new_password": [translate(e.message)]}), 422
    account = current_application().directory.user(viewer().user)
    assert account is not None
    sign_in(account.username, UUID(session["organisation_id"]), session["role"],
            account.password_hash)
    flash(_("Your password is changed."), "success")
    return redirect(home_for(viewer().role, viewer().organisation_id))
