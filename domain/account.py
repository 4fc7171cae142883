"""UserAccount: a member of staff who logs in; memberships live on the organisations."""

from __future__ import annotations

import re
from datetime import datetime
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import event

from domain.base import MAIL_ADDRESS, DomainError, StampedAggregate, require_text
from domain.messages import _
from domain.stamp import Stamp

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,62}$")


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

    @classmethod
    def register(cls, username: str, display_name: str, by: Stamp,
                 email: str | None = None) -> UserAccount:
        if not USERNAME.match(username or ""):
            raise DomainError(_("A username is 2–63 lower-case letters, digits, '.', '_' or '-'."),
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

    def session_ended(self, began: datetime) -> bool:
        """Whether a session begun at ``began`` was ended by a sign-out since."""
        ended = getattr(self, "signed_out_at", None)  # accounts from before sign-outs
        return ended is not None and began <= ended
