"""The directory in Open Referral HSDS 3.0: export, and reading any publisher's document
into offers in the publisher's own terms (:mod:`domain.exchange.resolution` maps them to
ours).

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
from functools import cache
from pathlib import Path
from typing import Any
from uuid import NAMESPACE_URL, uuid5

from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from domain.base import MAIL_ADDRESS, unprintable_paths
from domain.messages import _
from domain.organisation import KEY, Organisation

SCHEMAS = Path(__file__).parent / "hsds_3_0"
KEY_IDENTIFIER = "fallnetz-key"
TAXONOMY = {"sector": "urn:fallnetz:sector", "need": "urn:fallnetz:need",
            "legal_sphere": "urn:fallnetz:legal-sphere", "capacity": "urn:fallnetz:capacity",
            "service_key": "urn:fallnetz:service-key"}


def hsds_id(*parts: str) -> str:
    """The HSDS id of one of our objects, derived from its parts (so exports are stable)."""
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
             "detail": _in_words(error)}
            for error in sorted(validator(name).iter_errors(instance),
                                key=lambda e: list(map(str, e.absolute_path)))]


def _in_words(error: Any) -> str:
    """A schema error as a message a coordinator reads in their language (the validator's
    own text is English and technical)."""
    value = repr(error.instance)[:60]
    if error.validator == "required":
        missing = str(error.message).split("'")[1] if "'" in str(error.message) else ""
        return _("the required field {field!r} is missing", field=missing)
    if error.validator == "format":
        return _("{value} is not of the format {format!r}", value=value,
                 format=error.validator_value)
    if error.validator == "type":
        return _("{value} is not of the type {type!r}", value=value,
                 type=error.validator_value)
    if error.validator == "enum":
        return _("{value} is not one of {allowed}", value=value,
                 allowed=", ".join(map(repr, error.validator_value)))
    return _("does not match the HSDS schema: {detail}", detail=str(error.message)[:200])


# -- export ---------------------------------------------------------------------------------------
def _attribute(link_id: str, link_entity: str, link_type: str, code: str,
               value: str | None = None) -> dict[str, Any]:
    term_id = hsds_id("term", link_type, code)
    attribute: dict[str, Any] = {
        "id": hsds_id("attribute", link_id, link_type, code),
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
    service_id = hsds_id("service", str(organisation.id), key)
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
        "languages": [{"id": hsds_id("language", service_id, code), "service_id": service_id,
                       "code": code} for code in service["languages"]],
        "service_areas": [{"id": hsds_id("area", service_id, district), "service_id": service_id,
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
            "id": hsds_id("identifier", oid), "organization_id": oid,
            "identifier_scheme": "urn:fallnetz:organisation-key",
            "identifier_type": KEY_IDENTIFIER, "identifier": organisation.key}],
        "contacts": [{"id": hsds_id("contact", oid, str(i)), "organization_id": oid,
                      **{k: v for k, v in contact.items() if k in ("name", "email", "title")}}
                     for i, contact in enumerate(organisation.contacts)],
        "attributes": [_attribute(oid, "organization", "sector", organisation.sector)],
        "services": [export_service(organisation, key, service)
                     for key, service in sorted(organisation.offered_services().items())],
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


# -- reading any publisher's document ----------------------------------------------------------
OWN_TAXONOMIES = frozenset(TAXONOMY.values())


class Unreadable(Exception):
    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__(errors[0]["detail"] if errors else "unreadable")
        self.errors = errors


def organisations_in(document: Any) -> list[Any]:
    """The organization objects of a document in any of the shapes HSDS publishes: a list
    of them, one page of the HSDS API (``contents``), or a single organization."""
    if isinstance(document, list):
        return document
    if isinstance(document, dict) and isinstance(document.get("contents"), list):
        return document["contents"]
    if isinstance(document, dict) and "name" in document:
        return [document]
    raise Unreadable([{"pointer": "#", "detail": _(
        "An HSDS document is a list of organizations, a page of them or one organization.")}])


def term_of(attribute: dict[str, Any]) -> dict[str, str] | None:
    """The publisher's taxonomy term an attribute links, as (taxonomy, code, name)."""
    term = attribute.get("taxonomy_term") if isinstance(attribute.get("taxonomy_term"),
                                                         dict) else {}
    detail = term.get("taxonomy_detail") if isinstance(term.get("taxonomy_detail"), dict) \
        else {}
    taxonomy = str(term.get("taxonomy") or detail.get("uri") or detail.get("name")
                   or term.get("taxonomy_id") or "").strip()
    code = str(term.get("code") or term.get("id") or attribute.get("taxonomy_term_id")
               or "").strip()
    if not code:
        return None
    return {"taxonomy": taxonomy, "code": code,
            "name": str(term.get("name") or code).strip()}


def _own(attributes: list[dict[str, Any]], link_type: str) -> list[dict[str, Any]]:
    return [a for a in attributes if a.get("link_type") == link_type
            and (a.get("taxonomy_term") or {}).get("taxonomy") == TAXONOMY[link_type]]


