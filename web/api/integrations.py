"""An organisation's API tokens and webhook subscriptions, kept by its supervisors. A token's
or webhook's secret is shown once, when it is made."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from flask import current_app, g
from flask_babel import gettext as _
from marshmallow import fields, validate

from domain.organisation import TOKEN_SCOPES
from domain.services.integrations import SUPERVISOR_GIVES
from domain.stamp import Role
from web.api.common import ApiSchema, Stop, api_blueprint, idempotency_key, problems, \
    requires
from web.api.problems import problem
from web.application import current_application
from web.visible import organisation
from web.security_log import security_event

bp = api_blueprint("integrations", "API tokens and webhooks of an organisation.")
KEEPERS = (Role.SUPERVISOR,)


class TokenSchema(ApiSchema):
    token_id = fields.String()
    name = fields.String()
    role = fields.String()
    scopes = fields.List(fields.String())
    revoked = fields.Boolean()
    expires_on = fields.Date(metadata={"description": "Refused from the day after"})


class IssueTokenSchema(ApiSchema):
    name = fields.String(required=True, validate=validate.Regexp(r"^[a-z0-9][a-z0-9-]{1,39}$"))
    role = fields.String(required=True, validate=validate.OneOf(
        [r.value for r in SUPERVISOR_GIVES]))
    scopes = fields.List(fields.String(validate=validate.OneOf(TOKEN_SCOPES)), required=True,
                         validate=validate.Length(min=1))
    expires_on = fields.Date(metadata={"description": "The last day it is accepted; at most "
                                                      "two years ahead, by default one"})


class IssuedTokenSchema(ApiSchema):
    token_id = fields.String()
    name = fields.String()
    expires_on = fields.Date()
    token = fields.String(metadata={"description": "Shown only now: send it as "
                                                   "Authorization: Bearer <token>"})


class WebhookSchema(ApiSchema):
    webhook_id = fields.String()
    url = fields.String()


class SubscribeSchema(ApiSchema):
    url = fields.String(required=True, validate=[
        validate.Length(max=2000), validate.Regexp(r"^https?://[A-Za-z0-9.-]+(:[0-9]+)?(/\S*)?$")])


class SubscribedSchema(ApiSchema):
    webhook_id = fields.String()
    url = fields.String()
    secret = fields.String(metadata={"description": "Shown only now: the Standard Webhooks "
                                                    "signing secret (whsec_...)"})


PROBLEMS = ((403, "Not the organisation's supervisor"),
            (404, "No such organisation"), (422, "Refused by a rule; nothing was stored"))


_problems = problems(bp, *PROBLEMS)


@bp.get("/organisations/<uuid:organisation_id>/tokens")
@bp.response(200, TokenSchema(many=True))
@_problems
@requires("integrations:write", KEEPERS)
def tokens(organisation_id: UUID) -> Any:
    """The organisation's API tokens (never their secrets)."""
    found = organisation(organisation_id)
    current_application().integrations.require_keeper(g.viewer, found.id)
    return [{"token_id": token_id, **{k: t[k] for k in ("name", "role", "scopes", "revoked",
                                                         "expires_on")}}
            for token_id, t in found.api_tokens.items()]


@bp.post("/organisations/<uuid:organisation_id>/tokens")
@bp.arguments(IssueTokenSchema)
@bp.response(201, IssuedTokenSchema)
@_problems
@requires("integrations:write", KEEPERS)
def issue_token(body: dict[str, Any], organisation_id: UUID) -> Any:
    """Issues a token acting for the organisation in a role, limited to scopes."""
    organisation(organisation_id)
    issued = current_application().integrations.issue_api_token(
        g.viewer, organisation_id, body["name"], Role(body["role"]), body["scopes"],
        expires_on=body.get("expires_on"))
    security_event("token_issued", g.viewer.user, token=issued["name"],
                   organisation=str(organisation_id))
    return issued


@bp.delete("/organisations/<uuid:organisation_id>/tokens/<string:token_id>")
@bp.response(204)
@_problems
@requires("integrations:write", KEEPERS)
def revoke_token(organisation_id: UUID, token_id: str) -> Any:
    """Revokes a token: it is refused from the next request on."""
    organisation(organisation_id)
    current_application().integrations.revoke_api_token(g.viewer, organisation_id, token_id,
                              idempotency_key=idempotency_key())
    security_event("token_revoked", g.viewer.user, token_id=token_id,
                   organisation=str(organisation_id))
    return None


@bp.get("/organisations/<uuid:organisation_id>/webhooks")
@bp.response(200, WebhookSchema(many=True))
@_problems
@requires("integrations:write", KEEPERS)
def webhooks(organisation_id: UUID) -> Any:
    """The organisation's webhook subscriptions (never their secrets)."""
    found = organisation(organisation_id)
    current_application().integrations.require_keeper(g.viewer, found.id)
    return [{"webhook_id": webhook_id, "url": w["url"]}
            for webhook_id, w in found.webhooks.items()]


@bp.post("/organisations/<uuid:organisation_id>/webhooks")
@bp.arguments(SubscribeSchema)
@bp.response(201, SubscribedSchema)
@_problems
@requires("integrations:write", KEEPERS)
def subscribe(body: dict[str, Any], organisation_id: UUID) -> Any:
    """Subscribes an address to the status changes of the organisation's referrals (sent or
    received). Each change is POSTed once, signed after Standard Webhooks, retried with
    backoff while the address does not answer 2xx."""
    organisation(organisation_id)
    current_application().integrations.require_keeper(g.viewer, organisation_id)
    settings = current_app.extensions["fallnetz.settings"]
    if body["url"].startswith("http://") and not settings.webhook_allow_http:
        raise Stop(problem(422, _("Webhooks go to https addresses only."),
                           code="insecure_webhook",
                           errors=[{"pointer": "#/url",
                                    "detail": _("Webhooks go to https addresses only.")}]))
    return current_application().integrations.subscribe_webhook(g.viewer, organisation_id,
                                                                body["url"])


@bp.delete("/organisations/<uuid:organisation_id>/webhooks/<string:webhook_id>")
@bp.response(204)
@_problems
@requires("integrations:write", KEEPERS)
def unsubscribe(organisation_id: UUID, webhook_id: str) -> Any:
    """Ends a subscription; deliveries still pending for it are dropped."""
    organisation(organisation_id)
    current_application().integrations.remove_webhook(g.viewer, organisation_id, webhook_id,
                            idempotency_key=idempotency_key())
    return None
