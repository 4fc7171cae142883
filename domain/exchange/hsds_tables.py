"""HSDS 3.0 in its tabular form (a CSV data package: one table per object, related by ids)
read into the nested organisations the JSON form has, so both import alike.

Cells are text; each becomes the type its schema gives the field (number, integer,
boolean), empty cells are left out. A cell that is not of its type stays text, so the
schema's check names it."""

from __future__ import annotations

import csv
import io
import json
import zipfile
import zlib
from functools import cache
from pathlib import Path
from typing import Any

from domain.exchange.hsds import SCHEMAS, Unreadable
from domain.messages import _

Rows = dict[str, list[dict[str, Any]]]
# Most tables a package may hold; more bytes than this is not a directory but an accident.
LARGEST_PACKAGE = 50 * 1024 * 1024


@cache
def _types(table: str) -> dict[str, str]:
    path = SCHEMAS / f"{table}.json"
    if not path.exists():
        return {}
    properties = json.loads(path.read_text(encoding="utf-8")).get("properties", {})
    return {name: spec.get("type", "string") for name, spec in properties.items()}


def _typed(table: str, row: dict[str, str]) -> dict[str, Any]:
    types = _types(table)
    typed: dict[str, Any] = {}
    for name, text in row.items():
        if name is None or text is None or str(text).strip() == "":
            continue
        kind, value = types.get(name, "string"), str(text)
        try:
            if kind == "number":
                typed[name] = float(value)
            elif kind == "integer":
                typed[name] = int(value)
            elif kind == "boolean" and value.lower() in ("true", "false", "1", "0"):
                typed[name] = value.lower() in ("true", "1")
            else:
                typed[name] = value
        except ValueError:
            typed[name] = value
    return typed


def read_package(source: bytes | Path) -> list[dict[str, Any]]:
    """The organisations of a data package: a zip archive's bytes or a folder."""
    texts: dict[str, str] = {}
    try:
        if isinstance(source, Path):
            names = {p.name: p for p in source.iterdir() if p.is_file()}
            read = {n: p.read_bytes() for n, p in names.items()
                    if n.endswith(".csv") or n == "datapackage.json"}
        else:
            with zipfile.ZipFile(io.BytesIO(source)) as archive:
                members = [m for m in archive.infolist() if not m.is_dir()]
                if sum(m.file_size for m in members) > LARGEST_PACKAGE:
                    raise Unreadable([{"pointer": "#", "detail": _(
                        "The data package is larger than 50 MB unpacked.")}])
                read = {Path(m.filename).name: archive.read(m) for m in members
                        if m.filename.endswith(".csv")
                        or Path(m.filename).name == "datapackage.json"}
        texts = {name: data.decode("utf-8-sig") for name, data in read.items()}
    except UnicodeDecodeError:
        raise Unreadable([{"pointer": "#", "detail": _(
            "The tables of the data package are not UTF-8 text.")}]) from None
    # A damaged, encrypted or oddly compressed archive says so in several ways.
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError,
            NotImplementedError, ValueError):
        raise Unreadable([{"pointer": "#", "detail": _(
            "This is neither an HSDS JSON document nor a data package (zip).")}]) from None
    paths = {f"{name[:-4]}": name for name in texts if name.endswith(".csv")}
    if "datapackage.json" in texts:
        try:
            described = json.loads(texts["datapackage.json"]).get("resources") or []
            paths.update({str(r["name"]): Path(str(r["path"])).name for r in described
                          if isinstance(r, dict) and r.get("name") and r.get("path")})
        except (ValueError, AttributeError, TypeError, RecursionError):
            raise Unreadable([{"pointer": "datapackage.json", "detail": _(
                "datapackage.json is not a data package description.")}]) from None
    if "organization" not in paths or paths["organization"] not in texts:
        raise Unreadable([{"pointer": "#", "detail": _(
            "The data package has no organization table (organization.csv).")}])
    try:
        rows: Rows = {table: [_typed(table, row) for row in
                              csv.DictReader(io.StringIO(texts[name]))]
                      for table, name in paths.items() if name in texts}
    except csv.Error as e:  # e.g. a cell longer than the csv module reads
        raise Unreadable([{"pointer": "#", "detail": _(
            "A table of the data package cannot be read: {problem}", problem=str(e))}]) from None
    return nested(rows)


