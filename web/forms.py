"""Form input → validated values, with marshmallow (unknown fields refused) and messages in
the user's language, shown beside each field.

Every state-changing form also carries the CSRF token (checked by Flask-WTF before the
view runs), an idempotency key (so a double submit records once) and, where it changes an
existing object, the version the user saw (so a concurrent change conflicts, never
overwrites)."""

from __future__ import annotations

import functools
import hashlib
import json
import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any

from flask import request
from flask_babel import lazy_gettext as _l
from marshmallow import RAISE, Schema, ValidationError, fields, pre_load, validate, \
    validates_schema

from domain.base import DomainError
from web.i18n import translate
from web.incoming import refuse_unprintable

MESSAGES = {
    "required": _l("Please fill in this field."),
    "null": _l("Please fill in this field."),
    "invalid": _l("This value is not valid."),
}
SYSTEM_FIELDS = ("csrf_token",)


class FormError(Exception):
    def __init__(self, errors: dict[str, list[str]], values: dict[str, Any]) -> None:
        super().__init__("invalid form")
        self.errors = errors
        self.values = values


class FormSchema(Schema):
    class Meta:
        unknown = RAISE

    error_messages = {"unknown": _l("This field is not part of the form.")}

    @validates_schema(pass_original=True, skip_on_field_errors=False)
    def printable(self, _data: Any, original: Any, **_: Any) -> None:
        # Beside the other fields' messages, so one correction covers them all.
        refuse_unprintable(original)

    @pre_load
    def blanks_are_missing(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        # An empty input is a missing value: required fields say so, optional ones are None.
        cleaned: dict[str, Any] = {}
        for key, value in data.items():
            if isinstance(value, list):
                value = [v for v in value if v.strip()]
                if value:
                    cleaned[key] = value
            elif isinstance(value, str) and value.strip() == "":
                continue
            else:
                cleaned[key] = value
        return cleaned


class CommandForm(FormSchema):
    """A form that issues a command: double submits record once."""

    idempotency_key = fields.String(required=True, validate=validate.Length(
        max=64, error=_l("The form is damaged. Please reload the page.")),
        error_messages={**MESSAGES, "required": _l("The form is damaged. Please reload the page.")})


class VersionedForm(CommandForm):
    expected_version = fields.Integer(required=True, strict=False, error_messages=MESSAGES)


def text(*, required: bool = True, max_length: int = 2000,
         strip: bool = True) -> fields.Field:
    length = validate.Length(max=max_length, error=_l("Please use at most {max} characters."))
    cls = StrippedString if strip else fields.String
    if required:
        return cls(required=True, validate=length, error_messages=MESSAGES)
    return cls(load_default=None, validate=length, error_messages=MESSAGES)


def choice(options: Sequence[str], *, required: bool = True) -> fields.Field:
    one_of = validate.OneOf(list(options), error=_l("Please choose one of the options."))
    if required:
        return fields.String(required=True, validate=one_of, error_messages=MESSAGES)
    return fields.String(load_default=None, validate=one_of, error_messages=MESSAGES)


def choices(options: Sequence[str], *, required: bool = True) -> fields.Field:
    one_of = validate.ContainsOnly(list(options), error=_l("Please choose from the options."))
    kwargs: dict[str, Any] = {"required": True} if required else {"load_default": list}
    return fields.List(fields.String(error_messages=MESSAGES), validate=one_of,
                       error_messages=MESSAGES, **kwargs)


def integer(*, minimum: int, maximum: int, required: bool = True) -> fields.Field:
    within = validate.Range(min=minimum, max=maximum,
                            error=_l("Please enter a number from {min} to {max}."))
    messages = {**MESSAGES, "invalid": _l("Please enter a whole number.")}
    if required:
        return fields.Integer(required=True, strict=False, validate=within,
                              error_messages=messages)
    return fields.Integer(load_default=None, strict=False, validate=within,
                          error_messages=messages)


def a_date(*, required: bool = True) -> fields.Field:
    messages = {**MESSAGES, "invalid": _l("Please enter a date (DD.MM.YYYY)."),
                "format": _l("Please enter a date (DD.MM.YYYY).")}
    if required:
        return GermanDate(required=True, error_messages=messages)
    return GermanDate(load_default=None, error_messages=messages)


def flag() -> fields.Field:
    return fields.Boolean(load_default=False, truthy={"on", "1", "true", "ja"},
                          falsy={"", "0", "false", "off"}, error_messages=MESSAGES)


class StrippedString(fields.String):
    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        return super()._deserialize(value, attr, data, **kwargs).strip()


class GermanDate(fields.Date):
    """Accepts 31.12.2026 (as typed in German offices) and 2026-12-31 (a date input); a date
    in that form that is no day of the calendar (31.02.2026) is named as such."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, str) and value.count(".") == 2:
            day, month, year = (part.strip() for part in value.split("."))
            if day.isdigit() and month.isdigit() and year.isdigit() and len(year) == 4:
                try:
                    date(int(year), int(month), int(day))
                except ValueError:
                    raise ValidationError(str(_l("There is no %(date)s in the calendar.",
                                                 date=value.strip()))) from None
            value = f"{year}-{month.zfill(2)}-{day.zfill(2)}"
        return super()._deserialize(value, attr, data, **kwargs)


def content_key(by: Any, command: str, *content: Any) -> str:
    """An idempotency key made of what a form says rather than of the form page: a page
    opened again (Back, reload) carries a new random key, so where sending the same
    content twice is always a slip, this one makes the second send the first's."""
    canonical = json.dumps([by.user, str(by.organisation_id), command, content],
                           sort_keys=True, default=str, ensure_ascii=False)
    return "content:" + hashlib.sha256(canonical.encode()).hexdigest()[:40]


def field_messages(error: ValidationError) -> dict[str, list[str]]:
    """A schema's messages per field, as the pages show them beside each field."""
    return {k: [str(m) for m in (v if isinstance(v, list) else [v])]
            for k, v in error.messages.items()}  # type: ignore[union-attr]


def load_form(schema: type[Schema], extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The validated form values, or :class:`FormError` with a message per field."""
    raw: dict[str, Any] = {}
    for key in request.form:
        if key in SYSTEM_FIELDS:
            continue
        values = request.form.getlist(key)
        many = isinstance(schema._declared_fields.get(key), fields.List)  # type: ignore[attr-defined]
        raw[key] = values if many else values[-1]
    raw.update(extra or {})
    try:
        return _instance(schema).load(raw)
    except ValidationError as e:
        raise FormError(_flatten(e.messages), raw) from None


@functools.lru_cache(maxsize=4096)
def _instance(schema: type[Schema]) -> Schema:
    """One instance per form: a schema holds no state between loads (marshmallow 4 has no
    context), and making one copies all its fields, a visible share of every form POST.
    Bounded: the referral form is a class per set of choices (web/cases/forms.py), made
    again when its own table is emptied."""
    return schema()


def _flatten(messages: Any) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for field, value in (messages.items() if isinstance(messages, dict) else
                         [("_form", messages)]):
        if isinstance(value, dict):  # a list field: errors per item
            flat = [str(m) for item in value.values() for m in
                    (item if isinstance(item, list) else [item])]
        else:
            flat = [str(m) for m in (value if isinstance(value, list) else [value])]
        errors[field] = flat
    return errors


def domain_error(error: DomainError, values: dict[str, Any],
                 known_fields: Sequence[str] = ()) -> FormError:
    """A refused command as form errors: beside its field when the form has it."""
    field = error.field if error.field in known_fields else "_form"
    return FormError({field: [translate(error.message)]}, values)


def new_key() -> str:
    return uuid.uuid4().hex
