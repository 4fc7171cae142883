"""Staff: who works in which organisation, in which role. Admins manage every organisation's
members; a supervisor manages their own organisation's caseworkers and supervisors. A new
member sets their own password with a one-time link (first sign-in, and every reset):
nobody types a password for someone else. Every change is an event."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from domain.account import UserAccount
from domain.base import DomainError, NotFound, PermissionDenied
from domain.messages import _
from domain.organisation import Organisation
from domain.passwords import MIN_LENGTH, hash_password
from domain.services.base import Service, arguments
from domain.stamp import Role, Stamp

# What a supervisor may give in their own organisation; admins give every member role.
SUPERVISOR_GIVES = (Role.CASEWORKER, Role.SUPERVISOR)
LINK_DAYS = 7


def link_hash(secret: str) -> str:
    return hashlib.sha256(f"fallnetz-setup-link:{secret}".encode()).hexdigest()


class StaffService(Service):
    def manages(self, by: Stamp, organisation_id: UUID) -> bool:
        """Whether ``by`` manages the members of that organisation."""
        return by.role in (Role.ADMIN, Role.SYSTEM) or (
            by.role == Role.SUPERVISOR and by.organisation_id == organisation_id)

    def roles_given_by(self, by: Stamp) -> tuple[Role, ...]:
        if by.role in (Role.ADMIN, Role.SYSTEM):
            return (Role.CASEWORKER, Role.SUPERVISOR, Role.COORDINATOR, Role.ADMIN,
                    Role.DATA_PROTECTION)
        return SUPERVISOR_GIVES if by.role == Role.SUPERVISOR else ()

    def _allowed(self, by: Stamp, organisation_id: UUID, role: str | None = None) -> None:
        self.application.verify(by, (Role.ADMIN, Role.SUPERVISOR))
        if not self.manages(by, organisation_id):
            raise PermissionDenied(_("Only the admins and the organisation's supervisors "
                                     "manage its staff."))
        if role is not None and role not in self.roles_given_by(by):
            raise PermissionDenied(_("The role {role} is given by an admin.", role=role))

    def add_member(self, by: Stamp, organisation_id: UUID, username: str, display_name: str,
                   role: str, email: str | None = None,
                   idempotency_key: str | None = None) -> dict[str, Any]:
        """A member of staff for the organisation: a new account (username, name, e-mail),
        or an existing one (another organisation's member) in one more organisation."""
        def decide() -> Any:
            self._allowed(by, organisation_id, role)
            organisation = self.application.load(Organisation, organisation_id,
                                                 what="organisation")
            account = self.application.find(UserAccount, UserAccount.id_for(username))
            changed: list[Any] = []
            if account is None:
                account = UserAccount.register(username, display_name, by=by, email=email)
                changed.append(account)
            elif not self._is_admin(by):
                # An account of someone else (another organisation's member) is brought in
                # by an admin only: a supervisor who could add it could then reset its
                # password or disable it.
                raise DomainError(_("This username is taken. An admin adds someone who "
                                    "has an account already."), field="username")
            elif username in organisation.members:
                raise DomainError(_("{user} is a member of {organisation} already.",
                                    user=username, organisation=organisation.name),
                                  field="username")
            organisation.add_member(username, Role(role), by=by)
            return [*changed, organisation], {"user_id": account.id, "new": bool(changed)}
        return self.application.execute("add_staff_member", by, decide,
                                        idempotency_key=idempotency_key,
                                        arguments=arguments(locals()))

    def change_role(self, by: Stamp, organisation_id: UUID, username: str, role: str,
                    expected_version: int | None = None) -> dict[str, Any]:
        def decide() -> Any:
            self._allowed(by, organisation_id, role)
            organisation = self.application.load(Organisation, organisation_id,
                                                 expected_version, "organisation")
            self._their_role_is_managed(by, organisation, username)
            organisation.add_member(username, Role(role), by=by)
            return [organisation], {"version": organisation.version}
        return self.application.execute("change_role", by, decide)

    def remove_member(self, by: Stamp, organisation_id: UUID, username: str) -> dict[str, Any]:
        def decide() -> Any:
            self._allowed(by, organisation_id)
            organisation = self.application.load(Organisation, organisation_id,
                                                 what="organisation")
            self._their_role_is_managed(by, organisation, username)
            if username == by.user:
                raise DomainError(_("You cannot remove yourself."), field="username")
            organisation.remove_member(username, by=by)
            return [organisation], {"version": organisation.version}
        return self.application.execute("remove_staff_member", by, decide)

    def disable(self, by: Stamp, organisation_id: UUID, username: str,
                reason: str) -> dict[str, Any]:
        """Nobody signs in as the account any more, in any organisation; its sessions end."""
        def decide() -> Any:
            self._allowed(by, organisation_id)
            organisation = self.application.load(Organisation, organisation_id,
                                                 what="organisation")
            self._their_role_is_managed(by, organisation, username)
            self._controls_account(by, username)
            if username == by.user:
                raise DomainError(_("You cannot disable yourself."), field="username")
            account = self._account(username)
            account.disable(reason, by=by)
            return [account], {}
        return self.application.execute("disable_account", by, decide)

    def enable(self, by: Stamp, organisation_id: UUID, username: str) -> dict[str, Any]:
        def decide() -> Any:
            self._allowed(by, organisation_id)
            organisation = self.application.load(Organisation, organisation_id,
                                                 what="organisation")
            self._their_role_is_managed(by, organisation, username)
            self._controls_account(by, username)
            account = self._account(username)
            account.enable(by=by)
            return [account], {}
        return self.application.execute("enable_account", by, decide)

    def issue_setup_link(self, by: Stamp, organisation_id: UUID, username: str) -> str:
        """A new one-time link's token for the user to set their password (7 days); the
        token is returned once and only its hash is kept."""
        secret = secrets.token_urlsafe(24)

        def decide() -> Any:
            self._allowed(by, organisation_id)
            organisation = self.application.load(Organisation, organisation_id,
                                                 what="organisation")
            self._their_role_is_managed(by, organisation, username)
            self._controls_account(by, username)
            account = self._account(username)
            account.issue_setup_link(link_hash(secret),
                                     self.application.clock() + timedelta(days=LINK_DAYS),
                                     by=by)
            return [account], {}
        self.application.execute("issue_setup_link", by, decide)
        return f"{UserAccount.id_for(username).hex}.{secret}"

    def account_of_link(self, token: str) -> UserAccount:
        account_id, _sep, secret = (token or "").partition(".")
        try:
            account = self.application.find(UserAccount, UUID(hex=account_id))
        except ValueError:
            account = None
        link = getattr(account, "setup_link", None) if account is not None else None
        if account is None or link is None or account.is_disabled() or \
                not hmac.compare_digest(link["hash"], link_hash(secret)) or \
                datetime.fromisoformat(link["expires_at"]) < self.application.clock():
            raise NotFound(_("This link is not valid (any more). Please ask for a new one."))
        return account

    def set_password_by_link(self, token: str, password: str) -> str:
        """Sets the password the user chose; the link is used up. Returns the username."""
        if len(password or "") < MIN_LENGTH:
            raise DomainError(_("A password has at least {min_length} characters.",
                                min_length=MIN_LENGTH), field="password")
        account = self.account_of_link(token)
        secret = token.partition(".")[2]
        by = Stamp.system(f"setup-link:{account.id}")

        def decide() -> Any:
            fresh = self._account(account.username)
            fresh.set_password_by_link(link_hash(secret), hash_password(password),
                                       self.application.clock(), by=by)
            return [fresh], {}
        self.application.execute("set_password_by_link", by, decide)
        return account.username

    def _is_admin(self, by: Stamp) -> bool:
        return by.role in (Role.ADMIN, Role.SYSTEM)

    def _controls_account(self, by: Stamp, username: str) -> None:
        """A link, disabling, enabling act on the account everywhere: a supervisor only for
        an account that is a member of their own organisation alone, in a role they give."""
        if self._is_admin(by):
            return
        for organisation in self.application.organisations():  # inactive ones too
            role = organisation.members.get(username)
            if role is None:
                continue
            if organisation.id != by.organisation_id or role not in SUPERVISOR_GIVES:
                raise PermissionDenied(_("This account is also a member elsewhere; an "
                                         "admin manages it."))

    def _their_role_is_managed(self, by: Stamp, organisation: Organisation,
                               username: str) -> None:
        role = organisation.members.get(username)
        if role is None:
            raise NotFound(_("{user} is not a member of {organisation}.", user=username,
                             organisation=organisation.name))
        if role not in self.roles_given_by(by):
            raise PermissionDenied(_("The role {role} is managed by an admin.", role=role))

    def _account(self, username: str) -> UserAccount:
        return self.application.load(UserAccount, UserAccount.id_for(username), what="user")
