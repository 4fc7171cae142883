"""German first, English second (Flask-Babel). The web's own strings are catalogued in
``web/translations``, the domain's messages in ``domain/translations``; both catalogs are
merged. The language is the one a user chose, else the browser's if it is English, else
German."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask, has_request_context, request, session
from flask_babel import Babel, get_locale, gettext

from domain.messages import Message

LANGUAGES = ("de", "en")
TIMEZONE = "Europe/Berlin"


def select_locale() -> str:
    if not has_request_context():  # the operators' commands speak English
        return "en"
    from web.person.words import PERSON_LANGUAGES, on_person_page

    if on_person_page():  # the person's own page speaks their language
        chosen = session.get("person_language")
        if chosen in PERSON_LANGUAGES:
            return chosen
        return request.accept_languages.best_match(PERSON_LANGUAGES, default="de") or "de"
    chosen = session.get("language")
    if chosen in LANGUAGES:
        return chosen
    return request.accept_languages.best_match(LANGUAGES, default="de") or "de"


def translate(message: Any) -> str:
    """A domain message in the user's language; anything else as it is."""
    if not isinstance(message, Message):
        return str(message)
    params = {k: translate(v) if isinstance(v, Message) else v
              for k, v in message.params.items()}
    return gettext(message.msgid).format(**params)


def language() -> str:
    return str(get_locale() or "de")


def init_app(app: Flask) -> None:
    root = Path(app.root_path)
    app.config.setdefault("BABEL_DEFAULT_LOCALE", "de")
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", TIMEZONE)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", ";".join(
        str(p) for p in (root / "translations", root.parent / "domain" / "translations")))
    Babel(app, locale_selector=select_locale)
    app.jinja_env.globals.update(translate=translate, language=language, LANGUAGES=LANGUAGES)
