"""The directory exchanged in Open Referral HSDS 3.0 (see :mod:`domain.exchange.hsds`).

An import reads every organisation of a publisher's document, records it (who imported
what, as the publisher said it) and maps it onto the network's terms
(:mod:`domain.exchange.resolution`): an organisation that maps is registered or brought up
to date with the services that map; what does not map yet is *pending*, kept with its
reasons and offered as a receiver once the coordinator maps it. Each organisation is saved
in one transaction with its record; what cannot be read is refused with JSON pointers and
stores nothing. A dry run decides everything and saves nothing.

Organisations the network registered itself (matched by our own key) keep their name,
sector and inbox: an import changes only their services."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from domain.base import ConflictError, DomainError
from domain.directory_import import DirectoryMapping, ImportedOrganisation, seen_of, \
    term_key
from domain.exchange.hsds import Unreadable, export_directory, organisations_in, read_offer
from domain.exchange.resolution import NO_AREA, Resolved, organisation_key, resolve
from domain.messages import Message, _
from domain.organisation import Organisation
from domain.services.base import DIRECTORY_ROLES, Service, arguments
from domain.stamp import Stamp

# What an import did with an organisation or a service; "ended": its publisher no longer
# offers a service this network had registered from it.
OUTCOMES = ("registered", "updated", "unchanged", "pending", "ended", "refused")


@dataclass
class ServiceOutcome:
    key: str
    name: str
    outcome: str
    missing: list[Message] = field(default_factory=list)


@dataclass
class OrganisationOutcome:
    index: int
    name: str
    outcome: str
    source_id: str = ""
    key: str | None = None
    missing: list[Message] = field(default_factory=list)
    errors: list[dict[str, str]] = field(default_factory=list)
    services: list[ServiceOutcome] = field(default_factory=list)


@dataclass
class ImportReport:
    publisher: str
    dry_run: bool
    organisations: list[OrganisationOutcome] = field(default_factory=list)
    # Imported from this publisher before, not in this document (a partial document is
    # fine: nothing happens to them, the coordinator is told).
    absent: list[str] = field(default_factory=list)

    def keys(self, outcome: str) -> list[str]:
        return [o.key or "" for o in self.organisations if o.outcome == outcome]

    @property
    def registered(self) -> list[str]:
        return self.keys("registered")

    @property
    def refused(self) -> list[OrganisationOutcome]:
        return [o for o in self.organisations if o.outcome == "refused"]

    def counts(self) -> dict[str, int]:
        return {outcome: sum(o.outcome == outcome for o in self.organisations)
                for outcome in OUTCOMES}

    def service_counts(self) -> dict[str, int]:
        return {outcome: sum(s.outcome == outcome for o in self.organisations
                             for s in o.services) for outcome in OUTCOMES}

    def as_dict(self) -> dict[str, Any]:
        return {"publisher": self.publisher, "dry_run": self.dry_run,
                "counts": self.counts(), "service_counts": self.service_counts(),
                "absent": self.absent,
                "organisations": [{
                    "index": o.index, "name": o.name, "source_id": o.source_id,
                    "key": o.key, "outcome": o.outcome, "missing": list(o.missing),
                    "errors": o.errors,
                    "services": [{"key": s.key, "name": s.name, "outcome": s.outcome,
                                  "missing": list(s.missing)} for s in o.services]}
                    for o in self.organisations]}


@dataclass
class PendingRecord:
    """An imported organisation with something the coordinator still has to map."""
    record: ImportedOrganisation
    resolved: Resolved


class ExchangeService(Service):
    def export_hsds(self) -> list[dict[str, Any]]:
        return export_directory(self.application.organisations())

    # -- import ------------------------------------------------------------------------------
    def import_hsds(self, by: Stamp, document: Any, publisher: str = "hsds",
                    dry_run: bool = False) -> ImportReport:
        self.application.verify(by, DIRECTORY_ROLES)
        report = ImportReport(publisher=publisher, dry_run=dry_run)
        try:
            offers = organisations_in(document)
        except Unreadable as e:
            report.organisations.append(OrganisationOutcome(-1, "", "refused", errors=e.errors))
            return report
        seen: set[str] = set()
        for index, offer in enumerate(offers):
            name = str(offer.get("name", "")) if isinstance(offer, dict) else ""
            try:
                if not isinstance(offer, dict):
                    raise Unreadable([{"pointer": f"#/{index}",
                                       "detail": _("An organization is a JSON object.")}])
                read = read_offer(offer, f"#/{index}")
                seen.add(read["source_id"])
                outcome = self._import_one(by, read, publisher, dry_run)
            except Unreadable as e:
                report.organisations.append(OrganisationOutcome(index, name, "refused",
                                                                errors=e.errors))
                continue
            except DomainError as e:
                report.organisations.append(OrganisationOutcome(
                    index, name, "refused", errors=[{"pointer": f"#/{index}",
                                                     "detail": e.message}]))
                continue
            outcome.index = index
            report.organisations.append(outcome)
        report.absent = sorted(r.offer["name"] for r in self.imported()
                               if r.publisher == publisher and r.source_id not in seen)
        return report

    def _import_one(self, by: Stamp, offer: dict[str, Any], publisher: str,
                    dry_run: bool) -> OrganisationOutcome:
        network = self.application.network.slug

        def decide() -> Any:
            record = self.application.find(
                ImportedOrganisation, ImportedOrganisation.id_for(network, publisher,
                                                                  offer["source_id"]))
            if record is None:
                record = ImportedOrganisation.record(network, publisher, offer, by)
            else:
                record.offer_again(offer, by)
            outcome, changed = self._apply(record, self.mapping(), by)
            return changed, outcome
        if dry_run:
            return self.application.execute("import_hsds", by, decide, dry_run=True)
        return self.application.execute_again_on_race(
            "import_hsds", by, decide, idempotency_key=None, arguments={},
            exhausted=_("The directory is changed by many at once. Please import again."))

    def _apply(self, record: ImportedOrganisation, mapping: DirectoryMapping | None,
               by: Stamp) -> tuple[OrganisationOutcome, list[Any]]:
        """The organisation of a record as it maps now: registered, brought up to date or
        pending; returns what changed, to be saved together."""
        offer = record.offer
        resolved = resolve(offer, mapping, self.application.network, record.publisher)
        key = offer["key"] or record.key
        organisation = self.application.organisation_by_key(key) if key else None
        outcome = OrganisationOutcome(-1, offer["name"], "updated",
                                      source_id=offer["source_id"], key=key)
        pending = [ServiceOutcome(p.key, p.name, "pending", p.missing)
                   for p in resolved.pending]
        inactive = {p.key: p for p in resolved.inactive}
        if organisation is None:
            if resolved.organisation is None:
                outcome.outcome, outcome.missing = "pending", resolved.missing
                outcome.services = [ServiceOutcome(key, service["name"], "pending", [_(
                    "waits for its organisation")]) for key, service in
                    sorted(resolved.services.items())] + pending + [
                    ServiceOutcome(p.key, p.name, "ended", p.missing)
                    for p in inactive.values()]
                return outcome, [record]
            key = key or self._free_key(record)
            organisation = Organisation.register(
                id=Organisation.id_for(self.application.network.slug, key), key=key,
                by=by, **resolved.organisation)
            record.link(key, by)
            outcome.outcome, outcome.key = "registered", key
        elif record.key == key and resolved.organisation is not None:
            # Registered by this record: the publisher keeps its name, inbox and contacts.
            details = resolved.organisation
            organisation.change_details(details["name"], details["inbox_address"],
                                        details["contacts"], by)
        elif offer["key"] and (organisation.name != offer["name"] or offer["email"] not in (
                None, organisation.inbox_address)):
            raise DomainError(_("{organisation} is registered with another name or inbox; an "
                                "import changes only its services.",
                                organisation=organisation.name), field="name")
        for service_key, service in sorted(resolved.services.items()):
            for need in service["needs"]:
                self.application.check_need(need)
            known = organisation.services.get(service_key)
            if known is None:
                organisation.add_service(service_key, service, by=by)
                state = "registered"
            else:
                if service["capacity"] is None:  # the publisher does not keep capacities
                    service = {**service, "capacity": known["capacity"]}
                state = "unchanged" if known == service else "updated"
                if state == "updated":
                    organisation.change_service(service_key, service, by=by)
            outcome.services.append(ServiceOutcome(service_key, service["name"], state))
        if record.key == key:  # what this record registered and its publisher withdrew
            for service_key in sorted(set(organisation.offered_services())
                                      - set(resolved.services)):
                organisation.end_service(service_key, by=by)
                reasons = next((p.missing for p in pending if p.key == service_key),
                               inactive[service_key].missing if service_key in inactive
                               else [_("the publisher no longer lists it")])
                pending = [p for p in pending if p.key != service_key]
                inactive.pop(service_key, None)
                outcome.services.append(ServiceOutcome(
                    service_key, organisation.services[service_key]["name"], "ended",
                    reasons))
        for service_key, listed in sorted(inactive.items()):  # not offered before either
            state = "unchanged" if service_key in organisation.services else "ended"
            outcome.services.append(ServiceOutcome(service_key, listed.name, state,
                                                   listed.missing))
        outcome.services += pending
        if outcome.outcome == "updated" and not organisation.pending_events:
            outcome.outcome = "unchanged"
        return outcome, [record, organisation]

    def _free_key(self, record: ImportedOrganisation) -> str:
        for attempt in range(20):
            key = organisation_key(record.offer["name"], record.publisher, record.source_id,
                                   attempt)
            if self.application.organisation_by_key(key) is None:
                return key
        raise DomainError(_("No free key for {name}.", name=record.offer["name"]),
                          field="name")

    # -- the mapping -------------------------------------------------------------------------
    def mapping(self) -> DirectoryMapping | None:
        return self.application.find(DirectoryMapping,
                                     DirectoryMapping.id_for(self.application.network.slug))

    def imported(self) -> list[ImportedOrganisation]:
        return [self.application.repository.get(i)
                for i in self.application.created_ids(ImportedOrganisation.Imported)]

    def pending(self, records: list[ImportedOrganisation] | None = None
                ) -> list[PendingRecord]:
        """Every imported organisation (of ``records``, else all) with something not mapped
        yet, by name."""
        mapping = self.mapping()
        found = []
        for record in self.imported() if records is None else records:
            resolved = resolve(record.offer, mapping, self.application.network,
                               record.publisher)
            if resolved.missing or resolved.pending:
                found.append(PendingRecord(record, resolved))
        return sorted(found, key=lambda p: p.record.offer["name"].casefold())

    def known_terms(self) -> dict[str, dict[str, str]]:
        """Every taxonomy term an imported organisation or service names, by term key."""
        found: dict[str, dict[str, str]] = {}
        for record in self.imported():
            offer = record.offer
            for term in offer["terms"] + [t for s in offer["services"] for t in s["terms"]]:
                found.setdefault(term_key(term["taxonomy"], term["code"]), term)
        return found

    def known_areas(self) -> set[str]:
        return {NO_AREA} | {area for record in self.imported()
                            for s in record.offer["services"] for area in s["areas"]}

    def map_term(self, by: Stamp, taxonomy: str, code: str, needs: list[str],
                 sector: str | None, seen: str | None = None,
                 idempotency_key: str | None = None, name: str | None = None,
                 known_only: bool = True) -> dict[str, Any]:
        """``needs`` empty and no sector: the term means nothing here. ``known_only``: the
        term must be one an import brought (its name comes from there)."""
        for need in needs:
            self.application.check_need(need)
        if known_only:
            term = self.known_terms().get(term_key(taxonomy, code))
            if term is None:
                raise DomainError(_("No imported organisation names this term."),
                                  field="code")
            name = term["name"]
        return self._remap("map_term", by, lambda m: m.map_term(
            taxonomy, code, name or code, needs, sector, by=by),
            ("term", taxonomy, code, seen), idempotency_key, arguments(locals()))

    def unmap_term(self, by: Stamp, taxonomy: str, code: str, seen: str | None = None,
                   idempotency_key: str | None = None) -> dict[str, Any]:
        return self._remap("unmap_term", by, lambda m: m.unmap_term(taxonomy, code, by=by),
                           ("term", taxonomy, code, seen), idempotency_key,
                           arguments(locals()))

    def map_area(self, by: Stamp, area: str, districts: list[str], seen: str | None = None,
                 idempotency_key: str | None = None,
                 known_only: bool = True) -> dict[str, Any]:
        for district in districts:
            self.application.check_district(district)
        if known_only and area not in self.known_areas():
            raise DomainError(_("No imported service names this service area."),
                              field="area")
        return self._remap("map_area", by, lambda m: m.map_area(area, districts, by=by),
                           ("area", area, seen), idempotency_key, arguments(locals()))

    def unmap_area(self, by: Stamp, area: str, seen: str | None = None,
                   idempotency_key: str | None = None) -> dict[str, Any]:
        return self._remap("unmap_area", by, lambda m: m.unmap_area(area, by=by),
                           ("area", area, seen), idempotency_key, arguments(locals()))

    def choose_sector(self, by: Stamp, publisher: str, source_id: str, sector: str,
                      seen: str | None = None,
                      idempotency_key: str | None = None) -> dict[str, Any]:
        return self._remap("choose_sector", by, lambda m: m.choose_sector(
            publisher, source_id, sector, by=by), ("sector", publisher, source_id, seen),
            idempotency_key, arguments(locals()))

    def apply_mapping(self, by: Stamp, terms: list[dict[str, Any]], areas: list[dict[str, Any]],
                      sectors: list[dict[str, str]]) -> dict[str, Any]:
        """A whole mapping (a file's) in one transaction: all of it or, when one entry is
        refused, none."""
        for term in terms:
            for need in term["needs"]:
                self.application.check_need(need)
        for area in areas:
            for district in area["districts"]:
                self.application.check_district(district)

        def change(mapping: DirectoryMapping) -> None:
            for term in terms:
                mapping.map_term(term["taxonomy"], term["code"], term["name"], term["needs"],
                                 term["sector"], by=by)
            for area in areas:
                mapping.map_area(area["name"], area["districts"], by=by)
            for chosen in sectors:
                mapping.choose_sector(chosen["publisher"], chosen["source_id"],
                                      chosen["sector"], by=by)
        return self._remap("apply_mapping", by, change, None, None, {})

    def _remap(self, command: str, by: Stamp, change: Any, entry: tuple[Any, ...] | None,
               idempotency_key: str | None, args: dict[str, Any]) -> dict[str, Any]:
        """Changes the mapping and, in the same transaction, brings every imported
        organisation whose mapping this changes up to date (registered, its services added
        or ended): no import needs repeating, and the others are left as they are.
        ``entry`` names the entry changed and what the user saw of it (its
        :func:`~domain.directory_import.seen_of`); another user's change of that entry
        meanwhile is a conflict, one of another entry is not."""
        network = self.application.network

        def decide() -> Any:
            self.application.verify(by, DIRECTORY_ROLES)
            mapping = self.mapping()
            if entry is not None and entry[-1] is not None and \
                    seen_of(mapping, *entry[:-1]) != entry[-1]:
                raise ConflictError(_("Someone changed the mapping meanwhile. Please look "
                                      "at it again."))
            records = self.imported()
            before = {r.id: resolve(r.offer, mapping, network, r.publisher) for r in records}
            mapping = mapping or DirectoryMapping(id=DirectoryMapping.id_for(network.slug),
                                                  by=by)
            change(mapping)
            changed: dict[Any, Any] = {mapping.id: mapping}
            offered: dict[Any, set[str]] = {}
            now: dict[Any, Any] = {}
            for record in records:
                if resolve(record.offer, mapping, network, record.publisher) == \
                        before[record.id]:
                    continue
                key = record.offer["key"] or record.key
                existing = self.application.organisation_by_key(key) if key else None
                if existing is not None:
                    offered.setdefault(existing.id, set(existing.offered_services()))
                try:
                    _outcome, touched = self._apply(record, mapping, by)
                except DomainError:
                    continue  # reported by the next import of that organisation
                changed.update((a.id, a) for a in touched if a.pending_events)
                now.update((a.id, a) for a in touched if isinstance(a, Organisation))
            made = [s for oid, o in now.items()
                    for s in set(o.offered_services()) - offered.get(oid, set())]
            ended = [s for oid, o in now.items()
                     for s in offered.get(oid, set()) - set(o.offered_services())]
            return list(changed.values()), {"services": made, "ended": ended}
        # Each organisation loaded once, so two records of one organisation add up.
        with self.application.one_load_each():
            return self.application.execute(command, by, decide,
                                            idempotency_key=idempotency_key, arguments=args)