def nested(rows: Rows) -> list[dict[str, Any]]:
    """The tables as nested organization objects, each with its services."""
    indexes: dict[tuple[str, tuple[str, ...]], dict[tuple[Any, ...], list[Any]]] = {}

    def related(table: str, **match: Any) -> list[dict[str, Any]]:
        """The rows whose fields equal ``match`` (None: the field is empty), through an
        index per table and fields, so a large directory is read in linear time."""
        fields = tuple(sorted(match))
        index = indexes.get((table, fields))
        if index is None:
            index = indexes[(table, fields)] = {}
            for row in rows.get(table, []):
                index.setdefault(tuple(row.get(f) or None for f in fields), []).append(row)
        return [dict(r) for r in index.get(tuple(match[f] for f in fields), [])]

    terms = {t["id"]: t for t in rows.get("taxonomy_term", []) if t.get("id")}
    taxonomies = {t["id"]: t for t in rows.get("taxonomy", []) if t.get("id")}

    def attributes(link_id: str) -> list[dict[str, Any]]:
        found = []
        for attribute in related("attribute", link_id=link_id):
            term = terms.get(attribute.get("taxonomy_term_id"))
            if term is not None:
                term = dict(term)
                if term.get("taxonomy_id") in taxonomies:
                    term["taxonomy_detail"] = dict(taxonomies[term["taxonomy_id"]])
                attribute["taxonomy_term"] = term
            found.append(attribute)
        return found

    def location(row: dict[str, Any]) -> dict[str, Any]:
        lid = row["id"]
        return {**row, "addresses": related("address", location_id=lid),
                "schedules": related("schedule", location_id=lid, service_id=None),
                "phones": related("phone", location_id=lid, service_id=None),
                "languages": related("language", location_id=lid, service_id=None),
                "accessibility": related("accessibility", location_id=lid),
                "contacts": related("contact", location_id=lid, service_id=None),
                "attributes": attributes(lid)}

    def service(row: dict[str, Any]) -> dict[str, Any]:
        sid = row["id"]
        return {**row, "service_areas": related("service_area", service_id=sid),
                "languages": related("language", service_id=sid),
                "schedules": related("schedule", service_id=sid),
                "phones": related("phone", service_id=sid),
                "contacts": related("contact", service_id=sid),
                "cost_options": related("cost_option", service_id=sid),
                "required_documents": related("required_document", service_id=sid),
                "funding": related("funding", service_id=sid),
                "service_at_locations": related("service_at_location", service_id=sid),
                "attributes": attributes(sid)}

    organisations = []
    known = {o.get("id") for o in rows["organization"]}
    orphans = [i for i, s in enumerate(rows.get("service", []))
               if s.get("organization_id") not in known]
    if orphans:
        raise Unreadable([{"pointer": f"service.csv/{i + 2}", "detail": _(
            "The service names no organization of the package.")} for i in orphans])
    for row in rows["organization"]:
        oid = row.get("id")
        organisations.append({
            **row,
            "contacts": related("contact", organization_id=oid, service_id=None,
                                location_id=None),
            "phones": related("phone", organization_id=oid, service_id=None,
                              location_id=None, contact_id=None),
            "funding": related("funding", organization_id=oid, service_id=None),
            "programs": related("program", organization_id=oid),
            "organization_identifiers": related("organization_identifier",
                                                organization_id=oid),
            "locations": [location(r) for r in related("location", organization_id=oid)],
            "attributes": attributes(oid),
            "services": [service(r) for r in related("service", organization_id=oid)],
        })
    return organisations
