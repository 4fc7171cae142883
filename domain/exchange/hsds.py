"""The directory in Open Referral HSDS 3.0: export, and import with a report of what was
rejected and why.

The document is a list of HSDS ``organization`` objects, each fully nested with its
``services`` as the HSDS API's ``/organizations/{id}`` returns them. Every organisation
validates against ``organization.json`` and every service against ``service.json`` (the
schemas of the standard, kept unchanged in ``hsds_3_0/``).

What HSDS has no field for travels in its own classification mechanism, ``attributes``
linking a taxonomy term (our documented extensions, so the export stays schema-valid):

========================  ============  ====================================  ============
taxonomy                  link_type     on                                    value
========================  ============  ====================================  ============
urn:fallnetz:sector       sector        organization                          –
urn:fallnetz:need         need          service (one per need offered)        –
urn:fallnetz:legal-sphere legal_sphere  service (one per legal sphere)        –
urn:fallnetz:capacity     capacity      service                               whole number
urn:fallnetz:service-key  service_key   service                               our key
========================  ============  ====================================  ============

The organisation's key is an ``organization_identifiers`` entry (type ``fallnetz-key``), its
inbox the ``email``, districts served are ``service_areas`` and languages ``languages``.
Ids are derived from our keys (UUID 5), so an export imported into an empty store exports
again identically. Only active organisations are exported."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from uuid import NAMESPACE_URL, uuid5

from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from domain.base import MAIL_ADDRESS, unprintable_paths
from domain.organisation import KEY, Organisation

SCHEMAS = Path(__file__).parent / "hsds_3_0"
KEY_IDENTIFIER = "fallnetz-key"
TAXONOMY = {"sector": "urn:fallnetz:sector", "need": "urn:fallnetz:need",
            "legal_sphere": "urn:fallnetz:legal-sphere", "capacity": "urn:fallnetz:capacity",
            "service_key": "urn:fallnetz:service-key"}


def _id(*parts: str) -> str:
    return str(uuid5(NAMESPACE_URL, "fallnetz:hsds:" + ":".join(parts)))


@cache
def validator(name: str) -> Draft202012Validator:
    """A validator for one HSDS object schema, resolving ``$ref`` by file name."""
    resources = []
    for path in SCHEMAS.glob("*.json"):
        if path.name == "openapi.json":
            continue
        contents = json.loads(path.read_text(encoding="utf-8"))
        resources.append((path.name, Resource.from_contents(contents,
                                                            default_specification=DRAFT202012)))
    registry = Registry().with_resources(resources)
    schema = json.loads((SCHEMAS / f"{name}.json").read_text(encoding="utf-8"))
    return Draft202012Validator(schema, registry=registry, format_checker=FormatChecker())


def schema_errors(name: str, instance: Any, pointer: str) -> list[dict[str, str]]:
    return [{"pointer": pointer + "".join(f"/{p}" for p in error.absolute_path),
             "detail": error.message}
            for error in sorted(validator(name).iter_errors(instance),
                                key=lambda e: list(map(str, e.absolute_path)))]


# -- export ---------------------------------------------------------------------------------------
def _attribute(link_id: str, link_entity: str, link_type: str, code: str,
               value: str | None = None) -> dict[str, Any]:
    term_id = _id("term", link_type, code)
    attribute: dict[str, Any] = {
        "id": _id("attribute", link_id, link_type, code),
        "link_id": link_id, "link_type": link_type, "link_entity": link_entity,
        "taxonomy_term_id": term_id,
        "taxonomy_term": {"id": term_id, "code": code, "name": code,
                          "description": f"{link_type} {code}",
                          "taxonomy": TAXONOMY[link_type]},
    }
    if value is not None:
        attribute["value"] = value
    return attribute


def export_service(organisation: Organisation, key: str, service: dict[str, Any],
                   ) -> dict[str, Any]:
    service_id = _id("service", str(organisation.id), key)
    attributes = [_attribute(service_id, "service", "service_key", "service_key", key)]
    attributes += [_attribute(service_id, "service", "need", need) for need in service["needs"]]
    attributes += [_attribute(service_id, "service", "legal_sphere", sphere)
                   for sphere in service["legal_spheres"]]
    if service.get("capacity") is not None:
        attributes.append(_attribute(service_id, "service", "capacity", "capacity",
                                     str(service["capacity"])))
    return {
        "id": service_id,
        "organization_id": str(organisation.id),
        "name": service["name"],
        "status": "active",
        "languages": [{"id": _id("language", service_id, code), "service_id": service_id,
                       "code": code} for code in service["languages"]],
        "service_areas": [{"id": _id("area", service_id, district), "service_id": service_id,
                           "name": district} for district in service["districts"]],
        "attributes": attributes,
    }


def export_organisation(organisation: Organisation) -> dict[str, Any]:
    oid = str(organisation.id)
    return {
        "id": oid,
        "name": organisation.name,
        "description": organisation.name,
        "email": organisation.inbox_address,
        "organization_identifiers": [{
            "id": _id("identifier", oid), "organization_id": oid,
            "identifier_scheme": "urn:fallnetz:organisation-key",
            "identifier_type": KEY_IDENTIFIER, "identifier": organisation.key}],
        "contacts": [{"id": _id("contact", oid, str(i)), "organization_id": oid,
                      **{k: v for k, v in contact.items() if k in ("name", "email", "title")}}
                     for i, contact in enumerate(organisation.contacts)],
        "attributes": [_attribute(oid, "organization", "sector", organisation.sector)],
        "services": [export_service(organisation, key, service)
                     for key, service in sorted(organisation.services.items())],
    }


def export_directory(organisations: Iterable[Organisation]) -> list[dict[str, Any]]:
    return [export_organisation(o) for o in sorted(organisations, key=lambda o: o.key)
            if o.active]


def validate_export(document: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Every schema error of an exported (or offered) document, as pointer + detail."""
    errors = []
    for i, organisation in enumerate(document):
        errors += schema_errors("organization", organisation, f"#/{i}")
        for j, service in enumerate(organisation.get("services") or []):
            errors += schema_errors("service", service, f"#/{i}/services/{j}")
    return errors


