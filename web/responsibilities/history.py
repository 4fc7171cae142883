"""The responsibility map's history in words, read from the events themselves: when, who
(name, role, organisation, as the audit names them) and what changed, a changed rule as
"before → after"; and the coordinator's choices of public contacts."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from eventsourcing.utils import get_topic
from flask_babel import gettext as _, ngettext

from domain.organisation import Organisation, contact_key
from domain.responsibilities import ResponsibilityMap
from web.application import current_application
from web.audit.history import HistoryRow
from web.audit.readable import who
from web.responsibilities.words import directory_by_key, need_name, rule_words, stage_name


@dataclass(frozen=True)
class Change:
    at: datetime
    who: str
    what: str
    details: tuple[str, ...]


class _Who:
    """Who recorded an event, in the audit's words: "Katrin Lehmann (Koordination,
    Koordinierungsstelle)"; each person and organisation looked up once."""

    def __init__(self) -> None:
        self.people: dict[str, str] = {}
        self.organisations: dict[Any, str] = {}

    def __call__(self, event: Any) -> str:
        application = current_application()
        by = event.by
        if by.user not in self.people:
            account = application.directory.user(by.user) if by.user != "system" else None
            self.people[by.user] = account.display_name if account else by.user
        if by.organisation_id and by.organisation_id not in self.organisations:
            found = application.find(Organisation, by.organisation_id)
            self.organisations[by.organisation_id] = found.name if found else ""
        return who(HistoryRow(
            at=event.timestamp, subject_id=event.originator_id, subject="",
            version=event.originator_version, event="", user=by.user,
            user_name=self.people[by.user],
            organisation=self.organisations.get(by.organisation_id, ""), role=by.role,
            correlation_id=by.correlation_id, state_before="", state_after="", details={}))


def map_history() -> list[Change]:
    """Every change of the map, newest first."""
    application = current_application()
    map_id = ResponsibilityMap.id_for(application.network.slug)
    directory = directory_by_key()
    named = _Who()
    changes = []
    state: Any = None
    for event in application.repository.event_store.get(map_id):
        before = copy.deepcopy(state)
        state = event.mutate(state)
        what, details = _in_words(type(event).__name__, event, before, state, directory)
        changes.append(Change(at=event.timestamp, who=named(event), what=what,
                              details=details))
    return list(reversed(changes))


def _in_words(kind: str, event: Any, before: Any, after: Any,
              directory: dict[str, Organisation]) -> tuple[str, tuple[str, ...]]:
    def words(rule: Any) -> str:
        return rule_words(rule, directory)

    if kind == "Started":
        # recorded in the same step as the first change, in the name of who made it
        return _("Map taken over from the network's file (with the first change here)"), (
            _("Version %(version)s", version=after.source_version),
            _summary(after))
    if kind == "Imported":
        added = [r for r in after.rules.values() if r not in before.rules.values()]
        removed = [r for r in before.rules.values() if r not in after.rules.values()]
        details = [_("Version %(version)s", version=after.source_version), _summary(after)]
        details += [_("new: %(rule)s", rule=words(r)) for r in added]
        details += [_("no longer: %(rule)s", rule=words(r)) for r in removed]
        # compared by what they say: an import numbers the rules anew
        details += [_("new: %(rule)s", rule=words(r)) for r in after.lead_rules.values()
                    if r not in before.lead_rules.values()]
        details += [_("no longer: %(rule)s", rule=words(r))
                    for r in before.lead_rules.values() if r not in after.lead_rules.values()]
        if before.self_help != after.self_help:
            details.append(_("What the people can do themselves changed."))
        return _("Map imported from a file"), tuple(details)
    if kind in ("RuleAdded", "LeadRuleAdded"):
        return (_("Rule added") if kind == "RuleAdded" else _("Lead rule added"),
                (f"{event.rule_id}: {words(event.rule)}",))
    if kind in ("RuleChanged", "LeadRuleChanged"):
        table = "rules" if kind == "RuleChanged" else "lead_rules"
        old = getattr(before, table)[event.rule_id]
        return (_("Rule changed") if kind == "RuleChanged" else _("Lead rule changed"),
                (f"{event.rule_id}: {words(old)} → {words(event.rule)}",))
    if kind in ("RuleRemoved", "LeadRuleRemoved"):
        table = "rules" if kind == "RuleRemoved" else "lead_rules"
        old = getattr(before, table)[event.rule_id]
        return (_("Rule removed") if kind == "RuleRemoved" else _("Lead rule removed"),
                (f"{event.rule_id}: {words(old)}",))
    if kind == "SelfHelpWritten":
        where = _("%(need)s, %(stage)s", need=need_name(event.need),
                  stage=stage_name(event.housing_stage))
        old = before.self_help.get(f"{event.need}|{event.housing_stage}") or {}
        if not event.text:
            return _("What the people can do themselves taken away"), (
                where, old.get("text", ""))
        details = [where, (f"{old['text']} → {event.text}" if old.get("text")
                           and old["text"] != event.text else event.text)]
        if event.text_en:
            details.append(_("English: %(text)s", text=event.text_en))
        return _("What the people can do themselves written"), tuple(details)
    return kind, ()


def _summary(found: Any) -> str:
    return ", ".join((
        ngettext("%(num)d rule", "%(num)d rules", len(found.rules)),
        ngettext("%(num)d lead rule", "%(num)d lead rules", len(found.lead_rules)),
        ngettext("%(num)d text of what people can do themselves",
                 "%(num)d texts of what people can do themselves", len(found.self_help))))


def contact_history() -> list[Change]:
    """Each choice of public contacts, newest first, naming the contacts made public and
    those no longer public."""
    application = current_application()
    topic = get_topic(Organisation.PublicContactsChosen)
    chosen_in: list[Any] = []
    start: int | None = 1
    while True:
        section = application.notification_log.select(start=start, limit=500, topics=[topic])
        if not section:
            break
        chosen_in += [n.originator_id for n in section]
        start = section[-1].id + 1
    changes = []
    named = _Who()
    for organisation_id in dict.fromkeys(chosen_in):
        organisation: Any = None
        for event in application.repository.event_store.get(organisation_id):
            public_before = set(getattr(organisation, "public_contacts", []) or [])
            organisation = event.mutate(organisation)
            if type(event).__name__ != "PublicContactsChosen":
                continue
            names = {contact_key(c): c.get("name", "") for c in organisation.contacts}
            now = set(event.contacts)
            details = [_("public: %(names)s", names=", ".join(
                sorted(names.get(k, "–") for k in now - public_before)))] \
                if now - public_before else []
            if public_before - now:
                details.append(_("no longer public: %(names)s", names=", ".join(
                    sorted(names.get(k, _("a contact changed since")) for k in
                           public_before - now))))
            changes.append(Change(at=event.timestamp, who=named(event), what=_(
                "Public contacts of %(name)s chosen", name=organisation.name),
                details=tuple(details) or (_("no contact public"),)))
    return sorted(changes, key=lambda c: c.at, reverse=True)
