"""The domain's user-facing messages: translatable, and all of them translated into German."""

from __future__ import annotations

import pickle
from string import Formatter

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from domain.messages import Message, _
from domain.settings import PROJECT_ROOT

DOMAIN = PROJECT_ROOT / "domain"
CATALOG = DOMAIN / "translations" / "de" / "LC_MESSAGES" / "messages.po"


def extracted_msgids() -> set[str]:
    return {message for _file, _line, message, _comments, _context
            in extract_from_dir(str(DOMAIN), method_map=[("**.py", "python")],
                                keywords={"_": None})
            if isinstance(message, str)}


def german() -> dict[str, str]:
    with CATALOG.open("rb") as f:
        catalog = read_po(f)
    return {m.id: m.string for m in catalog if m.id}


def placeholders(text: str) -> set[str]:
    """Each ``{field!conversion:spec}`` of a format string, as written."""
    return {"{" + name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "")
            + "}" for _literal, name, spec, conversion in Formatter().parse(text)
            if name is not None}


def test_every_domain_message_has_a_german_translation() -> None:
    msgids = extracted_msgids()
    assert len(msgids) > 50  # the extraction found the domain's messages
    translations = german()
    untranslated = sorted(m for m in msgids if not translations.get(m))
    assert untranslated == []


def test_translations_keep_the_placeholders_of_their_msgid() -> None:
    different = {msgid: text for msgid, text in german().items()
                 if text and placeholders(text) != placeholders(msgid)}
    assert different == {}


def test_message_is_the_english_text_and_keeps_msgid_and_params() -> None:
    message = _("Unknown urgency {urgency!r}.", urgency="x")
    assert isinstance(message, Message)
    assert message == "Unknown urgency 'x'."
    assert message.msgid == "Unknown urgency {urgency!r}."
    assert message.params == {"urgency": "x"}
    again = pickle.loads(pickle.dumps(message))
    assert (again, again.msgid, again.params) == (message, message.msgid, message.params)


def test_nested_messages_are_translated_too() -> None:
    translations = german()
    message = _("{what} is required.", what=_("A reason for the rejection"))
    assert message == "A reason for the rejection is required."
    assert message.translate(lambda msgid: translations.get(msgid) or msgid) == \
        "Bitte geben Sie einen Grund für die Ablehnung an."


def test_domain_errors_carry_messages() -> None:
    from domain.base import DomainError, require_text

    with pytest.raises(DomainError, match="A reason is required.") as error:
        require_text("  ", "reason", _("A reason"))
    assert isinstance(error.value.message, Message)
    assert error.value.message.msgid == "{what} is required."
    assert error.value.field == "reason"
