"""The UI is German first: every string of the web (code and templates) has a German
translation with the same placeholders, so none can slip through in English."""

from __future__ import annotations

import re

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from domain.settings import PROJECT_ROOT

PLACEHOLDER = re.compile(r"%\(\w+\)s|\{\w+\}")


def web_messages() -> set[str]:
    found = extract_from_dir(
        PROJECT_ROOT / "web",
        method_map=[("**.py", "python"), ("templates/**.html", "jinja2")],
        keywords={"_": None, "_l": None, "gettext": None, "lazy_gettext": None})
    return {message if isinstance(message, str) else message[0]
            for _file, _line, message, _comments, _context in found}


def test_every_web_string_has_a_german_translation_with_the_same_placeholders() -> None:
    with open(PROJECT_ROOT / "web/translations/de/LC_MESSAGES/messages.po", "rb") as f:
        catalog = read_po(f)
    messages = web_messages()
    assert len(messages) > 300
    untranslated = sorted(m for m in messages if not (catalog.get(m) and catalog.get(m).string))
    assert not untranslated, f"not translated into German: {untranslated}"
    changed = sorted(m for m in messages
                     if sorted(PLACEHOLDER.findall(m))
                     != sorted(PLACEHOLDER.findall(catalog.get(m).string)))
    assert not changed, f"placeholders differ in: {changed}"
