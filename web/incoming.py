"""What every request brings in, checked before any schema reads it: JSON within limits
(nesting depth, digits of a number) and text without control characters or lone
surrogates. Hostile or absurd input is refused as 400 or 422 naming the field; it never
reaches the store, where it would fail as a 500 (a lone surrogate cannot be written as
UTF-8, PostgreSQL refuses NUL)."""

from __future__ import annotations

import json
from typing import Any

from flask import Flask, request
from flask.json.provider import DefaultJSONProvider
from flask_babel import gettext as _, lazy_gettext as _l
from marshmallow import ValidationError
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request
from werkzeug.exceptions import BadRequest

from domain.base import unprintable_paths

# No body of the API nests deeper than a few levels (HSDS: organisation → service →
# schedule …); deeper is an attack on the parser, not data.
MOST_DEPTH = 32
UNPRINTABLE_MESSAGE = _l("Please remove the control characters or broken characters from "
                         "this field.")


class UnreadableInput(BadRequest):
    """A body that is not JSON this product reads; its description says why."""


def decode_json(text: str | bytes) -> Any:
    """JSON as :func:`json.loads` reads it, refused as :class:`UnreadableInput` when it is
    malformed, nests deeper than :data:`MOST_DEPTH` or has a number too long to read."""
    try:
        value = json.loads(text)
    except RecursionError:
        raise UnreadableInput(_("The JSON body nests too deeply (at most %(most)s levels).",
                                most=MOST_DEPTH)) from None
    except UnicodeDecodeError:
        raise UnreadableInput(_("The body is not UTF-8 text.")) from None
    except json.JSONDecodeError as error:
        raise UnreadableInput(_("The body is not valid JSON (line %(line)s, column "
                                "%(column)s).", line=error.lineno, column=error.colno)) from None
    except ValueError:  # Python's limit on the digits of an integer
        raise UnreadableInput(_("A number in the JSON body has too many digits.")) from None
    if _depth(value) > MOST_DEPTH:
        raise UnreadableInput(_("The JSON body nests too deeply (at most %(most)s levels).",
                                most=MOST_DEPTH))
    return value


def _depth(value: Any) -> int:
    """How deep lists and objects nest, without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            if level <= MOST_DEPTH:
                children = item.values() if isinstance(item, dict) else item
                stack.extend((child, level + 1) for child in children)
    return deepest


def refuse_unprintable(data: Any) -> None:
    """Raises the schema's ValidationError naming every field with such characters."""
    found = list(unprintable_paths(data))
    if not found:
        return
    messages: dict[str, Any] = {}
    for path in found:
        node = messages
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1] if path else "_schema"] = [str(UNPRINTABLE_MESSAGE)]
    raise ValidationError(messages)


class JSONProvider(DefaultJSONProvider):
    """``request.get_json()`` with the same limits (a refusal is a 400 naming why)."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return decode_json(s)


class ArgumentsParser(FlaskParser):
    """The API's parser (flask-smorest's ``@arguments``) with the same limits."""

    def _raw_load_json(self, req: Any) -> Any:
        if not is_json_request(req):
            return core.missing
        data = req.get_data(cache=True)
        return decode_json(data) if data else core.missing


def init_app(app: Flask) -> None:
    app.json = JSONProvider(app)

    @app.before_request
    def refuse_nul() -> None:
        # Query strings: Werkzeug has replaced broken UTF-8 already, but NUL passes, and
        # PostgreSQL would refuse it in any query. (Forms are refused field by field by
        # their schema, web/forms.py, so the form comes back with the message beside it.)
        if request.endpoint in LARGE_UPLOADS:  # before CSRFProtect reads the form
            request.max_content_length = LARGEST_HSDS_UPLOAD
        # The public HSDS API filters in memory and answers any string of the standard's
        # parameters, so a client of the standard is not refused what the standard allows.
        if request.blueprint == "hsds":
            return
        for name, value in request.args.items(multi=True):
            if "\x00" in name or "\x00" in value:
                raise UnreadableInput(_("The field %(field)s contains a NUL character.",
                                        field=name.replace("\x00", "")[:40]))


# A Land's directory as a data package is a few megabytes; other requests keep the app's 1 MB.
LARGEST_HSDS_UPLOAD = 20 * 1024 * 1024
LARGE_UPLOADS = ("exchange.import_document", "api_directory.import_hsds")


def hsds_document(data: bytes) -> Any:
    """An HSDS document as uploaded: its JSON form, or its tabular form zipped as a data
    package. Raises :class:`UnreadableInput`, or
    :class:`domain.exchange.hsds.Unreadable` with pointers into the package."""
    from domain.exchange.hsds_tables import read_package

    if data[:2] == b"PK":  # a zip archive's signature
        return read_package(data)
    return decode_json(data)
