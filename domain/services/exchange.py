"""The directory exchanged in Open Referral HSDS 3.0 (see :mod:`domain.exchange.hsds`).

An import registers the organisations the store lacks and adds or changes the services of
those it has, each organisation in one transaction; whatever cannot be read or is refused
by a rule is reported with its reasons and stores nothing of that organisation. Names,
sectors and inboxes of organisations already registered are not changed by an import."""

from __future__ import annotations

from typing import Any

from domain.base import DomainError
from domain.services.base import DIRECTORY_ROLES, Service
from domain.exchange.hsds import ImportReport, OrganisationOffer, Rejection, Unreadable, \
    export_directory, read_organisation
from domain.messages import _
from domain.organisation import Organisation
from domain.stamp import Stamp


class ExchangeService(Service):
    def export_hsds(self) -> list[dict[str, Any]]:
        return export_directory(self.application.organisations())

    def import_hsds(self, by: Stamp, document: Any) -> ImportReport:
        self.application.verify(by, DIRECTORY_ROLES)
        report = ImportReport()
        if not isinstance(document, list):
            report.rejected.append(Rejection(-1, "", [{
                "pointer": "#", "detail": _("An HSDS import is a list of organizations.")}]))
            return report
        for index, offer in enumerate(document):
            name = str(offer.get("name", "")) if isinstance(offer, dict) else ""
            try:
                if not isinstance(offer, dict):
                    raise Unreadable([{"pointer": f"#/{index}",
                                       "detail": _("An organization is a JSON object.")}])
                ours = read_organisation(offer, f"#/{index}")
                outcome = self._import_one(by, ours)
            except Unreadable as e:
                report.rejected.append(Rejection(index, name, e.errors))
                continue
            except DomainError as e:
                pointer = f"#/{index}/{e.field}" if e.field else f"#/{index}"
                report.rejected.append(Rejection(index, name, [{"pointer": pointer,
                                                                "detail": e.message}]))
                continue
            getattr(report, outcome).append(ours.key)
        return report

    def _import_one(self, by: Stamp, offer: OrganisationOffer) -> str:
        """Saves one organisation's changes atomically; says which list it belongs to."""
        for service in offer.services.values():
            self.application.directory.check_service_needs(service)
        organisation = self.application.organisation_by_key(offer.key)
        outcome = "updated"
        if organisation is None:
            organisation = Organisation.register(
                id=Organisation.id_for(self.application.network.slug, offer.key), key=offer.key,
                name=offer.name, sector=offer.sector, inbox_address=offer.inbox_address,
                contacts=offer.contacts, by=by)
            outcome = "registered"
        elif (organisation.name, organisation.sector, organisation.inbox_address) != (
                offer.name, offer.sector, offer.inbox_address):
            raise DomainError(_("{organisation} is registered with another name, sector or "
                                "inbox; an import changes only services.",
                                organisation=organisation.name), field="name")
        for key, service in sorted(offer.services.items()):
            if key not in organisation.services:
                organisation.add_service(key, service, by=by)
            elif organisation.services[key] != service:
                organisation.change_service(key, service, by=by)
        if outcome == "updated" and not organisation.pending_events:
            return "unchanged"
        self.application.save(organisation)
        return outcome
