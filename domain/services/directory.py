"""Directory commands: organisations, their services and capacities, users and members."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from domain.account import UserAccount
from domain.base import MAIL_ADDRESS, ConflictError, DomainError, PermissionDenied
from domain.services.base import arguments, DIRECTORY_ROLES, Service
from domain.messages import _
from domain.organisation import CONTACT_FIELDS, Organisation
from domain.stamp import Role, Stamp


def checked_contacts(contacts: list[dict[str, str]]) -> list[dict[str, str]]:
    """Each contact with a name, its texts stripped; an e-mail must be one."""
    checked = []
    for contact in contacts:
        unknown = sorted(set(contact) - set(CONTACT_FIELDS))
        if unknown:
            raise DomainError(_("A contact has no field {field!r}.", field=unknown[0]),
                              field="contacts")
        entry = {k: str(contact[k]).strip() for k in CONTACT_FIELDS
                 if str(contact.get(k) or "").strip()}
        if "name" not in entry:
            raise DomainError(_("{what} is required.", what=_("A contact's name")),
                              field="contacts")
        if "email" in entry and not MAIL_ADDRESS.match(entry["email"]):
            raise DomainError(_("This is not an e-mail address."), field="contacts")
        checked.append(entry)
    return checked


class DirectoryService(Service):
    def register_organisation(self, by: Stamp, key: str, name: str, sector: str,
                              inbox_address: str, contacts: list[dict[str, str]] | None = None,
                              idempotency_key: str | None = None) -> dict[str, Any]:
        def decide() -> Any:
            self.application.verify(by, DIRECTORY_ROLES)
            organisation_id = Organisation.id_for(self.application.network.slug, key)
            if self.application.find(Organisation, organisation_id) is not None:
                raise ConflictError(_("An organisation with the key {key!r} exists already.",
                                      key=key), field="key")
            organisation = Organisation.register(
                id=organisation_id, key=key, name=name, sector=sector,
                inbox_address=inbox_address, contacts=contacts, by=by)
            return [organisation], {"organisation_id": organisation.id, "version": 1}
        return self.application.execute("register_organisation", by, decide,
                            idempotency_key=idempotency_key,
                            arguments=arguments(locals()))

    def _directory_change(self, command: str, by: Stamp, organisation_id: UUID,
                          expected_version: int | None, change: Any,
                          idempotency_key: str | None, args: dict[str, Any], *,
                          own_supervisor: bool) -> dict:
        """Admins and coordinators keep the directory; an organisation's own supervisor may
        keep its services and capacities."""
        def decide() -> Any:
            actor_org = self.application.verify(by, (*DIRECTORY_ROLES, Role.SUPERVISOR))
            if by.role == Role.SUPERVISOR and not (
                    own_supervisor and actor_org is not None and actor_org.id == organisation_id):
                raise PermissionDenied(_("Supervisors keep only their own organisation's "
                                         "services."))
            organisation = self.application.load(Organisation, organisation_id, expected_version,
                                     "organisation")
            change(organisation)
            return [organisation], {"organisation_id": organisation.id,
                                    "version": organisation.version}
        return self.application.execute(command, by, decide, idempotency_key=idempotency_key,
                            arguments=args)

    def add_service(self, by: Stamp, organisation_id: UUID, service_id: str,
                    service: dict[str, Any], expected_version: int | None = None,
                    idempotency_key: str | None = None) -> dict[str, Any]:
        self.check_service_needs(service)
        return self._directory_change(
            "add_service", by, organisation_id, expected_version,
            lambda o: o.add_service(service_id, service, by=by), idempotency_key,
            own_supervisor=True,
            args=arguments(locals()))

    def change_service(self, by: Stamp, organisation_id: UUID, service_id: str,
                       service: dict[str, Any], expected_version: int | None = None,
                       idempotency_key: str | None = None) -> dict[str, Any]:
        self.check_service_needs(service)
        return self._directory_change(
            "change_service", by, organisation_id, expected_version,
            lambda o: o.change_service(service_id, service, by=by), idempotency_key,
            own_supervisor=True,
            args=arguments(locals()))

    def change_capacity(self, by: Stamp, organisation_id: UUID, service_id: str,
                        capacity: int, expected_version: int | None = None,
                        idempotency_key: str | None = None) -> dict[str, Any]:
        return self._directory_change(
            "change_capacity", by, organisation_id, expected_version,
            lambda o: o.change_capacity(service_id, capacity, by=by), idempotency_key,
            own_supervisor=True,
            args=arguments(locals()))

    def deactivate_organisation(self, by: Stamp, organisation_id: UUID, reason: str,
                                expected_version: int | None = None,
                                idempotency_key: str | None = None) -> dict[str, Any]:
        if by.organisation_id == organisation_id:
            # Nobody acting for it could reactivate it afterwards.
            raise DomainError(_("You cannot deactivate the organisation you act for."),
                              field="organisation_id")
        return self._directory_change(
            "deactivate_organisation", by, organisation_id, expected_version,
            lambda o: o.deactivate(reason, by=by), idempotency_key, own_supervisor=False,
            args=arguments(locals()))

    def reactivate_organisation(self, by: Stamp, organisation_id: UUID,
                                expected_version: int | None = None,
                                idempotency_key: str | None = None) -> dict[str, Any]:
        return self._directory_change(
            "reactivate_organisation", by, organisation_id, expected_version,
            lambda o: o.reactivate(by=by), idempotency_key, own_supervisor=False,
            args=arguments(locals()))

    def set_publication(self, by: Stamp, organisation_id: UUID, services: list[str] | None,
                        expected_version: int | None = None,
                        idempotency_key: str | None = None) -> dict[str, Any]:
        """Which services the public HSDS API serves; ``None``: the organisation is not
        public."""
        def change(organisation: Organisation) -> None:
            if services is None:
                organisation.withdraw(by=by)
            else:
                organisation.publish(services, by=by)
        return self._directory_change(
            "set_publication", by, organisation_id, expected_version, change,
            idempotency_key, own_supervisor=False, args=arguments(locals()))

    def change_contacts(self, by: Stamp, organisation_id: UUID,
                        contacts: list[dict[str, str]], expected_version: int | None = None,
                        idempotency_key: str | None = None) -> dict[str, Any]:
        """The organisation's contact persons (name, and title, phone, e-mail where known)."""
        checked = checked_contacts(contacts)
        return self._directory_change(
            "change_contacts", by, organisation_id, expected_version,
            lambda o: o.change_details(o.name, o.inbox_address, checked, by=by),
            idempotency_key, own_supervisor=False, args=arguments(locals()))

    def choose_public_contacts(self, by: Stamp, organisation_id: UUID, contacts: list[str],
                               expected_version: int | None = None,
                               idempotency_key: str | None = None) -> dict[str, Any]:
        """Which of its contacts (by :func:`~domain.organisation.contact_key`) the public
        Organigramm shows; the coordination office decides, as it keeps the directory."""
        return self._directory_change(
            "choose_public_contacts", by, organisation_id, expected_version,
            lambda o: o.choose_public_contacts(contacts, by=by), idempotency_key,
            own_supervisor=False, args=arguments(locals()))

    def check_service_needs(self, service: dict[str, Any]) -> None:
        for need in service.get("needs") or []:
            if not self.application.network.is_need(need):
                raise DomainError(_("Unknown need {need!r}.", need=need), field="needs")
        for district in service.get("districts") or []:
            if district not in self.application.network.districts:
                raise DomainError(_("Unknown district {district!r}.", district=district),
                                  field="districts")

    # -- users and members --------------------------------------------------------------------
    def register_user(self, by: Stamp, username: str, display_name: str,
                      email: str | None = None,
                      idempotency_key: str | None = None) -> dict[str, Any]:
        def decide() -> Any:
            self.application.verify(by, (Role.ADMIN,))
            if self.application.find(UserAccount, UserAccount.id_for(username)) is not None:
                raise ConflictError(_("The username {username!r} is taken.", username=username),
                                    field="username")
            account = UserAccount.register(username, display_name, by=by, email=email)
            return [account], {"user_id": account.id, "version": 1}
        return self.application.execute("register_user", by, decide,
                                        idempotency_key=idempotency_key,
                                        arguments=arguments(locals()))

    def add_member(self, by: Stamp, organisation_id: UUID, username: str, role: Role,
                   expected_version: int | None = None,
                   idempotency_key: str | None = None) -> dict[str, Any]:
        def decide() -> Any:
            self.application.verify(by, (Role.ADMIN,))
            if self.application.find(UserAccount, UserAccount.id_for(username)) is None:
                raise DomainError(_("There is no user {username!r}.", username=username),
                                  field="username")
            organisation = self.application.load(Organisation, organisation_id, expected_version,
                                     "organisation")
            organisation.add_member(username, role, by=by)
            return [organisation], {"organisation_id": organisation.id,
                                    "version": organisation.version}
        return self.application.execute("add_member", by, decide, idempotency_key=idempotency_key,
                            arguments=arguments(locals()))

    def remove_member(self, by: Stamp, organisation_id: UUID, username: str,
                      expected_version: int | None = None,
                      idempotency_key: str | None = None) -> dict[str, Any]:
        def decide() -> Any:
            self.application.verify(by, (Role.ADMIN,))
            organisation = self.application.load(Organisation, organisation_id, expected_version,
                                     "organisation")
            organisation.remove_member(username, by=by)
            return [organisation], {"organisation_id": organisation.id,
                                    "version": organisation.version}
        return self.application.execute("remove_member", by, decide,
                                        idempotency_key=idempotency_key,
                                        arguments=arguments(locals()))

    def user(self, username: str) -> UserAccount | None:
        """The account, for reading (every request's sign-in check asks): commands that
        change it load their own copy."""
        return self.application.find(UserAccount, UserAccount.id_for(username),
                                     read_only=True)
