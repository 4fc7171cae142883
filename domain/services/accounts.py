"""Sign-in: passwords (Argon2id hashes on the user's events) and the memberships a user can
act in."""

from __future__ import annotations

from typing import Any

from domain import second_factor
from domain.account import UserAccount
from domain.base import ConcurrentSave, DomainError, PermissionDenied
from domain.services.base import Service
from domain.messages import _
from domain.organisation import Organisation
from domain.passwords import MIN_LENGTH, check_password, hash_password, needs_rehash
from domain.stamp import STAFF_ROLES, Role, Stamp


def _wrong_code() -> str:
    return _("This code does not match. Please type the six digits the app shows now.")


class AccountService(Service):
    def set_password(self, by: Stamp, username: str, password: str,
                     idempotency_key: str | None = None) -> dict[str, Any]:
        """An admin (or the application, for the demo and the operators' CLI) sets a user's
        password; users change their own."""
        def decide() -> Any:
            if by.user != username:
                self.application.verify(by, (Role.ADMIN,))
            else:
                self.application.verify(by, tuple(Role))
            if len(password or "") < MIN_LENGTH:
                raise DomainError(_("A password has at least {min_length} characters.",
                                    min_length=MIN_LENGTH), field="password")
            account = self.application.load(UserAccount, UserAccount.id_for(username), what="user")
            account.set_password_hash(hash_password(password), by=by)
            return [account], {"user_id": account.id, "version": account.version}
        # The password never enters the idempotency fingerprint: only whose it is.
        return self.application.execute("set_password", by, decide,
                                        idempotency_key=idempotency_key,
                                        arguments={"username": username})

    def sign_out(self, by: Stamp) -> None:
        """Ends every session the user began before now (see UserAccount.sign_out)."""
        def decide() -> Any:
            account = self.application.load(UserAccount, UserAccount.id_for(by.user),
                                            what="account")
            account.sign_out(by=by)
            return [account], {}
        self.application.execute("sign_out", by, decide)

    def authenticate(self, username: str, password: str) -> UserAccount | None:
        """The account if the password matches; a hash made with weaker parameters than
        today's is replaced on the way."""
        account = (self.application.find(UserAccount,
                                         UserAccount.id_for(username)) if username else None)
        # A disabled account is checked against no hash: as slow, and never a match.
        password_hash = account.password_hash if account is not None and \
            not account.is_disabled() else None
        if not check_password(password_hash, password) or account is None:
            return None
        assert password_hash is not None
        if needs_rehash(password_hash):
            account.set_password_hash(hash_password(password),
                                      by=Stamp.system(f"rehash:{account.id}"))
            self.application.save(account)
        return account

    # The second factor (domain/second_factor.py). The codes are checked at the application's
    # clock, like every other moment of the product.
    def enrol_second_factor(self, by: Stamp, secret: str, code: str,
                            username: str | None = None) -> list[str]:
        """Sets up the authenticator app holding ``secret``, proven by one of its codes; the
        new recovery codes are returned once, to be shown once (only their hashes are kept).
        Users set up their own; only the application (the demo) sets up another's."""
        recovery_codes = second_factor.new_recovery_codes()

        def decide() -> Any:
            if username is not None and username != by.user:
                if by.role != Role.SYSTEM:
                    raise PermissionDenied(_("Only the user sets up their second factor."))
            self.application.verify(by, tuple(Role))
            account = self._account(username or by.user)
            step = second_factor.step_of(secret, code, self.application.clock())
            if step is None:
                raise DomainError(_wrong_code(), field="code")
            account.enrol_second_factor(secret, [second_factor.recovery_hash(c)
                                                 for c in recovery_codes], step, by=by)
            return [account], {}
        self.application.execute("enrol_second_factor", by, decide)
        return recovery_codes

    def confirm_second_factor(self, by: Stamp, code: str) -> bool:
        """A sign-in's second step, with a code of the app or one of the recovery codes.
        Returns whether it was a recovery code (the user is told how many are left)."""
        def decide() -> Any:
            account = self._account(by.user)
            if not account.has_second_factor():
                raise DomainError(_("No second factor is set up."), field="code")
            if second_factor.looks_like_recovery_code(code):
                account.use_recovery_code(second_factor.recovery_hash(code), by=by)
                return [account], {"recovery": True}
            step = second_factor.step_of(account.second_factor or "", code,
                                         self.application.clock())
            if step is None:
                raise DomainError(_wrong_code(), field="code")
            account.confirm_code(step, by=by)
            return [account], {"recovery": False}
        try:
            return bool(self.application.execute("confirm_second_factor", by, decide)[
                "recovery"])
        except ConcurrentSave:  # the same code sent twice at once: it counts once
            raise DomainError(_("This code was used already. Please wait for the next one."),
                              field="code") from None

    def renew_recovery_codes(self, by: Stamp, code: str) -> list[str]:
        """New recovery codes (the old ones end), with a current code of the app."""
        recovery_codes = second_factor.new_recovery_codes()

        def decide() -> Any:
            self.application.verify(by, tuple(Role))
            account = self._account(by.user)
            if not account.has_second_factor():
                raise DomainError(_("No second factor is set up."), field="code")
            step = second_factor.step_of(account.second_factor or "", code,
                                         self.application.clock())
            if step is None:
                raise DomainError(_wrong_code(), field="code")
            account.confirm_code(step, by=by)
            account.renew_recovery_codes([second_factor.recovery_hash(c)
                                          for c in recovery_codes], by=by)
            return [account], {}
        self.application.execute("renew_recovery_codes", by, decide)
        return recovery_codes

    def remove_second_factor(self, by: Stamp, username: str) -> None:
        """The admin removes a user's app (a lost phone); a user whose roles need none may
        give up their own."""
        def decide() -> Any:
            if by.user != username:
                self.application.verify(by, (Role.ADMIN,))
            else:
                self.application.verify(by, tuple(Role))
                if second_factor.required(role for _o, role in self.memberships(username)):
                    raise DomainError(_("Your role needs a second factor: set up a new app "
                                        "instead."), field="code")
            account = self._account(username)
            account.remove_second_factor(by=by)
            return [account], {}
        self.application.execute("remove_second_factor", by, decide,
                                 arguments={"username": username})

    def _account(self, username: str) -> UserAccount:
        return self.application.load(UserAccount, UserAccount.id_for(username), what="user")

    def memberships(self, username: str) -> list[tuple[Organisation, str]]:
        """The active organisations the user belongs to, with the role in each."""
        return sorted(((o, o.members[username]) for o in self.application.organisations()
                       if o.active and username in o.members),
                      key=lambda pair: pair[0].name)

    def require_member(self, by: Stamp) -> Organisation:
        """For reads: the acting user still belongs to the organisation in that role."""
        organisation = self.application.verify(by, STAFF_ROLES)
        if organisation is None:
            raise PermissionDenied(_("Sign in with an organisation."))
        return organisation
