"""Loads a network's folder: ``network.toml``, ``needs.toml``, ``responsibility.toml``,
``deadlines.toml``. All or nothing."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from marshmallow import Schema, ValidationError

from domain.network.config import DeadlinePolicy, NetworkConfig, symmetric_neighbours
from domain.network.schemas import (
    DeadlinePolicySchema,
    NeedCatalogueSchema,
    NetworkSchema,
    ResponsibilitySchema,
)

FILES = {
    "network.toml": NetworkSchema,
    "needs.toml": NeedCatalogueSchema,
    "responsibility.toml": ResponsibilitySchema,
    "deadlines.toml": DeadlinePolicySchema,
}


class NetworkConfigError(ValueError):
    def __init__(self, path: Path, field: str, message: str) -> None:
        super().__init__(f"{path}: {field}: {message}")
        self.path, self.field, self.message = path, field, message


def load_network(folder: str | Path) -> NetworkConfig:
    folder = Path(folder)
    data = {name: _load(folder / name, schema()) for name, schema in FILES.items()}
    network, needs_file = data["network.toml"], data["needs.toml"]
    responsibility, deadlines = data["responsibility.toml"], data["deadlines.toml"]
    needs = {n.code: n for n in needs_file["need"]}
    _check_references(folder / "responsibility.toml", responsibility, needs,
                      set(network["districts"]))
    return NetworkConfig(
        slug=network["slug"], name=network["name"], state=network["state"],
        case_reference_prefix=network["case_reference_prefix"],
        coordination_office=network["coordination_office"],
        districts=tuple(network["districts"]), languages=tuple(network["languages"]),
        retention_months=network["retention_months"],
        consent_max_months=network["consent_max_months"],
        neighbours=symmetric_neighbours(network["neighbours"]),
        needs=needs,
        legal_sphere_by_residence_status=dict(network["legal_sphere_by_residence_status"]),
        responsibility_version=responsibility["version"],
        rules=tuple(responsibility["rule"]), lead_rules=tuple(responsibility["lead"]),
        self_help=tuple(responsibility["self_help"]),
        deadlines=DeadlinePolicy(
            version=deadlines["version"], stages=deadlines["urgency"],
            lead_handoff_decide=deadlines["lead_handoff"]["decide"],
            escalation=tuple(deadlines["escalation"])),
    )


def _load(path: Path, schema: Schema) -> dict[str, Any]:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise NetworkConfigError(path, "(file)", "The file is missing.") from None
    except tomllib.TOMLDecodeError as e:
        raise NetworkConfigError(path, "(syntax)", str(e)) from None
    try:
        return schema.load(raw)
    except ValidationError as e:
        field, message = _first_error(e.messages)
        raise NetworkConfigError(path, field, message) from None


def _first_error(messages: Any, prefix: str = "") -> tuple[str, str]:
    """Flattens marshmallow's nested messages to ('rule[3].need', 'Unknown need.')."""
    if isinstance(messages, dict):
        key = sorted(messages, key=str)[0]
        path = f"{prefix}[{key}]" if isinstance(key, int) else (
            f"{prefix}.{key}" if prefix else str(key))
        if key == "_schema":
            path = prefix or "(file)"
        elif key in ("key", "value") and prefix:
            # marshmallow's Dict reports errors of a key or of its value under these
            # pseudo-fields; the entry's own name is clearer.
            path = prefix
        return _first_error(messages[key], path)
    if isinstance(messages, list) and messages:
        return _first_error(messages[0], prefix) if not isinstance(messages[0], str) else (
            prefix, messages[0])
    return prefix, str(messages)


def _check_references(path: Path, responsibility: dict[str, Any], needs: dict[str, Any],
                      districts: set[str]) -> None:
    for index, lead in enumerate(responsibility["lead"]):
        if lead.need not in needs:
            raise NetworkConfigError(path, f"lead[{index}].need",
                                     f"Need {lead.need!r} is not in needs.toml.")
        for district in lead.districts:
            if district not in districts:
                raise NetworkConfigError(path, f"lead[{index}].districts",
                                         f"District {district!r} is not in network.toml.")
    for index, rule in enumerate(responsibility["rule"]):
        if rule.need not in needs:
            raise NetworkConfigError(path, f"rule[{index}].need",
                                     f"Need {rule.need!r} is not in needs.toml.")
        for district in rule.districts:
            if district not in districts:
                raise NetworkConfigError(path, f"rule[{index}].districts",
                                         f"District {district!r} is not in network.toml.")
    for index, said in enumerate(responsibility["self_help"]):
        if said.need not in needs:
            raise NetworkConfigError(path, f"self_help[{index}].need",
                                     f"Need {said.need!r} is not in needs.toml.")
        if [(s.need, s.housing_stage) for s in responsibility["self_help"][:index]].count(
                (said.need, said.housing_stage)):
            raise NetworkConfigError(path, f"self_help[{index}].housing_stage",
                                     "A text for this need and housing stage is given twice.")
