"""The network's responsibility map (Zuständigkeitsmatrix) as the coordination office keeps
it: which organisations are responsible for a need, by legal sphere, district and housing
stage (:class:`~domain.network.ResponsibilityRule`); who takes over the lead when a case's
legal sphere changes (:class:`~domain.network.config.LeadRule`); and, per need and housing
stage, what the people can do themselves (:class:`~domain.network.config.SelfHelp`).

A network starts with the map of its ``responsibility.toml``. The first change in the web
(or the first import of a file that differs) starts a :class:`ResponsibilityMap` with that
map, so the history begins with what the file said; from then on the aggregate's map is the
one that counts, for the suggestions, the drafted lead handoffs and the Organigramm. The
file stays the import and export format (:func:`read_map_file`, :func:`map_toml`).

The Organigramm and a district's handout (:func:`handout`) read the map per district and
housing stage with the directory's names, its volunteer initiatives' services and the
contacts the coordinator chose public; never users, never cases."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import event

from domain.base import UNPRINTABLE, DomainError, StampedAggregate
from domain.messages import Message, _
from domain.network.config import LeadRule, NetworkConfig, ResponsibilityRule, SelfHelp
from domain.organisation import CONTACT_FIELDS, Organisation
from domain.stamp import Stamp
from domain.vocabulary import HOUSING_STAGES, LEGAL_SPHERES

MOST_TEXT = 1000  # characters of a self-help text (a few sentences on a handout)
MOST_ENTRIES = 500  # rules in a file: far more than any network's map
CIVIL_SOCIETY = "civil_society"


@dataclass(frozen=True)
class Terms:
    """What the map may name: the network's needs and districts, and the directory's
    organisations by key (with their name, and whether they are active)."""

    needs: tuple[str, ...]
    districts: tuple[str, ...]
    organisations: Mapping[str, tuple[str, bool]]


@dataclass(frozen=True)
class MapContent:
    """A whole map, as a file holds it: rules, lead rules and self-help texts as plain
    dicts (their canonical form, see :func:`checked_rule` and the others)."""

    version: str
    rules: tuple[dict[str, Any], ...]
    lead_rules: tuple[dict[str, Any], ...]
    self_help: tuple[dict[str, Any], ...]

    def same_map(self, other: MapContent) -> bool:
        """The same rules, lead rules and texts (the version's name aside)."""
        return (self.rules, self.lead_rules, self.self_help) == (
            other.rules, other.lead_rules, other.self_help)


# -- the canonical forms, and the guards of each entry ---------------------------------------
def rule_dict(rule: ResponsibilityRule, districts: Iterable[str]) -> dict[str, Any]:
    """``districts``: the network's, in whose order a rule lists its own."""
    return {"need": rule.need, "legal_spheres": _ordered(rule.legal_spheres, LEGAL_SPHERES),
            "districts": _ordered(rule.districts, districts),
            "housing_stages": _ordered(rule.housing_stages, HOUSING_STAGES),
            "organisations": list(dict.fromkeys(rule.organisations))}


def lead_dict(lead: LeadRule, districts: Iterable[str]) -> dict[str, Any]:
    return {"legal_sphere": lead.legal_sphere, "need": lead.need,
            "districts": _ordered(lead.districts, districts),
            "organisations": list(dict.fromkeys(lead.organisations))}


def self_help_dict(said: SelfHelp) -> dict[str, Any]:
    return {"need": said.need, "housing_stage": said.housing_stage, "text": said.text,
            "text_en": said.text_en}


def content_of(network: NetworkConfig) -> MapContent:
    """The map a network's files give (before anyone changed it in the web)."""
    return MapContent(version=network.responsibility_version,
                      rules=tuple(rule_dict(r, network.districts) for r in network.rules),
                      lead_rules=tuple(lead_dict(r, network.districts)
                                       for r in network.lead_rules),
                      self_help=tuple(sorted((self_help_dict(s) for s in network.self_help),
                                             key=_self_help_order)))


def _ordered(values: Iterable[str], order: Iterable[str]) -> list[str]:
    """The values in the order of their vocabulary, each once: a situation named in
    another order is the same situation."""
    given = set(values)
    return [v for v in order if v in given]


def _strings(value: Any, field_name: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise DomainError(_("A list of texts is expected here, e.g. [\"Sandow\"]."),
                          field=field_name)
    return [v.strip() for v in value if v.strip()]


def _need(value: Any, terms: Terms) -> str:
    if not isinstance(value, str) or not value.strip():
        raise DomainError(_("{what} is required.", what=_("A need")), field="need")
    if value.strip() not in terms.needs:
        raise DomainError(_("Unknown need {need!r}.", need=value), field="need")
    return value.strip()


def _districts(value: Any, terms: Terms, field_name: str = "districts") -> list[str]:
    districts = _strings(value, field_name)
    for district in districts:
        if district not in terms.districts:
            raise DomainError(_("Unknown district {district!r}.", district=district),
                              field=field_name)
    return _ordered(districts, terms.districts)


def _spheres(value: Any) -> list[str]:
    spheres = _strings(value, "legal_spheres")
    for sphere in spheres:
        if sphere not in LEGAL_SPHERES:
            raise DomainError(_("Unknown legal sphere {legal_sphere!r}.", legal_sphere=sphere),
                              field="legal_spheres")
    return _ordered(spheres, LEGAL_SPHERES)


def _stage(value: Any, field_name: str = "housing_stage") -> str:
    if value not in HOUSING_STAGES:
        raise DomainError(_("Unknown housing stage {housing_stage!r}.", housing_stage=value),
                          field=field_name)
    return str(value)


def _organisations(value: Any, terms: Terms) -> list[str]:
    keys = list(dict.fromkeys(_strings(value, "organisations")))
    if not keys:
        raise DomainError(_("Name at least one organisation."), field="organisations")
    for key in keys:
        if key not in terms.organisations:
            raise DomainError(_("There is no organisation with the key {key!r} in the "
                                "directory.", key=key), field="organisations")
        name, active = terms.organisations[key]
        if not active:
            raise DomainError(_("{organisation} is no longer active.", organisation=name),
                              field="organisations")
    return keys


def checked_rule(rule: Mapping[str, Any], terms: Terms) -> dict[str, Any]:
    """A rule in its canonical form; refuses a need, legal sphere, district, housing stage
    or organisation the network does not know (naming the field). Empty lists mean "any"."""
    return {"need": _need(rule.get("need"), terms),
            "legal_spheres": _spheres(rule.get("legal_spheres")),
            "districts": _districts(rule.get("districts"), terms),
            "housing_stages": _ordered([_stage(s, "housing_stages") for s in _strings(
                rule.get("housing_stages"), "housing_stages")], HOUSING_STAGES),
            "organisations": _organisations(rule.get("organisations"), terms)}


def checked_lead_rule(lead: Mapping[str, Any], terms: Terms) -> dict[str, Any]:
    sphere = lead.get("legal_sphere")
    if sphere not in LEGAL_SPHERES:
        raise DomainError(_("Unknown legal sphere {legal_sphere!r}.", legal_sphere=sphere),
                          field="legal_sphere")
    return {"legal_sphere": str(sphere), "need": _need(lead.get("need"), terms),
            "districts": _districts(lead.get("districts"), terms),
            "organisations": _organisations(lead.get("organisations"), terms)}


def checked_self_help(said: Mapping[str, Any], terms: Terms) -> dict[str, Any]:
    """Empty texts mean: nothing written (the text is taken away)."""
    texts = {}
    for name in ("text", "text_en"):
        value = said.get(name) or ""
        if not isinstance(value, str):
            raise DomainError(_("A text is expected here."), field=name)
        value = value.strip()
        if len(value) > MOST_TEXT:
            raise DomainError(_("Please use at most {most} characters.", most=MOST_TEXT),
                              field=name)
        if UNPRINTABLE.search(value):
            raise DomainError(_("The text holds characters that cannot be shown."),
                              field=name)
        texts[name] = value
    if texts["text_en"] and not texts["text"]:
        raise DomainError(_("Please write the German text too; the English one is shown "
                            "beside it."), field="text")
    return {"need": _need(said.get("need"), terms),
            "housing_stage": _stage(said.get("housing_stage")), **texts}


def situation(rule: Mapping[str, Any]) -> tuple[Any, ...]:
    """What a rule answers for; two rules for one situation would contradict each other."""
    return (rule["need"], tuple(rule["legal_spheres"]), tuple(rule["districts"]),
            tuple(rule["housing_stages"]))


def lead_situation(lead: Mapping[str, Any]) -> tuple[Any, ...]:
    return (lead["legal_sphere"], lead["need"], tuple(lead["districts"]))


def self_help_key(need: str, housing_stage: str) -> str:
    return f"{need}|{housing_stage}"


# -- the aggregate ---------------------------------------------------------------------------
class ResponsibilityMap(StampedAggregate):
    """The network's map once the coordination office changed it (one per network)."""

    @staticmethod
    def id_for(network: str) -> UUID:
        return uuid5(NAMESPACE_URL, f"fallnetz:responsibility-map:{network}")

    @classmethod
    def start(cls, network: str, content: MapContent, by: Stamp) -> ResponsibilityMap:
        """The map as the network's file gives it: where the history begins."""
        return cls(id=cls.id_for(network), source_version=content.version,
                   rules=list(content.rules), lead_rules=list(content.lead_rules),
                   self_help=list(content.self_help), by=by)

    @event("Started")
    def __init__(self, id: UUID, source_version: str, rules: list[dict[str, Any]],
                 lead_rules: list[dict[str, Any]], self_help: list[dict[str, Any]],
                 by: Stamp) -> None:
        # rule id → rule, in the order they were made (equally specific rules name their
        # organisations in this order)
        self.rules: dict[str, dict[str, Any]] = {}
        self.lead_rules: dict[str, dict[str, Any]] = {}
        # "need|housing stage" → {"need", "housing_stage", "text", "text_en"}
        self.self_help: dict[str, dict[str, Any]] = {}
        self.numbered = 0  # rule ids are numbered on, never reused
        # the version of the network's file when the web took the map over
        self.started_from = source_version
        self._take(source_version, rules, lead_rules, self_help)

    def _take(self, source_version: str, rules: list[dict[str, Any]],
              lead_rules: list[dict[str, Any]], self_help: list[dict[str, Any]]) -> None:
        self.source_version = source_version
        self.rules, self.lead_rules = {}, {}
        for rule in rules:
            self.rules[self._next_id("r")] = dict(rule)
        for lead in lead_rules:
            self.lead_rules[self._next_id("l")] = dict(lead)
        self.self_help = {self_help_key(s["need"], s["housing_stage"]): dict(s)
                          for s in self_help}

    def _next_id(self, prefix: str) -> str:
        self.numbered += 1
        return f"{prefix}{self.numbered}"

    def next_rule_id(self, prefix: str) -> str:
        return f"{prefix}{self.numbered + 1}"

    # -- rules -------------------------------------------------------------------------------
    def add_rule(self, rule: Mapping[str, Any], terms: Terms, by: Stamp) -> str:
        checked = checked_rule(rule, terms)
        self._refuse_second(self.rules, checked, situation)
        rule_id = self.next_rule_id("r")
        self._rule_added(rule_id=rule_id, rule=checked, by=by)
        return rule_id

    @event("RuleAdded")
    def _rule_added(self, rule_id: str, rule: dict[str, Any], by: Stamp) -> None:
        self.numbered += 1
        self.rules[rule_id] = rule

    def change_rule(self, rule_id: str, rule: Mapping[str, Any], terms: Terms,
                    by: Stamp) -> bool:
        self._rule(rule_id)
        checked = checked_rule(rule, terms)
        if checked == self.rules[rule_id]:
            return False
        self._refuse_second(self.rules, checked, situation, rule_id)
        self._rule_changed(rule_id=rule_id, rule=checked, by=by)
        return True

    @event("RuleChanged")
    def _rule_changed(self, rule_id: str, rule: dict[str, Any], by: Stamp) -> None:
        self.rules[rule_id] = rule

    def remove_rule(self, rule_id: str, by: Stamp) -> None:
        self._rule(rule_id)
        self._rule_removed(rule_id=rule_id, by=by)

    @event("RuleRemoved")
    def _rule_removed(self, rule_id: str, by: Stamp) -> None:
        del self.rules[rule_id]

    def _rule(self, rule_id: str) -> dict[str, Any]:
        if rule_id not in self.rules:
            raise DomainError(_("The map has no rule {rule_id!r} (any more).",
                                rule_id=rule_id), field="rule_id")
        return self.rules[rule_id]

    # -- lead rules --------------------------------------------------------------------------
    def add_lead_rule(self, lead: Mapping[str, Any], terms: Terms, by: Stamp) -> str:
        checked = checked_lead_rule(lead, terms)
        self._refuse_second(self.lead_rules, checked, lead_situation)
        rule_id = self.next_rule_id("l")
        self._lead_rule_added(rule_id=rule_id, rule=checked, by=by)
        return rule_id

    @event("LeadRuleAdded")
    def _lead_rule_added(self, rule_id: str, rule: dict[str, Any], by: Stamp) -> None:
        self.numbered += 1
        self.lead_rules[rule_id] = rule

    def change_lead_rule(self, rule_id: str, lead: Mapping[str, Any], terms: Terms,
                         by: Stamp) -> bool:
        self._lead_rule(rule_id)
        checked = checked_lead_rule(lead, terms)
        if checked == self.lead_rules[rule_id]:
            return False
        self._refuse_second(self.lead_rules, checked, lead_situation, rule_id)
        self._lead_rule_changed(rule_id=rule_id, rule=checked, by=by)
        return True

    @event("LeadRuleChanged")
    def _lead_rule_changed(self, rule_id: str, rule: dict[str, Any], by: Stamp) -> None:
        self.lead_rules[rule_id] = rule

    def remove_lead_rule(self, rule_id: str, by: Stamp) -> None:
        self._lead_rule(rule_id)
        self._lead_rule_removed(rule_id=rule_id, by=by)

    @event("LeadRuleRemoved")
    def _lead_rule_removed(self, rule_id: str, by: Stamp) -> None:
        del self.lead_rules[rule_id]

    def _lead_rule(self, rule_id: str) -> dict[str, Any]:
        if rule_id not in self.lead_rules:
            raise DomainError(_("The map has no rule {rule_id!r} (any more).",
                                rule_id=rule_id), field="rule_id")
        return self.lead_rules[rule_id]

    @staticmethod
    def _refuse_second(rules: dict[str, dict[str, Any]], rule: dict[str, Any],
                       what: Any, other_than: str | None = None) -> None:
        for rule_id, existing in rules.items():
            if rule_id != other_than and what(existing) == what(rule):
                raise DomainError(_("Rule {rule_id} answers for this situation already; "
                                    "please change that one instead.", rule_id=rule_id),
                                  field="need")

    # -- what the people can do themselves ---------------------------------------------------
    def write_self_help(self, said: Mapping[str, Any], terms: Terms, by: Stamp) -> bool:
        """Empty texts take a text away; the same texts again record nothing."""
        checked = checked_self_help(said, terms)
        key = self_help_key(checked["need"], checked["housing_stage"])
        before = self.self_help.get(key)
        if not checked["text"] and before is None:
            raise DomainError(_("Please write what the people can do themselves."),
                              field="text")
        if before == checked or (before is None and not checked["text"]):
            return False
        self._self_help_written(need=checked["need"], housing_stage=checked["housing_stage"],
                                text=checked["text"], text_en=checked["text_en"], by=by)
        return True

    @event("SelfHelpWritten")
    def _self_help_written(self, need: str, housing_stage: str, text: str, text_en: str,
                           by: Stamp) -> None:
        key = self_help_key(need, housing_stage)
        if text:
            self.self_help[key] = {"need": need, "housing_stage": housing_stage,
                                   "text": text, "text_en": text_en}
        else:
            self.self_help.pop(key, None)

    # -- a whole file ------------------------------------------------------------------------
    def take_file(self, content: MapContent, by: Stamp) -> bool:
        """A checked file replaces the map (rules get new ids); the same map again records
        nothing."""
        if content.same_map(self.content()) and content.version == self.source_version:
            return False
        self._imported(source_version=content.version, rules=list(content.rules),
                       lead_rules=list(content.lead_rules), self_help=list(content.self_help),
                       by=by)
        return True

    @event("Imported")
    def _imported(self, source_version: str, rules: list[dict[str, Any]],
                  lead_rules: list[dict[str, Any]], self_help: list[dict[str, Any]],
                  by: Stamp) -> None:
        self._take(source_version, rules, lead_rules, self_help)

    # -- reads -------------------------------------------------------------------------------
    def content(self) -> MapContent:
        return MapContent(version=self.source_version, rules=tuple(self.rules.values()),
                          lead_rules=tuple(self.lead_rules.values()),
                          self_help=tuple(sorted(
                              self.self_help.values(), key=_self_help_order)))

    @property
    def map_version(self) -> str:
        """The version a referral's suggestions came from: the file's and the change's."""
        return f"{self.source_version}+{self.version}"

    def applied_to(self, network: NetworkConfig) -> NetworkConfig:
        from dataclasses import replace

        content = self.content()
        return replace(network, responsibility_version=self.map_version,
                       rules=tuple(_rule_of(r) for r in content.rules),
                       lead_rules=tuple(_lead_of(r) for r in content.lead_rules),
                       self_help=tuple(SelfHelp(**s) for s in content.self_help))


def _self_help_order(said: Mapping[str, Any]) -> tuple[str, int]:
    return (said["need"], HOUSING_STAGES.index(said["housing_stage"]))


def _rule_of(rule: Mapping[str, Any]) -> ResponsibilityRule:
    return ResponsibilityRule(need=rule["need"], organisations=tuple(rule["organisations"]),
                              legal_spheres=tuple(rule["legal_spheres"]),
                              districts=tuple(rule["districts"]),
                              housing_stages=tuple(rule["housing_stages"]))


def _lead_of(lead: Mapping[str, Any]) -> LeadRule:
    return LeadRule(legal_sphere=lead["legal_sphere"], need=lead["need"],
                    organisations=tuple(lead["organisations"]),
                    districts=tuple(lead["districts"]))


# -- the file --------------------------------------------------------------------------------
FILE_KEYS = {"version": str, "lead": list, "rule": list, "self_help": list}
ENTRY_KEYS = {
    "rule": {"need": str, "organisations": list, "legal_spheres": list, "districts": list,
             "housing_stages": list},
    "lead": {"legal_sphere": str, "need": str, "organisations": list, "districts": list},
    "self_help": {"need": str, "housing_stage": str, "text": str, "text_en": str},
}
REQUIRED = {"rule": ("need", "organisations"), "lead": ("legal_sphere", "need", "organisations"),
            "self_help": ("need", "housing_stage", "text")}


class MapFileError(Exception):
    """What is wrong with a file, each problem with where it is (``rule[3].need``)."""

    def __init__(self, problems: list[tuple[str, Message]]) -> None:
        super().__init__("; ".join(f"{where}: {message}" for where, message in problems))
        self.problems = problems


def read_map_file(data: bytes | str, terms: Terms) -> MapContent:
    """A responsibility file (the format of ``responsibility.toml``) checked against the
    network and its directory: every problem is named with its place, and a file with any
    is refused as a whole."""
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        raw = tomllib.loads(text)
    except UnicodeDecodeError:
        raise MapFileError([("(file)", _("The file is not UTF-8 text."))]) from None
    except tomllib.TOMLDecodeError as e:
        raise MapFileError([("(file)", _("The file is not TOML: {reason}",
                                          reason=str(e)))]) from None
    problems: list[tuple[str, Message]] = []
    for key, value in raw.items():
        if key not in FILE_KEYS:
            problems.append((key, _("This field is not part of a responsibility file.")))
        elif not isinstance(value, FILE_KEYS[key]):
            problems.append((key, _("A list of entries is expected here.")
                             if FILE_KEYS[key] is list else _("A text is expected here.")))
    version = raw.get("version")
    if not isinstance(version, str) or not version.strip():
        problems.append(("version", _("{what} is required.", what=_("A version"))))
    if not raw.get("rule"):
        problems.append(("rule", _("The file names no rule.")))
    entries: dict[str, list[dict[str, Any]]] = {"rule": [], "lead": [], "self_help": []}
    seen: dict[str, dict[tuple[Any, ...], int]] = {kind: {} for kind in entries}
    identity = {"rule": situation, "lead": lead_situation,
                "self_help": lambda s: (s["need"], s["housing_stage"])}
    check = {"rule": checked_rule, "lead": checked_lead_rule, "self_help": checked_self_help}
    for kind in entries:
        listed = raw.get(kind) or []
        if not isinstance(listed, list):
            continue
        if len(listed) > MOST_ENTRIES:
            problems.append((kind, _("At most {most} entries, please.", most=MOST_ENTRIES)))
            continue
        for index, entry in enumerate(listed):
            where = f"{kind}[{index}]"
            shape = _shape_problems(kind, entry, where)
            if shape:
                problems += shape
                continue
            try:
                checked = check[kind](entry, terms)
            except DomainError as e:
                problems.append((f"{where}.{e.field}" if e.field else where,
                                 e.message if isinstance(e.message, Message)
                                 else Message(str(e.message))))
                continue
            if kind == "self_help" and not checked["text"]:
                problems.append((f"{where}.text", _(
                    "Please write what the people can do themselves.")))
                continue
            same = identity[kind](checked)
            if same in seen[kind]:
                problems.append((f"{where}.need", _(
                    "The same situation as entry {index} of this list.",
                    index=seen[kind][same])))
                continue
            seen[kind][same] = index
            entries[kind].append(checked)
    if problems:
        raise MapFileError(problems)
    return MapContent(version=str(version).strip(), rules=tuple(entries["rule"]),
                      lead_rules=tuple(entries["lead"]),
                      self_help=tuple(sorted(entries["self_help"], key=_self_help_order)))


def _shape_problems(kind: str, entry: Any, where: str) -> list[tuple[str, Message]]:
    if not isinstance(entry, dict):
        return [(where, _("An entry is expected here."))]
    problems = []
    for key, value in entry.items():
        expected = ENTRY_KEYS[kind].get(key)
        if expected is None:
            problems.append((f"{where}.{key}", _("This field is not part of the entry.")))
        elif not isinstance(value, expected):
            problems.append((f"{where}.{key}", _("A list of texts is expected here, e.g. "
                                                 "[\"Sandow\"].") if expected is list
                             else _("A text is expected here.")))
    for key in REQUIRED[kind]:
        if key not in entry:
            problems.append((f"{where}.{key}", _("This field is required.")))
    return problems


def _toml_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a TOML basic string


def _toml_strings(texts: Iterable[str]) -> str:
    return "[" + ", ".join(map(_toml_string, texts)) + "]"


def map_toml(content: MapContent) -> str:
    """The map as ``responsibility.toml``: a network's file, or an import for the web."""
    lines = ["# Zuständigkeitsmatrix: (need, legal sphere, district, housing stage) → "
             "organisations.",
             "# An empty or missing list means \"any\". Organisations are named by their "
             "directory key.",
             f"version = {_toml_string(content.version)}", "",
             "# Who takes over the lead of a case when its legal sphere changes "
             "(Rechtskreiswechsel)."]
    for lead in content.lead_rules:
        lines += ["[[lead]]", f"legal_sphere = {_toml_string(lead['legal_sphere'])}",
                  f"need = {_toml_string(lead['need'])}",
                  f"organisations = {_toml_strings(lead['organisations'])}"]
        if lead["districts"]:
            lines.append(f"districts = {_toml_strings(lead['districts'])}")
    lines.append("")
    for rule in content.rules:
        lines += ["[[rule]]", f"need = {_toml_string(rule['need'])}"]
        for key in ("legal_spheres", "districts", "housing_stages"):
            if rule[key]:
                lines.append(f"{key} = {_toml_strings(rule[key])}")
        lines.append(f"organisations = {_toml_strings(rule['organisations'])}")
    if content.self_help:
        lines += ["", "# Was die Menschen selbst tun können, per need and housing stage."]
    for said in content.self_help:
        lines += ["[[self_help]]", f"need = {_toml_string(said['need'])}",
                  f"housing_stage = {_toml_string(said['housing_stage'])}",
                  f"text = {_toml_string(said['text'])}"]
        if said["text_en"]:
            lines.append(f"text_en = {_toml_string(said['text_en'])}")
    return "\n".join(lines) + "\n"


# -- the Organigramm and a district's handout ------------------------------------------------
@dataclass(frozen=True)
class Named:
    """An organisation as the Organigramm names it: directory data only."""

    key: str
    name: str
    sector: str
    # the legal spheres it answers for here; empty: whatever the person's legal sphere
    legal_spheres: tuple[str, ...] = ()
    # the contacts the coordinator chose public (name, title, phone, email)
    contacts: tuple[dict[str, str], ...] = ()


@dataclass(frozen=True)
class HandoutRow:
    need: str
    housing_stage: str
    organisations: tuple[Named, ...]
    self_help: str = ""  # German
    self_help_en: str = ""  # English, where written


@dataclass(frozen=True)
class Engagement:
    """A volunteer initiative's field of engagement: a service of a civil-society
    organisation working in the district."""

    organisation: Named
    service: str
    needs: tuple[str, ...]
    languages: tuple[str, ...]


@dataclass(frozen=True)
class LeadTaker:
    legal_sphere: str
    need: str
    organisations: tuple[Named, ...]


@dataclass(frozen=True)
class Handout:
    district: str
    housing_stages: tuple[str, ...]
    rows: tuple[HandoutRow, ...]
    engagements: tuple[Engagement, ...]
    lead_takers: tuple[LeadTaker, ...]
    coordination_office: Named | None
    version: str

    def row(self, need: str, housing_stage: str) -> HandoutRow | None:
        return next((r for r in self.rows
                     if (r.need, r.housing_stage) == (need, housing_stage)), None)

    def at(self, housing_stage: str) -> tuple[HandoutRow, ...]:
        return tuple(r for r in self.rows if r.housing_stage == housing_stage)

    def organisations(self) -> tuple[Named, ...]:
        """Each organisation the handout names once (coordination office first), for the
        contact overview."""
        found: dict[str, Named] = {}
        if self.coordination_office is not None:
            found[self.coordination_office.key] = self.coordination_office
        for row in self.rows:
            for named in row.organisations:
                found.setdefault(named.key, named)
        for engagement in self.engagements:
            found.setdefault(engagement.organisation.key, engagement.organisation)
        for taker in self.lead_takers:
            for named in taker.organisations:
                found.setdefault(named.key, named)
        return tuple(found.values())


def public_contacts(organisation: Organisation) -> tuple[dict[str, str], ...]:
    return tuple({k: str(c[k]) for k in CONTACT_FIELDS if c.get(k)}
                 for c in organisation.shown_contacts() if c.get("name"))


def _named(organisation: Organisation, spheres: Iterable[str] = ()) -> Named:
    return Named(key=organisation.key, name=organisation.name, sector=organisation.sector,
                 legal_spheres=tuple(spheres), contacts=public_contacts(organisation))


def _responsible_here(network: NetworkConfig, active: Mapping[str, Organisation],
                      need: str, district: str, housing_stage: str) -> tuple[Named, ...]:
    """The organisations the map names for the need in the district at the housing stage,
    whatever the legal sphere, each with the legal spheres it is named for (most specific
    rules first, as :meth:`NetworkConfig.responsible` orders them)."""
    rules = [r for r in network.rules if r.need == need
             and (not r.districts or district in r.districts)
             and (not r.housing_stages or housing_stage in r.housing_stages)]
    rules.sort(key=lambda r: -(bool(r.legal_spheres) + bool(r.districts)
                               + bool(r.housing_stages)))
    spheres: dict[str, set[str] | None] = {}  # None: every legal sphere
    for rule in rules:
        for key in rule.organisations:
            if key not in active:
                continue
            if not rule.legal_spheres:
                spheres[key] = None
            elif key not in spheres:
                spheres[key] = set(rule.legal_spheres)
            elif spheres[key] is not None:
                spheres[key] |= set(rule.legal_spheres)  # type: ignore[operator]
    return tuple(_named(active[key], _ordered(named or (), LEGAL_SPHERES))
                 for key, named in spheres.items())


def handout(network: NetworkConfig, organisations: Iterable[Organisation], district: str,
            housing_stage: str | None = None) -> Handout:
    """The map for one district (and one housing stage, or all four): per housing stage and
    need, the organisations responsible and what the people can do themselves; the
    volunteer initiatives working there; who takes over the lead when the legal sphere
    changes; and the coordination office. ``network`` must carry the map in force (see
    :meth:`domain.services.responsibilities.ResponsibilityService.effective_network`).
    Only active organisations, only their public contacts; no person data."""
    stages = (housing_stage,) if housing_stage else HOUSING_STAGES
    active = {o.key: o for o in organisations if o.active}
    texts = {(s.need, s.housing_stage): s for s in network.self_help}
    rows = []
    for stage in stages:
        for need in network.needs:
            said = texts.get((need, stage))
            rows.append(HandoutRow(need=need, housing_stage=stage,
                                   organisations=_responsible_here(network, active, need,
                                                                   district, stage),
                                   self_help=said.text if said else "",
                                   self_help_en=said.text_en if said else ""))
    engagements = []
    for organisation in sorted(active.values(), key=lambda o: o.name.casefold()):
        if organisation.sector != CIVIL_SOCIETY:
            continue
        for _service_id, service in sorted(organisation.offered_services().items()):
            if service.get("districts") and district not in service["districts"]:
                continue
            engagements.append(Engagement(
                organisation=_named(organisation), service=str(service["name"]),
                needs=tuple(service.get("needs") or ()),
                languages=tuple(service.get("languages") or ())))
    takers = []
    for lead in network.lead_rules:
        if lead.districts and district not in lead.districts:
            continue
        named = tuple(_named(active[k]) for k in lead.organisations if k in active)
        takers.append(LeadTaker(legal_sphere=lead.legal_sphere, need=lead.need,
                                organisations=named))
    office = active.get(network.coordination_office)
    return Handout(district=district, housing_stages=tuple(stages), rows=tuple(rows),
                   engagements=tuple(engagements), lead_takers=tuple(takers),
                   coordination_office=_named(office) if office is not None else None,
                   version=network.responsibility_version)
