"""Every string the person sees (their own page, the slip, the consent form) exists in all
six languages of DESIGN's person-facing pages: German, English (the msgid), Arabic, Farsi
(Dari), Ukrainian and Russian; and the staff's pages stay German/English."""

from __future__ import annotations

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

from domain.settings import PROJECT_ROOT
from web.person.words import PERSON_LANGUAGES, SHARED_WITH_STAFF

WEB = PROJECT_ROOT / "web"
# What the person reads: their pages, the slip and the consent form, and their words.
SOURCES = [*sorted((WEB / "templates" / "person").glob("*.html")),
           WEB / "templates" / "voice" / "slip.html",
           *sorted((WEB / "person").glob("*.py")), WEB / "voice" / "consent_form.py"]
KEYWORDS = {"_": None, "_l": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None}


def person_strings() -> set[str]:
    found: set[str] = set(SHARED_WITH_STAFF)
    for path in SOURCES:
        method = "jinja2" if path.suffix == ".html" else "python"
        options = {"extensions": "jinja2.ext.i18n"} if method == "jinja2" else {}
        for _line, message, _comments, _context in extract_from_file(
                method, str(path), keywords=KEYWORDS, options=options):
            found.add(message[0] if isinstance(message, tuple) else message)
    return found


def test_the_person_sees_strings_from_these_files() -> None:
    strings = person_strings()
    assert len(strings) > 60
    assert "Where your help stands" in strings and "Consent to share my case" in strings


@pytest.mark.parametrize("language", [lang for lang in PERSON_LANGUAGES if lang != "en"])
def test_every_string_the_person_sees_is_translated(language: str) -> None:
    path = WEB / "translations" / language / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as file:
        catalog = read_po(file)
    missing = sorted(s for s in person_strings()
                     if not (catalog.get(s) and all(catalog.get(s).string
                                                    if isinstance(catalog.get(s).string, tuple)
                                                    else [catalog.get(s).string])))
    assert not missing, f"{language}: {missing}"


def test_the_right_to_left_languages_are_marked() -> None:
    from web.person.words import RIGHT_TO_LEFT

    assert set(RIGHT_TO_LEFT) == {"ar", "fa"}
