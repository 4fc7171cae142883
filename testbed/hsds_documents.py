"""HSDS 3.0 documents written from the standard's own schemas, as another publisher would
send them: every optional object filled with the schemas' examples, none of this product's
extensions, the publisher's own ids and a taxonomy this product does not know. And the same
data as the standard's tabular form (a CSV data package)."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from typing import Any
from uuid import NAMESPACE_URL, uuid5

from domain.exchange.hsds import SCHEMAS

TAXONOMY = "https://verzeichnis.example.org/taxonomie/landesleistungen"  # fictional


def _schema(name: str) -> dict[str, Any]:
    return json.loads((SCHEMAS / f"{name}.json").read_text(encoding="utf-8"))


def _example(spec: dict[str, Any]) -> Any:
    kind, example = spec.get("type"), spec.get("example")
    if spec.get("enum"):
        return spec["enum"][0]
    if kind == "number":
        return float(example) if example not in (None, "") else 1.0
    if kind == "integer":
        return int(float(example)) if example not in (None, "") else 1
    if kind == "boolean":
        return bool(example) if not isinstance(example, str) else example.lower() == "true"
    if spec.get("format") == "date":
        return "2026-01-01"
    if spec.get("format") == "date-time":
        return "2026-01-01T09:00:00Z"
    if spec.get("format") == "uri":
        return "https://verzeichnis.example.org/"
    if spec.get("format") == "email":
        return "kontakt@verzeichnis.example.org"
    return str(example) if example is not None else "Beispiel"


class Writer:
    """Fills a schema's every property; ids are derived from a path, so each object has its
    own and a document is the same on every run."""

    def __init__(self, seed: str) -> None:
        self.seed = seed

    def id(self, *path: str) -> str:
        return str(uuid5(NAMESPACE_URL, ":".join((self.seed, *path))))

    def filled(self, name: str, path: tuple[str, ...], skip: tuple[str, ...] = ()
               ) -> dict[str, Any]:
        schema = _schema(name)
        made: dict[str, Any] = {}
        for prop, spec in schema["properties"].items():
            if prop in skip or prop.endswith("_id"):
                continue
            if prop == "id":
                made["id"] = self.id(*path)
                continue
            if spec.get("type") == "array" and "$ref" in (spec.get("items") or {}):
                child = spec["items"]["$ref"].removesuffix(".json")
                if child in ("organization", "service", "service_at_location", "program",
                             "location", "attribute", "taxonomy_term"):
                    continue  # the relations a document sets itself, below
                made[prop] = [self.filled(child, (*path, prop, "0"))]
            elif "$ref" in spec or spec.get("type") in ("object", "array"):
                continue
            else:
                made[prop] = _example(spec)
        return made


def term(code: str, name: str) -> dict[str, Any]:
    writer = Writer("landesverzeichnis")
    return {"id": writer.id("term", code), "code": code, "name": name,
            "description": f"{name} (Landesleistungskatalog)", "taxonomy": TAXONOMY,
            "language": "de", "term_uri": f"{TAXONOMY}/{code}",
            "taxonomy_detail": {"id": writer.id("taxonomy"), "name": "Landesleistungskatalog",
                                "description": "Leistungskatalog des Landes (fiktiv)",
                                "uri": TAXONOMY, "version": "2026"}}


def _service(writer: Writer, org: str, index: int, name: str, codes: list[tuple[str, str]],
             areas: list[str], email: str) -> dict[str, Any]:
    path = (org, "service", str(index))
    service = writer.filled("service", path, skip=("organization", "program"))
    service.update(id=writer.id(*path), name=name, status="active", email=email,
                   organization_id=writer.id(org))
    service["service_areas"] = [{**writer.filled("service_area", (*path, "area", area)),
                                 "name": area, "service_id": service["id"]} for area in areas]
    service["languages"] = [{**writer.filled("language", (*path, "lang", code)), "code": code,
                             "name": label, "service_id": service["id"]}
                            for code, label in (("de", "Deutsch"), ("ar", "Arabisch"))]
    service["attributes"] = [{"id": writer.id(*path, "attr", code), "link_id": service["id"],
                              "link_type": "service_type", "link_entity": "service",
                              "taxonomy_term_id": term(code, label)["id"],
                              "taxonomy_term": term(code, label)} for code, label in codes]
    location = writer.id(org, "location")
    service["service_at_locations"] = [{**writer.filled("service_at_location",
                                                        (*path, "sal")),
                                        "service_id": service["id"], "location_id": location}]
    service["program_id"] = writer.id(org, "program")
    return service


ORGANISATIONS = [
    # (name, e-mail, services: (name, taxonomy terms, service areas))
    ("Beratungszentrum Nord (fiktiv)", "postfach@beratung-nord.example.org", [
        ("Migrationsberatung für Erwachsene", [("BER-01", "Migrationsberatung")],
         ["Sandow"]),
        ("Psychosoziale Sprechstunde", [("GES-07", "Psychosoziale Beratung")],
         ["Cottbus Nord"]),
    ]),
    ("Wohnhilfe Süd (fiktiv)", "kontakt@wohnhilfe-sued.example.org", [
        ("Wohnungssuche und Mietberatung", [("WOH-02", "Wohnraumvermittlung")],
         ["Ströbitz", "Sachsendorf"]),
    ]),
    ("Sprachcafé am Markt (fiktiv)", "hallo@sprachcafe.example.org", [
        ("Offenes Sprachcafé", [("SPR-03", "Sprachförderung niedrigschwellig")], []),
    ]),
]


def publisher_document(seed: str = "landesverzeichnis") -> list[dict[str, Any]]:
    """Three organisations of a fictional Land directory, every optional object filled."""
    writer = Writer(seed)
    document = []
    for o, (name, email, services) in enumerate(ORGANISATIONS):
        org = f"org{o}"
        organisation = writer.filled("organization", (org,))
        organisation.update(name=name, email=email, description=f"{name}: Beratung und Hilfe",
                            website="https://verzeichnis.example.org/")
        oid = organisation["id"]
        for key in ("contacts", "phones", "funding", "organization_identifiers"):
            for item in organisation.get(key, []):
                item["organization_id"] = oid
        organisation["contacts"][0].update(name="Empfang", title="Anmeldung", email=email)
        location = writer.filled("location", (org, "location"))
        location.update(organization_id=oid, location_type="physical",
                        name=f"{name}, Hauptsitz", latitude=51.76, longitude=14.33)
        for nested in ("addresses", "schedules", "phones", "contacts", "languages",
                       "accessibility"):
            for item in location.get(nested, []):
                item["location_id"] = location["id"]
        location["addresses"][0].update(address_1="Marktstraße 1", city="Cottbus",
                                        state_province="Brandenburg", postal_code="03046",
                                        country="DE", address_type="physical")
        organisation["locations"] = [location]
        organisation["programs"] = [{**writer.filled("program", (org, "program")),
                                     "organization_id": oid}]
        organisation["organization_identifiers"][0].update(
            identifier_type="Vereinsregister", identifier=f"VR {1000 + o}")
        organisation["services"] = [_service(writer, org, i, s_name, codes, areas, email)
                                    for i, (s_name, codes, areas) in enumerate(services)]
        # The publisher classifies organisations too (a term this network does not map).
        organisation["attributes"] = [{
            "id": writer.id(org, "attr"), "link_id": oid, "link_type": "organization_type",
            "link_entity": "organization",
            "taxonomy_term_id": term("TRG-FREI", "Freier Träger")["id"],
            "taxonomy_term": term("TRG-FREI", "Freier Träger")}]
        location["attributes"] = [{
            "id": writer.id(org, "location", "attr"), "link_id": location["id"],
            "link_type": "location_type", "link_entity": "location",
            "taxonomy_term_id": term("ORT-BERATUNG", "Beratungsstelle")["id"],
            "taxonomy_term": term("ORT-BERATUNG", "Beratungsstelle")}]
        document.append(organisation)
    return document


# -- the tabular form -----------------------------------------------------------------------------
def _flat(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if not isinstance(v, (list, dict))}


def tables(document: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """The document as the standard's tables: one row per object, related by ids."""
    found: dict[str, list[dict[str, Any]]] = {}

    def add(table: str, row: dict[str, Any]) -> None:
        rows = found.setdefault(table, [])
        if all(r["id"] != row["id"] for r in rows):
            rows.append(_flat(row))

    def attributes(item: dict[str, Any]) -> None:
        for attribute in item.get("attributes", []):
            add("attribute", attribute)
            taxonomy_term = attribute["taxonomy_term"]
            detail = taxonomy_term["taxonomy_detail"]
            add("taxonomy", detail)
            add("taxonomy_term", {**taxonomy_term, "taxonomy_id": detail["id"]})

    for organisation in document:
        add("organization", organisation)
        attributes(organisation)
        for key, table in (("contacts", "contact"), ("phones", "phone"),
                           ("funding", "funding"), ("programs", "program"),
                           ("organization_identifiers", "organization_identifier")):
            for item in organisation.get(key, []):
                add(table, item)
        for location in organisation.get("locations", []):
            add("location", location)
            attributes(location)
            for key, table in (("addresses", "address"), ("schedules", "schedule"),
                               ("phones", "phone"), ("languages", "language"),
                               ("accessibility", "accessibility"), ("contacts", "contact")):
                for item in location.get(key, []):
                    add(table, item)
        for service in organisation["services"]:
            add("service", service)
            for key, table in (("service_areas", "service_area"), ("languages", "language"),
                               ("schedules", "schedule"), ("phones", "phone"),
                               ("contacts", "contact"), ("cost_options", "cost_option"),
                               ("required_documents", "required_document"),
                               ("funding", "funding"),
                               ("service_at_locations", "service_at_location")):
                for item in service.get(key, []):
                    add(table, {**item, "service_id": service["id"]}
                        if table != "service_at_location" else item)
            attributes(service)
    return found


def data_package(document: list[dict[str, Any]]) -> bytes:
    """A zip of the tables as CSV files with their ``datapackage.json``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        resources = []
        for table, rows in sorted(tables(document).items()):
            columns = list(dict.fromkeys(k for row in rows for k in row))
            text = io.StringIO()
            writer = csv.DictWriter(text, columns, lineterminator="\n")
            writer.writeheader()
            for row in rows:
                writer.writerow({k: ("true" if v is True else "false" if v is False else v)
                                 for k, v in row.items()})
            archive.writestr(f"{table}.csv", text.getvalue())
            resources.append({"name": table, "path": f"{table}.csv", "format": "csv"})
        archive.writestr("datapackage.json", json.dumps(
            {"name": "landesverzeichnis", "profile": "tabular-data-package",
             "resources": resources}, indent=2))
    return buffer.getvalue()
