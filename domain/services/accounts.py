"""Sign-in: passwords (Argon2id hashes on the user's events) and the memberships a user can
act in."""

from __future__ import annotations

from typing import Any

from domain.account import UserAccount
from domain.base import DomainError, PermissionDenied
from domain.services.base import Service
from domain.messages import _
from domain.organisation import Organisation
from domain.passwords import MIN_LENGTH, check_password, hash_password, needs_rehash
from domain.stamp import Role, Stamp


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
        password_hash = account.password_hash if account is not None else None
        if not check_password(password_hash, password) or account is None:
            return None
        assert password_hash is not None
        if needs_rehash(password_hash):
            account.set_password_hash(hash_password(password),
                                      by=Stamp.system(f"rehash:{account.id}"))
            self.application.save(account)
        return account

    def memberships(self, username: str) -> list[tuple[Organisation, str]]:
        """The active organisations the user belongs to, with the role in each."""
        return sorted(((o, o.members[username]) for o in self.application.organisations()
                       if o.active and username in o.members),
                      key=lambda pair: pair[0].name)

    def require_member(self, by: Stamp) -> Organisation:
        """For reads: the acting user still belongs to the organisation in that role."""
        organisation = self.application.verify(by, tuple(r for r in Role if r != Role.SYSTEM))
        if organisation is None:
            raise PermissionDenied(_("Sign in with an organisation."))
        return organisation
