"""The caseworker's forms, as marshmallow schemas; choices come from the network's files."""

from __future__ import annotations

import re
from datetime import date
from functools import lru_cache
from typing import Any

from babel import Locale
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError, validates, validates_schema

from domain.network import NetworkConfig
from domain.vocabulary import HOUSING_STAGES, LEGAL_SPHERES, RESIDENCE_STATUSES, SECTORS, \
    URGENCIES
from web.forms import CommandForm, VersionedForm, a_date, choice, choices, flag, integer, text

LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}$")


def purposes_of(network: NetworkConfig) -> list[str]:
    """A consent's purpose is a need group (e.g. health) or one need."""
    groups = sorted({n.group for n in network.needs.values()})
    return groups + [code for code in network.needs if code not in groups]


def _person_fields(network: NetworkConfig, this_year: int, base: type[Any]) -> type[Any]:
    """The person's fields, as opening a case asks for them and a correction changes them."""
    class PersonFields(base):  # type: ignore[misc, valid-type]
        display_name = text(max_length=120)
        birth_year = integer(minimum=1900, maximum=this_year, required=False)
        household_size = integer(minimum=1, maximum=30)
        languages = text(required=False, max_length=100)
        interpreter_needed = flag()
        district = choice(network.districts)

        @validates("languages")
        def valid_languages(self, value: str | None, **_: Any) -> None:
            unknown = [name for name in _typed_languages(value) if _language_code(name) is None]
            if unknown:
                raise ValidationError(str(_l(
                    "Unknown language: %(names)s. Please give languages by name, e.g. "
                    "“Arabisch, Englisch”, or by code, e.g. “ar, en”.",
                    names=", ".join(f"“{name}”" for name in unknown))))
    return PersonFields


def open_case_form(network: NetworkConfig, this_year: int) -> type[CommandForm]:
    class OpenCaseForm(_person_fields(network, this_year, CommandForm)):  # type: ignore[misc]
        housing_stage = choice(HOUSING_STAGES)
        residence_status = choice(RESIDENCE_STATUSES)
        needs = choices(list(network.needs), required=False)
    return OpenCaseForm


def person_form(network: NetworkConfig, this_year: int) -> type[VersionedForm]:
    """Correcting the person's data (a typo in the name, a grown household)."""
    return _person_fields(network, this_year, VersionedForm)


class HousingForm(VersionedForm):
    housing_stage = choice(HOUSING_STAGES)


def person_of(data: dict[str, Any]) -> dict[str, Any]:
    """The person as the domain takes it, from a form's values."""
    return {"display_name": data["display_name"], "birth_year": data["birth_year"],
            "household_size": data["household_size"],
            "languages": parse_languages(data["languages"]),
            "interpreter_needed": data["interpreter_needed"], "district": data["district"]}


def parse_languages(value: str | None) -> list[str]:
    """The language codes (ISO 639) of what was typed: names in German or English
    ("Arabisch", "Farsi") or codes ("ar"), separated by commas; each once."""
    codes = [_language_code(name) for name in _typed_languages(value)]
    return list(dict.fromkeys(code for code in codes if code is not None))


def _typed_languages(value: str | None) -> list[str]:
    return [c.strip() for c in (value or "").replace(";", ",").split(",") if c.strip()]


# What people call some languages besides the standard's names (Babel's CLDR data).
LANGUAGE_ALIASES = {"farsi": "fa", "dari": "fa", "kurmandschi": "ku", "kurmanji": "ku",
                    "sorani": "ckb"}


def _language_code(name: str) -> str | None:
    key = name.strip().lower()
    return LANGUAGE_ALIASES.get(key) or _language_index().get(key)


@lru_cache(maxsize=1)
def _language_index() -> dict[str, str]:
    """Every language CLDR knows, by its code and its German and English name."""
    index: dict[str, str] = {}
    for locale in ("en", "de"):
        for code, name in Locale(locale).languages.items():
            if LANGUAGE_CODE.match(code) and len(code) <= 3:
                index[code] = code
                index[name.lower()] = code
    return index


def need_form(network: NetworkConfig) -> type[VersionedForm]:
    class NeedForm(VersionedForm):
        need = choice(list(network.needs))
        note = text(required=False, max_length=500)
    return NeedForm


def consent_form(network: NetworkConfig, organisation_ids: list[str],
                 today: date) -> type[VersionedForm]:
    class ConsentForm(VersionedForm):
        receiver_organisation_id = choice(organisation_ids, required=False)
        sector = choice(SECTORS, required=False)
        purposes = choices(purposes_of(network))
        expires_on = a_date()
        given_on = a_date(required=False)

        @validates_schema
        def receiver_or_sector(self, data: dict[str, Any], **_: Any) -> None:
            if bool(data.get("receiver_organisation_id")) == bool(data.get("sector")):
                raise ValidationError(str(_l("Please choose either one organisation or one "
                                             "sector.")), "receiver_organisation_id")
            given = data.get("given_on") or today
            if given > today:
                raise ValidationError(str(_l("Consent cannot be given in the future.")),
                                      "given_on")
            if data["expires_on"] <= given:
                raise ValidationError(str(_l("The expiry date must lie after the day the "
                                             "consent was given.")), "expires_on")
    return ConsentForm


class RevokeConsentForm(VersionedForm):
    consent_id = text(max_length=64)
    reason = text(max_length=500)


class ResolveNeedForm(VersionedForm):
    need = text(max_length=80)
    note = text(required=False, max_length=500)


class ReasonForm(VersionedForm):
    """Closing, reopening, asking for the erasure: a reason is recorded with each."""

    reason = text(max_length=500)


class ResidenceStatusForm(VersionedForm):
    residence_status = choice(RESIDENCE_STATUSES)
    legal_sphere = choice(LEGAL_SPHERES, required=False)


def referral_form(network: NetworkConfig, receivers: list[str]) -> type[CommandForm]:
    """The form for these choices, made once: a schema class costs more to make than a
    POST's whole check, and a network's receivers are few."""
    key = (id(network), tuple(receivers))
    found = _REFERRAL_FORMS.get(key)
    if found is None or found[0] is not network:
        if len(_REFERRAL_FORMS) >= 1024:
            _REFERRAL_FORMS.clear()
        found = _REFERRAL_FORMS[key] = (network, _referral_form(network, receivers))
    return found[1]


_REFERRAL_FORMS: dict[tuple[int, tuple[str, ...]], tuple[NetworkConfig, type[CommandForm]]] = {}


def _referral_form(network: NetworkConfig, receivers: list[str]) -> type[CommandForm]:
    class ReferralForm(CommandForm):
        need = choice(list(network.needs))
        urgency = choice(URGENCIES)
        kind = choice(("service", "lead_handoff"))
        receiver = choice(receivers)
        reason = text(max_length=2000)
        crisis_override_reason = text(required=False, max_length=1000)
        # Asked for only when the same receiver already has an open referral for the need.
        send_anyway = flag()
    return ReferralForm


class DraftForm(VersionedForm):
    crisis_override_reason = text(required=False, max_length=1000)


class DiscardDraftForm(VersionedForm):
    reason = text(required=False, max_length=500)
