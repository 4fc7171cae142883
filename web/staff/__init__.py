"""Staff management: the admins manage every organisation's members, a supervisor their own
organisation's caseworkers and supervisors (domain/services/staff.py) — add a member, change
a role, remove, disable and enable, and a one-time link with which the member sets their own
password. The link is shown once, to be handed over in person or by mail. Addresses carry
account ids, never usernames."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from domain.account import UserAccount
from domain.base import DomainError, NotFound
from domain.organisation import Organisation
from domain.stamp import Role
from web.application import current_application, current_settings
from web.auth import roles, viewer
from web.forms import CommandForm, FormError, FormSchema, load_form, new_key, text
from web.i18n import translate
from web.security_log import security_event

bp = Blueprint("staff", __name__)


class AddMemberForm(CommandForm):
    organisation_id = text(max_length=40)
    username = text(max_length=63)
    display_name = text(max_length=120)
    email = text(required=False, max_length=200)
    role = text(max_length=30)


class MemberForm(FormSchema):
    organisation_id = text(max_length=40)


class RoleForm(MemberForm):
    role = text(max_length=30)


class DisableForm(MemberForm):
    reason = text(max_length=500)


class PasswordByLinkForm(FormSchema):
    password = text(max_length=1024, strip=False)
    repeated_password = text(max_length=1024, strip=False)


def _organisation() -> Organisation:
    """The organisation whose staff is shown: the supervisor's own; for an admin the one
    chosen (by default their own)."""
    raw = request.values.get("organisation_id") or request.values.get("organisation") or ""
    wanted = viewer().organisation_id
    if viewer().role == Role.ADMIN and raw:
        try:
            wanted = UUID(raw)
        except ValueError:
            abort(404)
    if not current_application().staff.manages(viewer(), wanted):
        abort(403)
    organisation = current_application().find(Organisation, wanted)
    if organisation is None:
        abort(404)
    return organisation


def render_staff(organisation: Organisation, errors: dict[str, Any] | None = None,
                 values: dict[str, Any] | None = None, link: dict[str, str] | None = None,
                 status: int = 200) -> Any:
    application = current_application()
    members = []
    for username, role in sorted(organisation.members.items()):
        account = application.directory.user(username)
        if account is not None:
            members.append({"account": account, "role": role,
                            "managed": role in application.staff.roles_given_by(viewer())})
    organisations = sorted(application.organisations(), key=lambda o: o.name) \
        if viewer().role == Role.ADMIN else [organisation]
    values = {"idempotency_key": new_key(), **(values or {})}
    return render_template("staff/index.html", organisation=organisation, members=members,
                           organisations=organisations, errors=errors or {}, values=values,
                           roles=application.staff.roles_given_by(viewer()), link=link,
                           now=application.clock()), status


@bp.get("/personal")
@roles(Role.ADMIN, Role.SUPERVISOR)
def index() -> Any:
    return render_staff(_organisation())


@bp.post("/personal/mitglieder")
@roles(Role.ADMIN, Role.SUPERVISOR)
def add_member() -> Any:
    organisation = _organisation()
    staff = current_application().staff
    try:
        data = load_form(AddMemberForm)
        result = staff.add_member(viewer(), organisation.id, data["username"].lower(),
                                  data["display_name"], data["role"], data["email"] or None,
                                  idempotency_key=data["idempotency_key"])
        token = staff.issue_setup_link(viewer(), organisation.id, data["username"].lower()) \
            if result["new"] else None
    except FormError as e:
        return render_staff(organisation, {"add": e.errors}, e.values, status=422)
    except DomainError as e:
        field = e.field if e.field in ("username", "display_name", "email", "role") \
            else "username"
        return render_staff(organisation, {"add": {field: [translate(e.message)]}},
                            request.form.to_dict(), status=403 if _refused(e) else 422)
    security_event("member_added", viewer().user, member=data["username"].lower(),
                   role=data["role"], organisation=organisation.id.hex)
    flash(_("%(name)s is now a member.", name=data["display_name"]), "success")
    return render_staff(organisation, link=_link(data["display_name"], token) if token
                        else None)


def setup_link_url(token: str) -> str:
    """The one-time link at the installation's public address (never the host a request
    named: a forged Host header would send the link's owner elsewhere)."""
    base = current_settings().public_base_url.rstrip("/")
    return f"{base}/zugang/{token}"  # the route of set_password, also outside a request