def _code(attribute: dict[str, Any]) -> str:
    return str((attribute.get("taxonomy_term") or {}).get("code") or "")


def _foreign_terms(attributes: list[dict[str, Any]]) -> list[dict[str, str]]:
    terms: list[dict[str, str]] = []
    for attribute in attributes:
        term = term_of(attribute)
        if term is not None and term["taxonomy"] not in OWN_TAXONOMIES and term not in terms:
            terms.append(term)
    return terms


def _text(value: Any) -> str:
    return str(value).strip() if value is not None else ""


def read_offer(offer: dict[str, Any], pointer: str) -> dict[str, Any]:
    """One organisation in the publisher's terms (plain data, kept as the import's record),
    or :class:`Unreadable` with a JSON pointer for each reason.

    Our own extensions (see the table above) are read where present; everything else comes
    from the standard's fields: the publisher's taxonomy terms, service areas by name,
    languages by code."""
    errors = schema_errors("organization", offer, pointer)
    services = offer.get("services") or []
    if not isinstance(services, list):
        errors.append({"pointer": f"{pointer}/services", "detail": "must be a list"})
        services = []
    for j, service in enumerate(services):
        errors += schema_errors("service", service, f"{pointer}/services/{j}")
    if errors:
        raise Unreadable(errors)
    errors += [{"pointer": pointer + "".join(f"/{p}" for p in path),
                "detail": _("control characters or broken characters in the text")}
               for path in unprintable_paths(offer)]
    keys = [i["identifier"] for i in offer.get("organization_identifiers") or []
            if i.get("identifier_type") == KEY_IDENTIFIER]
    if len(keys) > 1:
        errors.append({"pointer": f"{pointer}/organization_identifiers",
                       "detail": _("more than one identifier of type {type!r}",
                                   type=KEY_IDENTIFIER)})
    elif keys and not KEY.match(str(keys[0])):
        errors.append({"pointer": f"{pointer}/organization_identifiers",
                       "detail": _("a key is 2–40 lower-case letters, digits or '-'")})
    attributes = offer.get("attributes") or []
    sectors = [_code(a) for a in _own(attributes, "sector")]
    if len(sectors) > 1:
        errors.append({"pointer": f"{pointer}/attributes",
                       "detail": _("more than one attribute of link_type 'sector'")})
    email = _text(offer.get("email"))
    if email and not MAIL_ADDRESS.match(email):
        errors.append({"pointer": f"{pointer}/email",
                       "detail": _("the inbox address is not an e-mail address")})
    read_services = []
    seen: set[str] = set()
    for j, service in enumerate(services):
        read = _read_service(service, f"{pointer}/services/{j}", errors)
        if read is None:
            continue
        if read["source_id"] in seen or (read["key"] and read["key"] in seen):
            errors.append({"pointer": f"{pointer}/services/{j}",
                           "detail": _("the service {service!r} appears twice",
                                       service=read["key"] or read["source_id"])})
            continue
        seen.update(k for k in (read["source_id"], read["key"]) if k)
        read_services.append(read)
    if errors:
        raise Unreadable(errors)
    return {
        "source_id": _text(offer["id"]), "name": _text(offer["name"]),
        "key": keys[0] if keys else None, "sector": sectors[0] if sectors else None,
        "email": email or None,
        "contacts": [{k: _text(c[k]) for k in ("name", "email", "title") if c.get(k)}
                     for c in offer.get("contacts") or []],
        "terms": _foreign_terms(attributes),
        "services": read_services,
    }


def _read_service(service: dict[str, Any], pointer: str,
                  errors: list[dict[str, str]]) -> dict[str, Any] | None:
    attributes = service.get("attributes") or []
    own_keys = [a.get("value") for a in _own(attributes, "service_key")]
    if len(own_keys) > 1 or (own_keys and not KEY.match(str(own_keys[0] or ""))):
        errors.append({"pointer": f"{pointer}/attributes", "detail": _(
            "a service key is 2–40 lower-case letters, digits or '-', given once")})
        return None
    capacities = [a.get("value") for a in _own(attributes, "capacity")]
    capacity: int | None = None
    if capacities:
        text = str(capacities[0])
        if not text.isdigit():  # also refuses a sign: no capacity is below 0
            errors.append({"pointer": f"{pointer}/attributes", "detail": _(
                "the capacity attribute's value is not a whole number")})
            return None
        capacity = int(text)
    email = _text(service.get("email"))
    return {
        "source_id": _text(service["id"]), "key": str(own_keys[0]) if own_keys else None,
        "name": _text(service["name"]), "status": service.get("status") or "active",
        "email": email if MAIL_ADDRESS.match(email) else None,
        "needs": [_code(a) for a in _own(attributes, "need")],
        "legal_spheres": [_code(a) for a in _own(attributes, "legal_sphere")],
        "terms": _foreign_terms(attributes),
        "areas": [_text(a.get("name")) for a in service.get("service_areas") or []
                  if _text(a.get("name"))],
        "languages": list(dict.fromkeys(_text(lang.get("code")).lower()
                                        for lang in service.get("languages") or []
                                        if _text(lang.get("code")))),
        "capacity": capacity,
    }
