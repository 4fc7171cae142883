"""UserAccount: a member of staff who logs in; memberships live on the organisations."""

from __future__ import annotations

import hmac
import re
from datetime import datetime
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import event

from domain.base import MAIL_ADDRESS, DomainError, StampedAggregate, require_text
from domain.messages import _
from domain.stamp import Stamp

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,62}$")
# The names the events give the application itself and the person on their own page.
RESERVED_USERNAMES = ("system", "person")


class UserAccount(StampedAggregate):
    @staticmethod
    def id_for(username: str) -> UUID:
        # The id derives from the username, so a second registration of a name conflicts.
        return uuid5(NAMESPACE_URL, f"fallnetz:user:{username}")

    @event("Registered")
    def __init__(self, id: UUID, username: str, display_name: str, by: Stamp,
                 email: str | None = None) -> None:  # e-mail came later: old events lack it
        self.username = username
        self.display_name = display_name
        self.email = email
        self.password_hash: str | None = None
        self.signed_out_at: datetime | None = None
        self.disabled = False
        self.setup_link: dict[str, str] | None = None  # {"hash", "expires_at"} while open
        self.second_factor: str | None = None  # the TOTP secret, when one is set up
        self.recovery_hashes: tuple[str, ...] = ()
        self.last_code_step = 0

    @classmethod
    def register(cls, username: str, display_name: str, by: Stamp,
                 email: str | None = None) -> UserAccount:
        if not USERNAME.match(username or ""):
            raise DomainError(_("A username is 2–63 lower-case letters, digits, '.', '_' or '-'."),
                              field="username")
        if username in RESERVED_USERNAMES:
            raise DomainError(_("This username is reserved; please choose another."),
                              field="username")
        display = require_text(display_name, "display_name", _("A display name"))
        if email is not None and not MAIL_ADDRESS.match(email):
            raise DomainError(_("This is not an e-mail address."), field="email")
        return cls(id=cls.id_for(username), username=username, display_name=display,
                   email=email, by=by)

    def rename(self, display_name: str, by: Stamp) -> None:
        self._renamed(display_name=require_text(display_name, "display_name",
                                                _("A display name")), by=by)

    @event("Renamed")
    def _renamed(self, display_name: str, by: Stamp) -> None:
        self.display_name = display_name

    def set_password_hash(self, password_hash: str, by: Stamp) -> None:
        self._password_changed(password_hash=password_hash, by=by)

    @event("PasswordChanged")
    def _password_changed(self, password_hash: str, by: Stamp) -> None:
        self.password_hash = password_hash

    def sign_out(self, by: Stamp) -> None:
        """Ends every session of the account begun before now: a copy of the cookie (from
        a shared computer, a proxy's log) signs nobody in afterwards."""
        self._signed_out(by=by)

    @event("SignedOut")
    def _signed_out(self, by: Stamp) -> None:
        self.signed_out_at = self.modified_on

    # The second factor (domain/second_factor.py). Accounts from before it lack the attributes.
    def has_second_factor(self) -> bool:
        return getattr(self, "second_factor", None) is not None

    def enrol_second_factor(self, secret: str, recovery_hashes: list[str], step: int,
                            by: Stamp) -> None:
        """A new authenticator app (and new recovery codes), confirmed with its first code:
        the previous app and codes stop working."""
        self._second_factor_enrolled(secret=secret, recovery_hashes=list(recovery_hashes),
                                     step=step, by=by)

    @event("SecondFactorEnrolled")
    def _second_factor_enrolled(self, secret: str, recovery_hashes: list[str], step: int,
                                by: Stamp) -> None:
        self.second_factor = secret
        self.recovery_hashes = tuple(recovery_hashes)
        self.last_code_step = step

    def confirm_code(self, step: int, by: Stamp) -> None:
        """A sign-in confirmed with the code of ``step``. A code counts once (RFC 6238 §5.2):
        one seen by someone over the shoulder, or in a phished form, is spent already."""
        if not self.has_second_factor():
            raise DomainError(_("No second factor is set up."), field="code")
        if step <= self.last_code_step:
            raise DomainError(_("This code was used already. Please wait for the next one."),
                              field="code")
        self._code_confirmed(step=step, by=by)

    @event("CodeConfirmed")
    def _code_confirmed(self, step: int, by: Stamp) -> None:
        self.last_code_step = step

    def use_recovery_code(self, recovery_hash: str, by: Stamp) -> None:
        if recovery_hash not in getattr(self, "recovery_hashes", ()):
            raise DomainError(_("This recovery code is not valid (or was used already)."),
                              field="code")
        self._recovery_code_used(recovery_hash=recovery_hash, by=by)

    @event("RecoveryCodeUsed")
    def _recovery_code_used(self, recovery_hash: str, by: Stamp) -> None:
        self.recovery_hashes = tuple(h for h in self.recovery_hashes if h != recovery_hash)

    def renew_recovery_codes(self, recovery_hashes: list[str], by: Stamp) -> None:
        if not self.has_second_factor():
            raise DomainError(_("No second factor is set up."), field="code")
        self._recovery_codes_renewed(recovery_hashes=list(recovery_hashes), by=by)

    @event("RecoveryCodesRenewed")
    def _recovery_codes_renewed(self, recovery_hashes: list[str], by: Stamp) -> None:
        self.recovery_hashes = tuple(recovery_hashes)

    def remove_second_factor(self, by: Stamp) -> None:
        """The app is gone (a lost phone: the admin removes it, which ends every session
        begun before; the user sets up a new one at the next sign-in), or a user who needs
        none gives it up."""
        if not self.has_second_factor():
            raise DomainError(_("No second factor is set up."), field="code")
        self._second_factor_removed(by=by)

    @event("SecondFactorRemoved")
    def _second_factor_removed(self, by: Stamp) -> None:
        self.second_factor = None
        self.recovery_hashes = ()
        if by.user != self.username:  # taken away by the admin: whoever holds it is out
            self.signed_out_at = self.modified_on

    def session_ended(self, began: datetime) -> bool:
        """Whether a session begun at ``began`` was ended by a sign-out since, or the account
        is disabled."""
        if self.is_disabled():
            return True
        ended = getattr(self, "signed_out_at", None)  # accounts from before sign-outs
        return ended is not None and began <= ended

    # -- disabling, and the one-time link to set a password ---------------------------------
    def is_disabled(self) -> bool:
        return bool(getattr(self, "disabled", False))  # accounts from before disabling

    def disable(self, reason: str, by: Stamp) -> None:
        """Nobody signs in as this account any more; its sessions end at once."""
        if self.is_disabled():
            raise DomainError(_("This account is disabled already."), field="username")
        self._disabled(reason=require_text(reason, "reason", _("A reason")), by=by)

    @event("Disabled")
    def _disabled(self, reason: str, by: Stamp) -> None:
        self.disabled = True
        self.setup_link = None
        self.signed_out_at = self.modified_on

    def enable(self, by: Stamp) -> None:
        if not self.is_disabled():
            raise DomainError(_("This account is not disabled."), field="username")
        self._enabled(by=by)

    @event("Enabled")
    def _enabled(self, by: Stamp) -> None:
        self.disabled = False

    def issue_setup_link(self, secret_hash: str, expires_at: datetime, by: Stamp) -> None:
        """A link with which the user sets their own password (first sign-in, or a reset):
        nobody else ever types or knows it. Only the newest link works; it works once."""
        if self.is_disabled():
            raise DomainError(_("This account is disabled."), field="username")
        self._setup_link_issued(secret_hash=secret_hash, expires_at=expires_at.isoformat(),
                                by=by)

    @event("SetupLinkIssued")
    def _setup_link_issued(self, secret_hash: str, expires_at: str, by: Stamp) -> None:
        self.setup_link = {"hash": secret_hash, "expires_at": expires_at}

    def set_password_by_link(self, secret_hash: str, password_hash: str, now: datetime,
                             by: Stamp) -> None:
        link = getattr(self, "setup_link", None)
        if (link is None or not hmac.compare_digest(link["hash"], secret_hash)
                or datetime.fromisoformat(link["expires_at"]) < now or self.is_disabled()):
            raise DomainError(_("This link is not valid (any more). Please ask for a new "
                                "one."), field="token")
        self._password_set_by_link(password_hash=password_hash, by=by)

    @event("PasswordSetByLink")
    def _password_set_by_link(self, password_hash: str, by: Stamp) -> None:
        self.password_hash = password_hash
        self.setup_link = None
