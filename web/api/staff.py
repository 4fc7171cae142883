"""An organisation's members of staff through the API (the same rules as the web's staff
page, domain/services/staff.py): admins for every organisation, a supervisor for their own
caseworkers and supervisors. A new member's one-time link is answered once."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from flask import g
from marshmallow import fields, validate

from domain.account import UserAccount
from domain.base import NotFound
from domain.stamp import Role
from web.api.common import ApiSchema, api_blueprint, problems, requires
from web.application import current_application
from web.staff import setup_link_url
from web.security_log import security_event
from web.visible import organisation

bp = api_blueprint("staff", "Members of staff of an organisation.")
MANAGERS = (Role.ADMIN, Role.SUPERVISOR)
ROLES = [r.value for r in (Role.CASEWORKER, Role.SUPERVISOR, Role.COORDINATOR, Role.ADMIN,
                           Role.DATA_PROTECTION)]


class StaffMemberSchema(ApiSchema):
    user_id = fields.UUID()
    username = fields.String()
    display_name = fields.String()
    role = fields.String()
    disabled = fields.Boolean()


class AddStaffMemberSchema(ApiSchema):
    username = fields.String(required=True, validate=validate.Length(min=2, max=63))
    display_name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    email = fields.Email(load_default=None)
    role = fields.String(required=True, validate=validate.OneOf(ROLES))


class MemberRoleSchema(ApiSchema):
    role = fields.String(required=True, validate=validate.OneOf(ROLES))


class DisableMemberSchema(ApiSchema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))


class NoFieldsSchema(ApiSchema):
    """A command without fields: its body is {} (anything else is refused)."""


class SetupLinkSchema(ApiSchema):
    user_id = fields.UUID()
    setup_link = fields.String(allow_none=True, metadata={
        "description": "Shown only now: the address where the member sets their own "
                       "password, once, within 7 days"})


_problems = problems(bp, (403, "Not an admin, nor a supervisor of the organisation"),
                     (404, "No such organisation or member"),
                     (422, "Refused by a rule; nothing was stored"))


def _member(organisation_id: UUID, user_id: UUID) -> UserAccount:
    found = organisation(organisation_id)
    account = current_application().find(UserAccount, user_id)
    if account is None or account.username not in found.members:
        raise NotFound("No such member.")
    return account


def _link(token: str) -> str:
    return setup_link_url(token)


@bp.get("/organisations/<uuid:organisation_id>/members")
@bp.response(200, StaffMemberSchema(many=True))
@_problems
@requires("staff:write", MANAGERS)
def members(organisation_id: UUID) -> Any:
    """The organisation's members with their roles."""
    found = organisation(organisation_id)
    if not current_application().staff.manages(g.viewer, found.id):
        return _refused()
    rows = []
    for username, role in sorted(found.members.items()):
        account = current_application().directory.user(username)
        if account is not None:
            rows.append({"user_id": account.id, "username": username, "role": role,
                         "display_name": account.display_name,
                         "disabled": account.is_disabled()})
    return rows


@bp.post("/organisations/<uuid:organisation_id>/members")
@bp.arguments(AddStaffMemberSchema)
@bp.response(201, SetupLinkSchema)
@_problems
@requires("staff:write", MANAGERS)
def add_member(body: dict[str, Any], organisation_id: UUID) -> Any:
    """Adds a member; a new account's one-time link is in the answer."""
    organisation(organisation_id)
    staff = current_application().staff
    username = body["username"].lower()
    result = staff.add_member(g.viewer, organisation_id, username, body["display_name"],
                              body["role"], body.get("email"))
    token = staff.issue_setup_link(g.viewer, organisation_id, username) if result["new"] \
        else None
    security_event("member_added", g.viewer.user, member=username, role=body["role"],
                   organisation=organisation_id.hex)
    return {"user_id": result["user_id"], "setup_link": _link(token) if token else None}


@bp.patch("/organisations/<uuid:organisation_id>/members/<uuid:user_id>")
@bp.arguments(MemberRoleSchema)
@bp.response(204)
@_problems
@requires("staff:write", MANAGERS)
def change_role(body: dict[str, Any], organisation_id: UUID, user_id: UUID) -> Any:
    account = _member(organisation_id, user_id)
    current_application().staff.change_role(g.viewer, organisation_id, account.username,
                                            body["role"])
    security_event("role_changed", g.viewer.user, member=account.username)


@bp.delete("/organisations/<uuid:organisation_id>/members/<uuid:user_id>")
@bp.response(204)
@_problems
@requires("staff:write", MANAGERS)
def remove_member(organisation_id: UUID, user_id: UUID) -> Any:
    account = _member(organisation_id, user_id)
    current_application().staff.remove_member(g.viewer, organisation_id, account.username)
    security_event("member_removed", g.viewer.user, member=account.username)


@bp.post("/organisations/<uuid:organisation_id>/members/<uuid:user_id>/setup-link")
@bp.arguments(NoFieldsSchema)
@bp.response(201, SetupLinkSchema)
@_problems
@requires("staff:write", MANAGERS)
def new_setup_link(_body: dict[str, Any], organisation_id: UUID, user_id: UUID) -> Any:
    """A new one-time link (a password reset); an older one ends."""
    account = _member(organisation_id, user_id)
    token = current_application().staff.issue_setup_link(g.viewer, organisation_id,
                                                         account.username)
    security_event("setup_link_issued", g.viewer.user, member=account.username)
    return {"user_id": account.id, "setup_link": _link(token)}


@bp.post("/organisations/<uuid:organisation_id>/members/<uuid:user_id>/disable")
@bp.arguments(DisableMemberSchema)
@bp.response(204)
@_problems
@requires("staff:write", MANAGERS)
def disable(body: dict[str, Any], organisation_id: UUID, user_id: UUID) -> Any:
    """Nobody signs in as the account any more; its sessions end at once."""
    account = _member(organisation_id, user_id)
    current_application().staff.disable(g.viewer, organisation_id, account.username,
                                        body["reason"])
    security_event("account_disabled", g.viewer.user, member=account.username)


@bp.post("/organisations/<uuid:organisation_id>/members/<uuid:user_id>/enable")
@bp.arguments(NoFieldsSchema)
@bp.response(204)
@_problems
@requires("staff:write", MANAGERS)
def enable(_body: dict[str, Any], organisation_id: UUID, user_id: UUID) -> Any:
    account = _member(organisation_id, user_id)
    current_application().staff.enable(g.viewer, organisation_id, account.username)
    security_event("account_enabled", g.viewer.user, member=account.username)


def _refused() -> Any:
    from flask_babel import gettext as _

    from web.api.problems import problem
    return problem(403, _("You may not see or change this."), code="permission_denied")
