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


def test_labels_and_dates_read_as_babel_writes_them_in_both_languages(app) -> None:  # type: ignore[no-untyped-def]
    # The label tables and date filters skip Babel per call; what they show must not change.
    from datetime import date, datetime, timedelta, timezone

    from flask_babel import format_date, format_datetime

    from web import labels
    from web.i18n import speaking, translate

    tables = [labels.STATUS, labels.URGENCY, labels.KIND, labels.RESIDENCE_STATUS,
              labels.HOUSING_STAGE, labels.SECTOR, labels.ROLE, labels.STAGE,
              labels.CONSENT_STATE, labels.NEED_STATE, labels.CASE_STATUS, labels.EVENT]
    # A year of hours in steps that cross both daylight-saving changes and every weekday.
    moments = [datetime(2026, 1, 1, 0, 7) + timedelta(hours=7 * i) for i in range(1300)]
    moments += [datetime(2026, 3, 29, 0, 30, tzinfo=timezone.utc),
                datetime(2026, 10, 25, 0, 59, tzinfo=timezone.utc)]
    with app.test_request_context():
        for locale in ("de", "en"):
            with speaking(locale):
                for table in tables:
                    for code, text in table.items():
                        # the text as the request's language writes it (a domain message
                        # of domain.referral.COMMANDS through the domain's catalog)
                        assert labels.label(table, code) == translate(text)
                assert labels.label(labels.STATUS, "unknown-code") == "unknown-code"
                assert labels.label(labels.STATUS, None) == ""
                for moment in moments:
                    assert labels.when(moment) == format_datetime(moment, "dd.MM.yyyy HH:mm")
                    assert labels.when(moment.isoformat(), True) == format_datetime(
                        moment, "EEE dd.MM.yyyy HH:mm")
                    assert labels.day(moment) == format_date(moment, "dd.MM.yyyy")
                assert labels.day(date(2026, 2, 3)) == format_date(date(2026, 2, 3),
                                                                   "dd.MM.yyyy")
                assert labels.when(None) == labels.when("") == labels.day(None) == ""


def test_the_language_is_changed_for_a_while_only_through_speaking() -> None:
    """``web.i18n.language`` keeps the request's language (asked once per cell of a list);
    Flask-Babel's ``force_locale`` alone would change the catalog but not it."""
    from pathlib import Path

    web = Path(__file__).resolve().parents[2] / "web"
    users = [p.relative_to(web).as_posix() for p in web.rglob("*.py")
             if "force_locale" in p.read_text(encoding="utf-8")]
    assert users == ["i18n.py"]
