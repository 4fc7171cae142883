"""What the network takes from other publishers' directories (Open Referral HSDS): how
their taxonomy terms and service areas map onto the network's needs, sectors and districts,
and a record of every organisation imported with the publisher's latest offer.

An offer that cannot be mapped yet stays in its record as *pending*: the coordinator sees
it with its reasons, and mapping a term later makes it a receiver without another import
(:mod:`domain.services.exchange`)."""

from __future__ import annotations

import hashlib
import json
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import event

from domain.base import DomainError, StampedAggregate, require_text
from domain.messages import _
from domain.organisation import KEY
from domain.stamp import Stamp
from domain.vocabulary import SECTORS


def term_key(taxonomy: str, code: str) -> str:
    """One name for a publisher's term: a code means something only within its taxonomy."""
    return f"{taxonomy}\x1f{code}"


def record_key(publisher: str, source_id: str) -> str:
    """One name for a publisher's organisation: an id means something only to its
    publisher."""
    return f"{publisher}\x1f{source_id}"


def seen_of(mapping: DirectoryMapping | None, kind: str, *names: str) -> str:
    """What one entry of the mapping says now, as a short fingerprint: a form carries the
    one its user saw, so a change of that entry meanwhile conflicts (and one of another
    entry does not)."""
    if mapping is None:
        value: Any = None
    elif kind == "term":
        value = mapping.term(*names)
    elif kind == "area":
        value = mapping.areas.get(names[0])
    else:
        value = mapping.sector_for(*names)
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:16]


class DirectoryMapping(StampedAggregate):
    """The network's translation of other publishers' vocabularies into its own."""

    @staticmethod
    def id_for(network: str) -> UUID:
        return uuid5(NAMESPACE_URL, f"fallnetz:directory-mapping:{network}")

    @event("Started")
    def __init__(self, id: UUID, by: Stamp) -> None:
        # term key → {"taxonomy", "code", "name", "needs", "sector"}
        self.terms: dict[str, dict[str, Any]] = {}
        # a publisher's service area (by name) → districts; [] is the whole network
        self.areas: dict[str, list[str]] = {}
        # publisher + organisation id → sector, for organisations no term places
        self.sectors: dict[str, str] = {}

    def map_term(self, taxonomy: str, code: str, name: str, needs: list[str],
                 sector: str | None, by: Stamp) -> None:
        """``needs`` empty and no sector: the term is known and means nothing here."""
        code = require_text(code, "code", _("The term's code"))
        if sector is not None and sector not in SECTORS:
            raise DomainError(_("Unknown sector {sector!r}.", sector=sector), field="sector")
        self._term_mapped(taxonomy=taxonomy or "", code=code, name=name or code,
                          needs=list(dict.fromkeys(needs)), sector=sector, by=by)

    def unmap_term(self, taxonomy: str, code: str, by: Stamp) -> None:
        if self.term(taxonomy, code) is None:
            raise DomainError(_("This term is not mapped."), field="code")
        self._term_unmapped(taxonomy=taxonomy, code=code, by=by)

    @event("TermUnmapped")
    def _term_unmapped(self, taxonomy: str, code: str, by: Stamp) -> None:
        del self.terms[term_key(taxonomy, code)]

    @event("TermMapped")
    def _term_mapped(self, taxonomy: str, code: str, name: str, needs: list[str],
                     sector: str | None, by: Stamp) -> None:
        self.terms[term_key(taxonomy, code)] = {"taxonomy": taxonomy, "code": code,
                                                "name": name, "needs": needs,
                                                "sector": sector}

    def map_area(self, area: str, districts: list[str], by: Stamp) -> None:
        """``area`` empty: the services that name no service area."""
        area = (area or "").strip()
        self._area_mapped(area=area, districts=list(dict.fromkeys(districts)), by=by)

    def unmap_area(self, area: str, by: Stamp) -> None:
        if area not in self.areas:
            raise DomainError(_("This service area is not mapped."), field="area")
        self._area_unmapped(area=area, by=by)

    @event("AreaUnmapped")
    def _area_unmapped(self, area: str, by: Stamp) -> None:
        del self.areas[area]

    @event("AreaMapped")
    def _area_mapped(self, area: str, districts: list[str], by: Stamp) -> None:
        self.areas[area] = districts

    def choose_sector(self, publisher: str, source_id: str, sector: str, by: Stamp) -> None:
        if sector not in SECTORS:
            raise DomainError(_("Unknown sector {sector!r}.", sector=sector), field="sector")
        self._sector_chosen(publisher=publisher, source_id=source_id, sector=sector, by=by)

    @event("SectorChosen")
    def _sector_chosen(self, publisher: str, source_id: str, sector: str, by: Stamp) -> None:
        self.sectors[record_key(publisher, source_id)] = sector

    def term(self, taxonomy: str, code: str) -> dict[str, Any] | None:
        return self.terms.get(term_key(taxonomy, code))

    def sector_for(self, publisher: str, source_id: str) -> str | None:
        return self.sectors.get(record_key(publisher, source_id))


class ImportedOrganisation(StampedAggregate):
    """One organisation of a publisher's directory as last offered, and the key of the
    organisation this record registered (``None`` while pending, or when the offer named
    one of the network's own keys)."""

    @staticmethod
    def id_for(network: str, publisher: str, source_id: str) -> UUID:
        return uuid5(NAMESPACE_URL, f"fallnetz:imported:{network}:{publisher}:{source_id}")

    @classmethod
    def record(cls, network: str, publisher: str, offer: dict[str, Any],
               by: Stamp) -> ImportedOrganisation:
        if not KEY.match(publisher or ""):
            raise DomainError(_("A publisher's name is 2–40 lower-case letters, digits or "
                                "'-'."), field="publisher")
        return cls(id=cls.id_for(network, publisher, offer["source_id"]), publisher=publisher,
                   source_id=offer["source_id"], offer=offer, by=by)

    @event("Imported")
    def __init__(self, id: UUID, publisher: str, source_id: str, offer: dict[str, Any],
                 by: Stamp) -> None:
        self.publisher = publisher
        self.source_id = source_id
        self.offer = offer
        self.key: str | None = None
        # who imported what the record holds now, and when
        self.offered_by, self.offered_on = by.user, self.created_on

    def offer_again(self, offer: dict[str, Any], by: Stamp) -> None:
        """A later import: recorded only when the publisher changed something."""
        if offer != self.offer:
            self._offer_changed(offer=offer, by=by)

    @event("OfferChanged")
    def _offer_changed(self, offer: dict[str, Any], by: Stamp) -> None:
        self.offer = offer
        self.offered_by, self.offered_on = by.user, self.modified_on

    def link(self, key: str, by: Stamp) -> None:
        if self.key != key:
            self._linked(key=key, by=by)

    @event("Linked")
    def _linked(self, key: str, by: Stamp) -> None:
        self.key = key
