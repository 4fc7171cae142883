"""The audit in words a supervisor reads: each event's facts with their names in the reader's
language ("Bedarf: Psychosoziale Beratung", "an: Psychosoziales Zentrum"), codes as their
labels, dates as dates, changed fields as "vorher → nachher" — and no internal keys or
ids. One table says how each detail of an event reads; a detail not in it is internal
(ids, versions, policy versions) and stays out of the page, the print and the CSV."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from web.application import current_application
from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from domain.base import Erased
from web.audit.history import HistoryRow
from web.labels import CASE_STATUS, EVENT, GROUNDS, HELPED_LABELS, HOUSING_STAGE, KIND, \
    RESIDENCE_STATUS, SECTOR, STAGE, STATUS, UNDERSTOOD_LABELS, URGENCY, day, label, \
    need_label, when


def _need(code: Any) -> str:
    return need_label(current_application().network, code)


def _text(value: Any) -> str:
    return str(value)


def _staff(username: Any) -> str:
    """A member of staff by name, as the rest of the audit names them."""
    account = current_application().directory.user(str(username))
    return account.display_name if account is not None else str(username)


def _day(value: Any) -> str:
    if isinstance(value, datetime):
        return day(value)
    if isinstance(value, date):
        return value.strftime("%d.%m.%Y")
    return str(value)


def _labelled(table: dict[str, Any]) -> Callable[[Any], str]:
    return lambda code: label(table, code)


def _needs(codes: Any) -> str:
    return ", ".join(_need(code) for code in codes or [])


PERSON = {"display_name": _l("Name"), "birth_year": _l("Year of birth"),
          "household_size": _l("Household size"), "languages": _l("Languages"),
          "interpreter_needed": _l("Interpreter"), "district": _l("District")}


def _person(person: Any) -> str:
    if not isinstance(person, dict):
        return _shown(person, _text)
    from web.labels import language_names
    parts = []
    for key in PERSON:
        value = person.get(key)
        if value in (None, "", []):
            continue
        if isinstance(value, Erased):
            text = gettext("erased")
        elif key == "languages":
            text = language_names(value)
        elif key == "interpreter_needed":
            text = gettext("yes") if value else gettext("no")
        else:
            text = str(value)
        parts.append(f"{label(PERSON, key)}: {text}")
    return ", ".join(parts)


# detail of an event → (its name, how its value reads). Organisation ids arrive as names
# already (web.audit.history).
DETAILS: dict[str, tuple[Any, Callable[[Any], str]]] = {
    "to_organisation_id": (_l("to"), _text),
    "from_organisation_id": (_l("from"), _text),
    "receiver_organisation_id": (_l("receiver"), _text),
    "organisation_id": (_l("organisation"), _text),
    "lead_organisation_id": (_l("lead"), _text),
    "need": (_l("need"), _need),
    "urgency": (_l("urgency"), _labelled(URGENCY)),
    "kind": (_l("kind"), _labelled(KIND)),
    "sector": (_l("sector"), _labelled(SECTOR)),
    "purposes": (_l("purposes"), _needs),
    "given_on": (_l("given on"), _day),
    "expires_on": (_l("valid until"), _day),
    "person": (_l("person"), _person),
    "housing_stage": (_l("housing"), _labelled(HOUSING_STAGE)),
    "residence_status": (_l("residence status"), _labelled(RESIDENCE_STATUS)),
    "legal_sphere": (_l("legal sphere"), _text),
    "lead_caseworker": (_l("lead caseworker"), _staff),
    "caseworker": (_l("caseworker"), _staff),
    "grounds": (_l("grounds"), _labelled(GROUNDS)),
    "stage": (_l("deadline"), _labelled(STAGE)),
    "level": (_l("level"), _text),
    "reason": (_l("reason"), _text),
    "note": (_l("note"), _text),
    "outcome": (_l("outcome"), _text),
    "crisis_override_reason": (_l("crisis override"), _text),
    "over_capacity_reason": (_l("over capacity because"), _text),
    "goals": (_l("what matters most to them"), _text),
    "abilities": (_l("what they can do themself"), _text),
    "helped": (_l("did it help"), _labelled(HELPED_LABELS)),
    "understood": (_l("in a language they understood"), _labelled(UNDERSTOOD_LABELS)),
    "what_would_help": (_l("what would have helped"), _text),
    "due_at": (_l("to be recorded by"), _day),
}
# Each detail's name alone, so it is translated once per language (web.labels.label), not
# through Babel's catalog on every row of a long history.
DETAIL_NAMES = {key: name for key, (name, _show) in DETAILS.items()}
# Details that name a field's new value, with the detail naming its old one where the
# event itself carries it (else web.audit.history keeps the value from before the event).
CHANGES = {"housing_stage": None, "residence_status": None, "lead_caseworker": None,
           "legal_sphere": "previous_legal_sphere",
           "organisation_id": "previous_organisation_id"}
CHANGING_EVENTS = {"Case.HousingStageChanged", "Case.ResidenceStatusChanged",
                   "Case.LegalSphereChanged", "Case.LeadMoved", "Case.CaseworkerAssigned",
                   "Case.PersonDataCorrected"}


def _shown(value: Any, show: Callable[[Any], str]) -> str:
    if isinstance(value, Erased):
        return gettext("erased")
    if value in (None, "", []):
        return "–"
    return show(value)


def facts(row: HistoryRow) -> list[tuple[str, str]]:
    """(name, value) of each detail worth reading, changes as "before → after"."""
    shown = []
    details = dict(row.details)
    if row.event == "Case.CaseworkerAssigned" and "caseworker" in details:
        details["lead_caseworker"] = details.pop("caseworker")
    for key, value in details.items():
        if key not in DETAILS:
            continue
        show = DETAILS[key][1]
        if value in (None, "", []) and key not in CHANGES:
            continue  # nothing said: nothing to read (a consent for a sector names no receiver)
        text = _shown(value, show)
        if row.event in CHANGING_EVENTS and key in CHANGES:
            old_key = CHANGES[key]
            before = details.get(old_key) if old_key else row.before.get(key)
            if before is not None and before != value:
                text = f"{_shown(before, show)} → {text}"
        elif row.event == "Case.PersonDataCorrected" and key == "person":
            text = _person_change(row.before.get("person"), value)
        shown.append((label(DETAIL_NAMES, key), text))
    return shown


def _person_change(before: Any, after: Any) -> str:
    """Only the person's fields that changed, each "before → after"."""
    if not isinstance(before, dict) or not isinstance(after, dict):
        return _shown(after, _person)
    changed = [f"{label(PERSON, key)}: "
               f"{_person({key: before.get(key)}).partition(': ')[2] or '–'} → "
               f"{_person({key: after.get(key)}).partition(': ')[2] or '–'}"
               for key in PERSON if before.get(key) != after.get(key)]
    return "; ".join(changed) or "–"


