"""The network's mapping of other publishers' vocabularies as a TOML file, to keep beside
the network's configuration or to bring to another network with the same publishers:

    [[term]]
    taxonomy = "https://verzeichnis.example.org/taxonomie"
    code = "BER-01"
    name = "Migrationsberatung"
    needs = ["benefits"]
    sector = "social_work"        # optional

    [[area]]
    name = "Cottbus Nord"                  # "" : the services that name no area
    districts = ["Sandow", "Schmellwitz"]   # [] is the whole network

    [[sector]]                               # an organisation no term places
    publisher = "landesverzeichnis"
    source_id = "…"                          # the publisher's id of the organization
    sector = "health"

Reading checks the shape with marshmallow; the needs, sectors and districts are checked by
the commands that apply each entry."""

from __future__ import annotations

import json
import tomllib
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from domain.directory_import import DirectoryMapping
from domain.organisation import KEY
from domain.vocabulary import SECTORS


class MappingFileError(Exception):
    pass


class TermEntry(Schema):
    class Meta:
        unknown = RAISE

    taxonomy = fields.String(load_default="", validate=validate.Length(max=500))
    code = fields.String(required=True, validate=validate.Length(min=1, max=500))
    name = fields.String(load_default=None, validate=validate.Length(max=500))
    needs = fields.List(fields.String(), load_default=list)
    sector = fields.String(load_default=None, validate=validate.OneOf(SECTORS))


class AreaEntry(Schema):
    class Meta:
        unknown = RAISE

    name = fields.String(required=True, validate=validate.Length(max=500))
    districts = fields.List(fields.String(), required=True)


class SectorEntry(Schema):
    class Meta:
        unknown = RAISE

    publisher = fields.String(required=True, validate=validate.Regexp(KEY))
    source_id = fields.String(required=True, validate=validate.Length(min=1, max=500))
    sector = fields.String(required=True, validate=validate.OneOf(SECTORS))


class MappingFile(Schema):
    class Meta:
        unknown = RAISE

    term = fields.List(fields.Nested(TermEntry), load_default=list)
    area = fields.List(fields.Nested(AreaEntry), load_default=list)
    sector = fields.List(fields.Nested(SectorEntry), load_default=list)


def read_mapping(data: bytes) -> tuple[list[dict[str, Any]], list[dict[str, Any]],
                                      list[dict[str, str]]]:
    try:
        loaded = MappingFile().load(tomllib.loads(data.decode("utf-8")))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise MappingFileError(f"Not a TOML file: {e}") from None
    except ValidationError as e:
        raise MappingFileError(f"Not a mapping: {e.messages}") from None
    for term in loaded["term"]:
        term["name"] = term["name"] or term["code"]
    return loaded["term"], loaded["area"], loaded["sector"]


def _string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a TOML basic string


def _strings(texts: list[str]) -> str:
    return "[" + ", ".join(map(_string, texts)) + "]"


def mapping_toml(mapping: DirectoryMapping | None) -> str:
    lines = ["# How other publishers' taxonomy terms and service areas map onto this",
             "# network (flask --app web hsds mapping import FILE applies it).", ""]
    for term in sorted((mapping.terms.values() if mapping else []),
                       key=lambda t: (t["taxonomy"], t["code"])):
        lines += ["[[term]]", f"taxonomy = {_string(term['taxonomy'])}",
                  f"code = {_string(term['code'])}", f"name = {_string(term['name'])}",
                  f"needs = {_strings(term['needs'])}"]
        if term["sector"]:
            lines.append(f"sector = {_string(term['sector'])}")
        lines.append("")
    for area, districts in sorted((mapping.areas.items() if mapping else [])):
        lines += ["[[area]]", f"name = {_string(area)}", f"districts = {_strings(districts)}",
                  ""]
    for key, sector in sorted((mapping.sectors.items() if mapping else [])):
        publisher, _sep, source_id = key.partition("\x1f")
        lines += ["[[sector]]", f"publisher = {_string(publisher)}",
                  f"source_id = {_string(source_id)}", f"sector = {_string(sector)}", ""]
    return "\n".join(lines)
