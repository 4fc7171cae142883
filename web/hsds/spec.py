"""The standard's OpenAPI description of the HSDS API, made self-contained: its references
to the schemas on GitHub point at the same schemas kept in ``domain/exchange/hsds_3_0``
(the list forms at their full form, which our lists satisfy), so a client or a test
needs no network to read it."""

from __future__ import annotations

import copy
import json
from functools import cache
from typing import Any

from domain.exchange.hsds import SCHEMAS

REMOTE = "https://raw.githubusercontent.com/openreferral/specification/3.0/schema/"


def _local(ref: str) -> str:
    name = ref.rsplit("/", 1)[-1].removesuffix(".json").removesuffix("_list")
    return f"#/components/schemas/{name}"


def _rewrite(node: Any, remote: bool) -> Any:
    if isinstance(node, dict):
        rewritten = {k: _rewrite(v, remote) for k, v in node.items()
                     if k not in ("$schema", "$id")}
        ref = node.get("$ref")
        if isinstance(ref, str) and (ref.startswith(REMOTE) or
                                     (not remote and ref.endswith(".json"))):
            rewritten["$ref"] = _local(ref)
        return rewritten
    if isinstance(node, list):
        return [_rewrite(v, remote) for v in node]
    return node


@cache
def _bundled() -> dict[str, Any]:
    spec = _rewrite(json.loads((SCHEMAS / "openapi.json").read_text(encoding="utf-8")), True)
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    for path in sorted(SCHEMAS.glob("*.json")):
        if path.name != "openapi.json":
            schemas[path.stem] = _rewrite(json.loads(path.read_text(encoding="utf-8")), False)
    return spec


def openapi(title: str, base: str) -> dict[str, Any]:
    spec = copy.deepcopy(_bundled())
    spec["info"] = {"title": title, "version": "3.0",
                    "summary": "Open Referral HSDS 3.0, read-only",
                    "description": "The organisations and services this network publishes.",
                    "license": {"name": "CC BY 4.0",
                                "url": "https://creativecommons.org/licenses/by/4.0/"}}
    spec["servers"] = [{"url": base}]
    return spec
