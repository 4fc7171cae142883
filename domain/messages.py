"""Translatable messages of the domain, without a dependency on any user interface.

The domain speaks English. Each user-facing message is built with :func:`_` from a literal
msgid (so ``pybabel extract -k _`` finds it) and named ``str.format`` parameters. The result
is the English text itself, so code and tests may treat it as a plain string; a user
interface translates it with its ``msgid`` and ``params``. The German catalog lives in
``domain/translations/de/LC_MESSAGES/messages.po``.
"""

from __future__ import annotations

import gettext as gettext_module
from functools import lru_cache
from pathlib import Path
from typing import Any


class Message(str):
    """An English message that keeps its msgid and parameters, so a user interface can show
    it in the user's language.

    The str value is ``msgid.format(**params)``. To translate, look up ``msgid`` in the
    catalog and format the translation with ``params`` (placeholders such as ``{name}`` or
    ``{name!r}`` are kept identical in every translation). A parameter that is itself a
    :class:`Message` is translated too, recursively, before formatting: e.g.
    ``_("{what} is required.", what=_("A reason"))`` becomes "Bitte geben Sie einen Grund
    an." in German. Other parameters (names, codes such as a referral status or a role) are
    inserted as they are; a user interface may display codes with its own labels.
    """

    __slots__ = ("msgid", "params")

    msgid: str
    params: dict[str, Any]

    def __new__(cls, msgid: str, **params: Any) -> Message:
        self = super().__new__(cls, msgid.format(**params))
        self.msgid = msgid
        self.params = params
        return self

    def __getnewargs_ex__(self) -> tuple[tuple[str], dict[str, Any]]:
        # Pickling (e.g. an exception crossing a process boundary) keeps msgid and params.
        return (self.msgid,), dict(self.params)

    def translate(self, gettext: Any) -> str:
        """The message in the language of ``gettext`` (a ``str -> str`` function such as
        ``translations.gettext``); nested messages among the parameters are translated by
        the same function."""
        params = {key: value.translate(gettext) if isinstance(value, Message) else value
                  for key, value in self.params.items()}
        return gettext(self.msgid).format(**params)


def _(msgid: str, **params: Any) -> Message:
    """Marks ``msgid`` for translation (keyword ``_`` of ``pybabel extract``)."""
    return Message(msgid, **params)


_CATALOG = Path(__file__).resolve().parent / "translations"


@lru_cache(maxsize=None)
def _translations(language: str) -> gettext_module.NullTranslations:
    return gettext_module.translation("messages", localedir=_CATALOG, languages=[language],
                                      fallback=True)


def in_language(message: Message, language: str) -> str:
    """The message in ``language`` from the domain's catalog, for texts the domain itself
    hands to people outside any user interface (the escalation mails). English where the
    catalog is not compiled (``make`` compiles it)."""
    return message.translate(_translations(language).gettext)