def summary(row: HistoryRow) -> str:
    """The event's facts on one line: "an: PSZ – Dringlichkeit: Krise – Bedarf: …"."""
    return " – ".join(f"{name}: {text}" for name, text in facts(row))


def who(row: HistoryRow) -> str:
    """"Anna Schulz (Fachkraft, FSA Sachsendorf)"; the engine as "Fallnetz (System)"."""
    from web.labels import ROLE
    role = label(ROLE, row.role)
    if row.role == "system":
        return gettext("Fallnetz (automatic)")
    if row.role == "person":
        return gettext("the person themself, on their own page")
    return f"{row.user_name} ({role}, {row.organisation})" if row.organisation \
        else f"{row.user_name} ({role})"


@dataclass(frozen=True)
class Line:
    """One row of the history as the page and the print show it, every cell in words."""

    at: str
    who: str
    subject: str  # the case's reference, or "Vermittlung"/"Fall"
    what: str
    facts: str
    state: str  # "vorher → nachher", or the state it stays in
    state_changed: bool


def lines(rows: Iterable[HistoryRow], references: dict[Any, str]) -> list[Line]:
    """The rows in words, made here in one pass rather than cell by cell in the template
    (a call from a template costs more than the work of a cell, and a case's history has
    a thousand rows)."""
    subjects = {"referral": gettext("Referral"), "case": gettext("Case")}
    made = []
    for row in rows:
        states = STATUS if row.subject == "referral" else CASE_STATUS
        before, after = label(states, row.state_before), label(states, row.state_after)
        made.append(Line(
            at=when(row.at), who=who(row),
            subject=references.get(row.subject_id, subjects.get(row.subject, "")),
            what=label(EVENT, row.what), facts=summary(row),
            state=f"{before} → {after}" if before and before != after else after,
            state_changed=bool(row.state_after) and row.state_after != row.state_before))
    return made
