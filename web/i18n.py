"""German first, English second (Flask-Babel). The web's own strings are catalogued in
``web/translations``, the domain's messages in ``domain/translations``; both catalogs are
merged. The language is the one a user chose, else the browser's if it is English, else
German."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from flask import Flask, has_request_context, request, session
from flask_babel import Babel, force_locale, get_locale, get_translations, gettext

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


# The request's language once known. Asked once per cell of a list (labels, dates), where
# Flask-Babel's ``get_locale`` costs a walk through Flask's context proxies each time; it
# caches the locale on the request the same way, and ``speaking`` changes both.
_LANGUAGE: ContextVar[str | None] = ContextVar("fallnetz_language", default=None)


def language() -> str:
    known = _LANGUAGE.get()
    if known is not None:
        return known
    locale = get_locale()
    code = str(locale) if locale is not None else "de"
    if has_request_context():
        _LANGUAGE.set(code)
    return code


@contextmanager
def speaking(code: str) -> Iterator[None]:
    """Flask-Babel's ``force_locale``, and this module's language with it."""
    token = _LANGUAGE.set(code)
    try:
        with force_locale(code):
            yield
    finally:
        _LANGUAGE.reset(token)


def forget_language(*_args: Any) -> None:
    """A thread serves one request after another: each finds its own language."""
    _LANGUAGE.set(None)


def init_app(app: Flask) -> None:
    root = Path(app.root_path)
    app.config.setdefault("BABEL_DEFAULT_LOCALE", "de")
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", TIMEZONE)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", ";".join(
        str(p) for p in (root / "translations", root.parent / "domain" / "translations")))
    Babel(app, locale_selector=select_locale)
    _catalogs: dict[str, Any] = {}

    def catalog() -> Any:
        # Flask-Babel's callables look the catalog up through the request on every string
        # of a page; it is the same for a language as long as the app runs.
        code = language()
        found = _catalogs.get(code)
        if found is None:
            found = _catalogs[code] = get_translations()
        return found

    app.jinja_env.install_gettext_callables(
        gettext=lambda s: catalog().ugettext(s),
        ngettext=lambda s, p, n: catalog().ungettext(s, p, n),
        pgettext=lambda c, s: catalog().upgettext(c, s),
        npgettext=lambda c, s, p, n: catalog().unpgettext(c, s, p, n), newstyle=True)
    app.before_request_funcs.setdefault(None, []).insert(0, forget_language)
    app.teardown_request(forget_language)
    app.jinja_env.globals.update(translate=translate, language=language, LANGUAGES=LANGUAGES)
