"""An imported offer (:func:`domain.exchange.hsds.read_offer`) in the network's own terms:
the organisation and the services that can be offered as receivers, and for everything
else the reasons it is pending. A pure function of the offer, the network's mapping and its
configuration, so the coordinator's page and the import always agree."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from domain.directory_import import DirectoryMapping
from domain.messages import Message, _
from domain.network import NetworkConfig
from domain.organisation import KEY
from domain.vocabulary import LEGAL_SPHERES, SECTORS


@dataclass
class PendingService:
    key: str
    name: str
    missing: list[Message]


@dataclass
class Resolved:
    organisation: dict[str, Any] | None  # name, sector, inbox_address, contacts
    missing: list[Message]               # why the organisation itself is pending
    services: dict[str, dict[str, Any]] = field(default_factory=dict)
    pending: list[PendingService] = field(default_factory=list)
    # services the publisher lists as not active: not offered, nothing to map
    inactive: list[PendingService] = field(default_factory=list)
    unmapped_terms: list[dict[str, str]] = field(default_factory=list)
    unmapped_areas: list[str] = field(default_factory=list)


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def slug(text: str) -> str:
    for umlaut, spelled in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss")):
        text = text.lower().replace(umlaut, spelled)
    ascii_text = unicodedata.normalize("NFKD", text).encode(
        "ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def organisation_key(name: str, publisher: str, source_id: str, attempt: int = 0) -> str:
    """A readable key for an organisation the publisher names without ours: its name, and
    a digest of the publisher's id so two of the same name stay apart."""
    digest = _digest(publisher, source_id, str(attempt))[:6]
    return f"{(slug(name)[:30].strip('-') or 'org')}-{digest}"


def service_key(publisher: str, source_id: str) -> str:
    """The publisher's own id where it is a valid key (a UUID is), else a digest of it: a
    service keeps its key when the publisher renames it."""
    lowered = source_id.lower()
    return lowered if KEY.match(lowered) else "s-" + _digest(publisher, source_id)[:16]


# The service area a service that names none is mapped under: a publisher's service without
# one may serve anywhere or nowhere here, so the coordinator says which.
NO_AREA = ""


def resolve(offer: dict[str, Any], mapping: DirectoryMapping | None, network: NetworkConfig,
            publisher: str) -> Resolved:
    areas = mapping.areas if mapping is not None else {}
    resolved = Resolved(organisation=None, missing=[])

    def mapped(term: dict[str, str]) -> dict[str, Any] | None:
        found = mapping.term(term["taxonomy"], term["code"]) if mapping is not None else None
        if found is None and term not in resolved.unmapped_terms:
            resolved.unmapped_terms.append(term)
        return found

    taken: set[str] = set()
    for service in offer["services"]:
        _resolve_service(service, mapped, areas, network, publisher, resolved, taken)
    sector = offer.get("sector") or (mapping.sector_for(publisher, offer["source_id"])
                                     if mapping is not None else None)
    if sector is None:
        terms = offer["terms"] + [t for s in offer["services"] for t in s["terms"]]
        sector = next((found["sector"] for term in terms
                       if (found := mapped(term)) is not None and found["sector"]), None)
    if sector is None:
        resolved.missing.append(_("no sector: map one of its terms to a sector, or choose "
                                  "its sector"))
    elif sector not in SECTORS:
        resolved.missing.append(_("unknown sector {sector!r}", sector=sector))
    # The organisation's address or a service's: a contact person's is not an inbox.
    inbox = offer.get("email") or next(
        (s["email"] for s in offer["services"] if s.get("email")), None)
    if inbox is None:
        resolved.missing.append(_("no e-mail address for its inbox"))
    if not resolved.missing:
        resolved.organisation = {"name": offer["name"], "sector": sector,
                                 "inbox_address": inbox, "contacts": offer["contacts"]}
    return resolved


def _resolve_service(service: dict[str, Any], mapped: Any, areas: dict[str, list[str]],
                     network: NetworkConfig, publisher: str, resolved: Resolved,
                     taken: set[str]) -> None:
    key = service["key"] or service_key(publisher, service["source_id"])
    if key in taken:  # ids that differ only in case: both stay
        key = "s-" + _digest(publisher, service["source_id"])[:16]
    taken.add(key)
    if service.get("status", "active") != "active":
        resolved.inactive.append(PendingService(key, service["name"], [_(
            "the publisher lists it as {status!r}", status=service["status"])]))
        return
    missing: list[Message] = []
    needs = list(service["needs"])
    for need in needs:
        if not network.is_need(need):
            missing.append(_("unknown need {need!r}", need=need))
    for term in service["terms"]:
        found = mapped(term)
        if found is not None:
            needs.extend(n for n in found["needs"] if n not in needs)
    if not needs:
        missing.append(_("none of its taxonomy terms is mapped to a need ({terms})",
                         terms=", ".join(t["code"] for t in service["terms"]))
                       if service["terms"] else
                       _("it names no taxonomy term to map to a need"))
    for sphere in service["legal_spheres"]:
        if sphere not in LEGAL_SPHERES:
            missing.append(_("unknown legal sphere {legal_sphere!r}", legal_sphere=sphere))
    # Our own export names no area for a service of the whole network; another
    # publisher's service without one waits for the coordinator's word.
    named = service["areas"] or ([] if service["key"] else [NO_AREA])
    districts: list[str] = []
    whole_network = not named
    for area in named:
        if area in network.districts:
            districts.append(area)
        elif area in areas:
            whole_network = whole_network or not areas[area]
            districts.extend(areas[area])
        else:
            missing.append(_("it names no service area: map it to districts") if area == NO_AREA
                           else _("the service area {area!r} is not mapped to a district",
                                  area=area))
            if area not in resolved.unmapped_areas:
                resolved.unmapped_areas.append(area)
    if missing:
        resolved.pending.append(PendingService(key, service["name"], missing))
        return
    resolved.services[key] = {
        "name": service["name"], "needs": needs, "legal_spheres": service["legal_spheres"],
        "districts": [] if whole_network else list(dict.fromkeys(districts)),
        "languages": service["languages"], "capacity": service["capacity"]}