def _refused(error: DomainError) -> bool:
    return getattr(error, "code", "") == "permission_denied"


def _link(name: str, token: str) -> dict[str, str]:
    return {"name": name, "url": setup_link_url(token)}


def _member(user_id: UUID, organisation: Organisation) -> UserAccount:
    account = current_application().find(UserAccount, user_id)
    if account is None or account.username not in organisation.members:
        abort(404)
    return account


def _member_command(user_id: UUID, form: type[FormSchema], command: Any,
                    done: str, event: str) -> Any:
    """Runs one of the member row's commands; the page again with the problem beside the
    member, or with ``done`` said."""
    organisation = _organisation()
    account = _member(user_id, organisation)
    try:
        data = load_form(form)
        result = command(organisation, account, data)
    except FormError as e:
        return render_staff(organisation, {account.id.hex: e.errors}, status=422)
    except NotFound:
        abort(404)
    except DomainError as e:
        return render_staff(organisation, {account.id.hex: {
            e.field or "member": [translate(e.message)]}}, status=403 if _refused(e) else 422)
    security_event(event, viewer().user, member=account.username,
                   organisation=organisation.id.hex)
    if isinstance(result, dict) and "link" in result:
        return render_staff(organisation, link=result["link"])
    flash(done % {"name": account.display_name}, "success")
    return redirect(url_for("staff.index", organisation=organisation.id.hex))


@bp.post("/personal/<uuid:user_id>/rolle")
@roles(Role.ADMIN, Role.SUPERVISOR)
def change_role(user_id: UUID) -> Any:
    return _member_command(user_id, RoleForm, lambda o, a, d: current_application().staff
                           .change_role(viewer(), o.id, a.username, d["role"]),
                           _("The role of %(name)s is changed."), "role_changed")


@bp.post("/personal/<uuid:user_id>/entfernen")
@roles(Role.ADMIN, Role.SUPERVISOR)
def remove(user_id: UUID) -> Any:
    return _member_command(user_id, MemberForm, lambda o, a, d: current_application().staff
                           .remove_member(viewer(), o.id, a.username),
                           _("%(name)s is no longer a member."), "member_removed")


@bp.post("/personal/<uuid:user_id>/sperren")
@roles(Role.ADMIN, Role.SUPERVISOR)
def disable(user_id: UUID) -> Any:
    return _member_command(user_id, DisableForm, lambda o, a, d: current_application().staff
                           .disable(viewer(), o.id, a.username, d["reason"]),
                           _("The account of %(name)s is disabled; its sessions have ended."),
                           "account_disabled")


@bp.post("/personal/<uuid:user_id>/entsperren")
@roles(Role.ADMIN, Role.SUPERVISOR)
def enable(user_id: UUID) -> Any:
    return _member_command(user_id, MemberForm, lambda o, a, d: current_application().staff
                           .enable(viewer(), o.id, a.username),
                           _("The account of %(name)s is enabled again."), "account_enabled")


@bp.post("/personal/<uuid:user_id>/zugangslink")
@roles(Role.ADMIN, Role.SUPERVISOR)
def new_link(user_id: UUID) -> Any:
    def issue(organisation: Organisation, account: UserAccount, _data: Any) -> Any:
        token = current_application().staff.issue_setup_link(viewer(), organisation.id,
                                                              account.username)
        return {"link": _link(account.display_name, token)}
    return _member_command(user_id, MemberForm, issue, "", "setup_link_issued")


@bp.route("/zugang/<token>", methods=["GET", "POST"])
def set_password(token: str) -> Any:
    """The one-time link: the member chooses their password, then signs in."""
    staff = current_application().staff
    try:
        account = staff.account_of_link(token)
    except NotFound:
        return render_template("staff/link.html", account=None, errors={}), 404
    if request.method == "GET":
        return render_template("staff/link.html", account=account, errors={})
    try:
        data = load_form(PasswordByLinkForm)
        if data["password"] != data["repeated_password"]:
            raise FormError({"repeated_password": [_("The two passwords differ.")]}, {})
        staff.set_password_by_link(token, data["password"])
    except FormError as e:
        return render_template("staff/link.html", account=account, errors=e.errors), 422
    except DomainError as e:
        return render_template("staff/link.html", account=account, errors={
            "password": [translate(e.message)]}), 422
    security_event("password_set_by_link", account.username)
    flash(_("Your password is set. Please sign in."), "success")
    return redirect(url_for("auth.login"))