# -- import ---------------------------------------------------------------------------------------
@dataclass
class OrganisationOffer:
    """One organisation of an import, read back into our terms."""
    key: str
    name: str
    sector: str
    inbox_address: str
    contacts: list[dict[str, str]]
    services: dict[str, dict[str, Any]]


@dataclass
class Rejection:
    index: int
    name: str
    errors: list[dict[str, str]]


@dataclass
class ImportReport:
    registered: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"registered": self.registered, "updated": self.updated,
                "unchanged": self.unchanged,
                "rejected": [{"index": r.index, "name": r.name, "errors": r.errors}
                             for r in self.rejected]}


class Unreadable(Exception):
    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__(errors[0]["detail"] if errors else "unreadable")
        self.errors = errors


def _terms(attributes: list[dict[str, Any]], link_type: str) -> list[dict[str, Any]]:
    """Our attributes of one kind; another publisher's taxonomies are left alone."""
    return [a for a in attributes if a.get("link_type") == link_type
            and (a.get("taxonomy_term") or {}).get("taxonomy") == TAXONOMY[link_type]]


def _code(attribute: dict[str, Any]) -> str:
    return str((attribute.get("taxonomy_term") or {}).get("code") or "")


def read_organisation(offer: dict[str, Any], pointer: str) -> OrganisationOffer:
    """Our terms from one HSDS organisation, or :class:`Unreadable` naming what is missing."""
    errors = schema_errors("organization", offer, pointer)
    services = offer.get("services") or []
    if not isinstance(services, list):
        errors.append({"pointer": f"{pointer}/services", "detail": "must be a list"})
        services = []
    for j, service in enumerate(services):
        errors += schema_errors("service", service, f"{pointer}/services/{j}")
    if errors:
        raise Unreadable(errors)
    keys = [i["identifier"] for i in offer.get("organization_identifiers") or []
            if i.get("identifier_type") == KEY_IDENTIFIER]
    if len(keys) != 1:
        errors.append({"pointer": f"{pointer}/organization_identifiers",
                       "detail": f"needs exactly one identifier of type {KEY_IDENTIFIER!r}"})
    sectors = [_code(a) for a in _terms(offer.get("attributes") or [], "sector")]
    if len(sectors) != 1:
        errors.append({"pointer": f"{pointer}/attributes",
                       "detail": "needs exactly one attribute of link_type 'sector'"})
    if not offer.get("email"):
        errors.append({"pointer": f"{pointer}/email", "detail": "the inbox address is missing"})
    elif not MAIL_ADDRESS.match(str(offer["email"])):
        errors.append({"pointer": f"{pointer}/email",
                       "detail": "the inbox address is not an e-mail address"})
    errors += [{"pointer": pointer + "".join(f"/{p}" for p in path),
                "detail": "control characters or broken characters in the text"}
               for path in unprintable_paths(offer)]
    ours: dict[str, dict[str, Any]] = {}
    for j, service in enumerate(services):
        attributes = service.get("attributes") or []
        service_keys = [a.get("value") for a in _terms(attributes, "service_key")]
        if len(service_keys) != 1 or not service_keys[0]:
            errors.append({"pointer": f"{pointer}/services/{j}/attributes",
                           "detail": "needs exactly one attribute of link_type 'service_key' "
                                     "with a value"})
            continue
        if not KEY.match(str(service_keys[0])):
            errors.append({"pointer": f"{pointer}/services/{j}/attributes",
                           "detail": "a service key is 2–40 lower-case letters, digits or "
                                     "'-'"})
            continue
        if str(service_keys[0]) in ours:
            errors.append({"pointer": f"{pointer}/services/{j}/attributes",
                           "detail": f"the service key {service_keys[0]!r} appears twice"})
            continue
        capacities = [a.get("value") for a in _terms(attributes, "capacity")]
        capacity: int | None = None
        if capacities:
            try:
                capacity = int(str(capacities[0]))
            except ValueError:
                errors.append({"pointer": f"{pointer}/services/{j}/attributes",
                               "detail": "the capacity attribute's value is not a whole "
                                         "number"})
                continue
        ours[str(service_keys[0])] = {
            "name": service["name"],
            "needs": [_code(a) for a in _terms(attributes, "need")],
            "legal_spheres": [_code(a) for a in _terms(attributes, "legal_sphere")],
            "districts": [a.get("name") for a in service.get("service_areas") or []
                          if a.get("name")],
            "languages": [lang.get("code") for lang in service.get("languages") or []
                          if lang.get("code")],
            "capacity": capacity,
        }
    if errors:
        raise Unreadable(errors)
    return OrganisationOffer(
        key=keys[0], name=offer["name"], sector=sectors[0], inbox_address=offer["email"],
        contacts=[{k: c[k] for k in ("name", "email", "title") if c.get(k)}
                  for c in offer.get("contacts") or []],
        services=ours)
