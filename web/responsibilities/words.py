"""The responsibility map in words, in the reader's language: a rule as "Bedarf ·
Rechtskreise · Stadtteile · Wohnform → Organisationen", each part "alle" where the rule names
none; and the Organigramm's chart and query (shared by the signed-in page and the public
one)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import request
from flask_babel import gettext as _, lazy_gettext as _l
from marshmallow import ValidationError, fields, validate

from domain.organisation import Organisation
from domain.responsibilities import Handout, Named
from domain.vocabulary import HOUSING_STAGES
from web.application import current_application
from web.forms import FormSchema, field_messages
from web.labels import HOUSING_STAGE, SECTOR, label, need_label
from web.responsibilities.chart import organigramm_svg, spheres_text


def need_name(code: str) -> str:
    return need_label(current_application().network, code)


def stage_name(code: str) -> str:
    return label(HOUSING_STAGE, code)


def stage_heading(code: str) -> str:
    """A housing stage as a heading: "Eigene Wohnung", "Own flat"."""
    name = stage_name(code)
    return name[:1].upper() + name[1:]


def spheres_words(codes: list[str]) -> str:
    return ", ".join(codes) if codes else _("every legal sphere")


def districts_words(codes: list[str]) -> str:
    return ", ".join(codes) if codes else _("all districts")


def stages_words(codes: list[str]) -> str:
    return ", ".join(stage_name(c) for c in codes) if codes else _("every housing stage")


def organisation_words(keys: list[str], directory: Mapping[str, Organisation]) -> str:
    """The names, and what is wrong with a key the directory does not have (any more)."""
    shown = []
    for key in keys:
        organisation = directory.get(key)
        if organisation is None:
            shown.append(_("%(key)s (not in the directory)", key=key))
        elif not organisation.active:
            shown.append(_("%(name)s (no longer active)", name=organisation.name))
        else:
            shown.append(organisation.name)
    return ", ".join(shown)


def rule_words(rule: Mapping[str, Any], directory: Mapping[str, Organisation]) -> str:
    """A rule on one line, for the history."""
    if "legal_sphere" in rule:  # a lead rule
        return _("on a change to %(sphere)s, %(need)s in %(districts)s: %(names)s",
                 sphere=rule["legal_sphere"], need=need_name(rule["need"]),
                 districts=districts_words(rule["districts"]),
                 names=organisation_words(rule["organisations"], directory))
    return _("%(need)s – %(spheres)s – %(districts)s – %(stages)s: %(names)s",
             need=need_name(rule["need"]), spheres=spheres_words(rule["legal_spheres"]),
             districts=districts_words(rule["districts"]),
             stages=stages_words(rule["housing_stages"]),
             names=organisation_words(rule["organisations"], directory))


def directory_by_key() -> dict[str, Organisation]:
    return {o.key: o for o in current_application().organisations()}


def named_text(organisation: Named) -> str:
    return spheres_text(organisation, lambda spheres: _("only %(spheres)s", spheres=spheres))


def self_help_in_language(language: str) -> Any:
    """The text of a handout row as the reader reads it: English where written, else the
    German one."""
    def text(row: Any) -> str:
        if row is None:
            return ""
        return (row.self_help_en or row.self_help) if language == "en" else row.self_help
    return text


def chart(found: Handout, language: str) -> Any:
    read = self_help_in_language(language)
    return organigramm_svg(
        found, title=_("Organigramm of %(district)s: who is responsible for what, by housing "
                       "stage", district=found.district),
        need_label=need_name, stage_label=stage_heading,
        sector_label=lambda code: label(SECTOR, code),
        spheres_label=lambda organisation: _("only %(spheres)s", spheres=", ".join(
            organisation.legal_spheres)) if organisation.legal_spheres else "",
        self_help_text=lambda text: _("On their own: %(text)s", text=text),
        self_help=lambda need, stage: read(found.row(need, stage)),
        volunteers_title=_("Volunteer initiatives in %(district)s", district=found.district),
        nobody=_("not named yet"))


def _known_district(value: str) -> None:
    if value not in current_application().network.districts:
        raise ValidationError(_l("Please choose one of the districts."))


class OrganigrammQuery(FormSchema):
    """Which district and housing stage the Organigramm shows (the query string). Each
    field checks itself, so several unusable ones are all named at once."""

    stadtteil = fields.String(load_default=None, validate=_known_district)
    wohnform = fields.String(load_default=None, validate=validate.OneOf(
        HOUSING_STAGES, error=_l("Please choose one of the options.")))
    sprache = fields.String(load_default=None, validate=validate.OneOf(
        ("de", "en"), error=_l("Please choose one of the options.")))


def organigramm_choice() -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The district (the network's first where none is chosen) and housing stage asked
    for; what cannot be used is named and left out."""
    given = {k: v for k, v in request.args.items()
             if k in ("stadtteil", "wohnform", "sprache") and v.strip()}
    errors: dict[str, list[str]] = {}
    try:
        choice = OrganigrammQuery().load(given)
    except ValidationError as e:
        errors = field_messages(e)
        choice = OrganigrammQuery().load({k: v for k, v in given.items() if k not in errors})
    choice["stadtteil"] = choice["stadtteil"] or current_application().network.districts[0]
    return choice, errors
