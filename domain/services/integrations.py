"""Other systems of the network: API tokens (per organisation, scoped, revocable) and webhook
subscriptions for referral status changes.

An organisation's supervisors keep its own tokens and webhooks, and may give a token no more
than their own role (caseworker or supervisor). Tokens in other roles (coordinator, admin)
are issued by operators on the command line. Admins see no case content (DESIGN §8), so
they neither mint tokens that could nor receive other organisations' webhooks."""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from uuid import UUID

from domain.base import PermissionDenied
from domain.services.base import arguments, Service
from domain.messages import _
from domain.organisation import DEFAULT_TOKEN_DAYS, TOKEN_PRINCIPAL, Organisation
from domain.stamp import Role, Stamp

TOKEN_PREFIX = "fnz"
SUPERVISOR_GIVES = (Role.CASEWORKER, Role.SUPERVISOR)


@dataclass(frozen=True)
class ApiIdentity:
    """Who a valid token acts as."""
    organisation: Organisation
    token_id: str
    name: str
    role: str
    scopes: tuple[str, ...]

    def stamp(self, correlation_id: str) -> Stamp:
        return Stamp(f"{TOKEN_PRINCIPAL}{self.name}", self.organisation.id, self.role,
                     correlation_id)


def token_text(organisation_id: UUID, token_id: str, secret: str) -> str:
    return f"{TOKEN_PREFIX}_{organisation_id.hex}_{token_id}_{secret}"


class IntegrationService(Service):
    def require_keeper(self, by: Stamp, organisation_id: UUID) -> None:
        keeper = self.application.verify(by, (Role.SUPERVISOR,))
        if by.is_engine:
            return
        if keeper is None or keeper.id != organisation_id:
            raise PermissionDenied(_("Supervisors keep only their own organisation's tokens "
                                     "and webhooks."))

    def issue_api_token(self, by: Stamp, organisation_id: UUID, name: str, role: Role,
                        scopes: list[str], expires_on: date | None = None) -> dict[str, Any]:
        """Returns the token text once; only its digest is kept. It expires on
        ``expires_on`` (by default in a year)."""
        secret = secrets.token_urlsafe(32)
        token_id = secrets.token_hex(6)
        expires = expires_on or self.application.today() + timedelta(days=DEFAULT_TOKEN_DAYS)

        def decide() -> Any:
            if by.user.startswith(TOKEN_PRINCIPAL):
                # A token that made tokens would live on in them after its revocation.
                raise PermissionDenied(_("A token cannot issue tokens; a supervisor signed "
                                         "in does."))
            self.require_keeper(by, organisation_id)
            if not by.is_engine and Role(role) not in SUPERVISOR_GIVES:
                raise PermissionDenied(_("A supervisor gives a token the role caseworker or "
                                         "supervisor; other roles are issued by the "
                                         "operators."))
            organisation = self.application.load(Organisation, organisation_id,
                                                 what="organisation")
            organisation.issue_token(token_id, name, role, list(scopes), secret, expires,
                                     self.application.today(), by=by)
            return [organisation], {"token_id": token_id, "name": name, "expires_on": expires,
                                    "token": token_text(organisation.id, token_id, secret)}
        return self.application.execute("issue_api_token", by, decide)

    def revoke_api_token(self, by: Stamp, organisation_id: UUID, token_id: str,
                         idempotency_key: str | None = None) -> dict[str, Any]:
        def decide() -> Any:
            self.require_keeper(by, organisation_id)
            organisation = self.application.load(Organisation, organisation_id,
                                                 what="organisation")
            organisation.revoke_token(token_id, by=by)
            return [organisation], {"token_id": token_id, "version": organisation.version}
        return self.application.execute("revoke_api_token", by, decide,
                                        idempotency_key=idempotency_key,
                                        arguments=arguments(locals()))

    def identify_token(self, text: str) -> ApiIdentity | None:
        """The identity of a presented token, or None for anything not an active token."""
        prefix, _sep, rest = (text or "").partition("_")
        parts = rest.split("_", 2)
        if prefix != TOKEN_PREFIX or len(parts) != 3:
            return None
        organisation_hex, token_id, secret = parts
        try:
            organisation_id = UUID(hex=organisation_hex)
        except ValueError:
            return None
        organisation = self.application.find(Organisation, organisation_id)
        token = (organisation.token_matching(token_id, secret, self.application.today())
                 if organisation else None)
        if organisation is None or token is None:
            return None
        return ApiIdentity(organisation, token_id, token["name"], token["role"],
                           tuple(token["scopes"]))

    def subscribe_webhook(self, by: Stamp, organisation_id: UUID, url: str,
                          ) -> dict[str, Any]:
        """Returns the signing secret once (Standard Webhooks' ``whsec_`` form)."""
        secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
        webhook_id = secrets.token_hex(6)

        def decide() -> Any:
            self.require_keeper(by, organisation_id)
            organisation = self.application.load(Organisation, organisation_id,
                                                 what="organisation")
            organisation.subscribe_webhook(webhook_id, url, secret, by=by)
            return [organisation], {"webhook_id": webhook_id, "url": url, "secret": secret}
        return self.application.execute("subscribe_webhook", by, decide)

    def remove_webhook(self, by: Stamp, organisation_id: UUID, webhook_id: str,
                       idempotency_key: str | None = None) -> dict[str, Any]:
        def decide() -> Any:
            self.require_keeper(by, organisation_id)
            organisation = self.application.load(Organisation, organisation_id,
                                                 what="organisation")
            organisation.remove_webhook(webhook_id, by=by)
            return [organisation], {"webhook_id": webhook_id, "version": organisation.version}
        return self.application.execute("remove_webhook", by, decide,
                                        idempotency_key=idempotency_key,
                                        arguments=arguments(locals()))
