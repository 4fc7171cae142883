"""The needs register (Bedarfsregister, DESIGN §11): what the actors of a district or a
working group describe as missing, where they said it, and what became of it.

- A :class:`Forum` is where needs are raised and agreements made: a district conference
  (Stadtteilkonferenz, round table: one district, one day, the organisations that took part)
  or a standing working group (name, lead organisation, members; e.g. Wohnraum). Its needs
  are numbered cards: text, district, sector, the organisations that raised it, the day.
- A :class:`NeedGroup` clusters needs (of one forum or several) and carries the status the
  network follows: open → agreement made → reported to politics → resolved.
- A :class:`PoliticsReport` records that the register was sent to political decision makers:
  to whom, when, which need groups; each group it names is then "reported".

About the network, never about persons: a card says "no Kita places in Sandow", not who
needs one (the forms say so)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import event

from domain.base import DomainError, StampedAggregate, months_later, require_text
from domain.messages import Message, _
from domain.stamp import Stamp
from domain.vocabulary import SECTORS

CONFERENCE, WORKING_GROUP = "conference", "working_group"
FORUM_KINDS = (CONFERENCE, WORKING_GROUP)
# Longest texts: a card's words, a title, a name (a wall card holds a few sentences).
MOST_NEED_TEXT = 1000
MOST_TITLE = 200
MOST_NEEDS_PER_FORUM = 500
# A need group reported to politics and still not resolved after this many months is put
# before the coordination office again ("too often forgotten after that").
RESUBMIT_AFTER_MONTHS = 6

OPEN, AGREED, REPORTED, RESOLVED = "open", "agreed", "reported", "resolved"
# The need group's status: for each change, the states it may start from and where it leads.
# "agreed" follows from the first agreement made for the group, "reported" from a report to
# politics that names it; the coordinator resolves and reopens.
STATUS_CHANGES: dict[str, tuple[frozenset[str], str]] = {
    "agreement_made": (frozenset({OPEN}), AGREED),
    "reported": (frozenset({OPEN, AGREED, REPORTED}), REPORTED),
    "resolved": (frozenset({OPEN, AGREED, REPORTED}), RESOLVED),
    "reopened": (frozenset({RESOLVED}), OPEN),  # or AGREED, with agreements made
}
STATUSES = (OPEN, AGREED, REPORTED, RESOLVED)


def _text(value: Any, field: str, what: Message, most: int) -> str:
    if value is not None and not isinstance(value, str):
        raise DomainError(_("{what} is required.", what=what), field=field)
    text = require_text(value, field, what)
    if len(text) > most:
        raise DomainError(_("At most {most} characters, please.", most=most), field=field)
    return text


def check_sector(sector: Any) -> str:
    if sector not in SECTORS:
        raise DomainError(_("Unknown sector {sector!r}.", sector=sector), field="sector")
    return str(sector)


@dataclass(frozen=True)
class NeedRef:
    """A need as the register names it: its forum and its number there."""

    forum_id: UUID
    number: int

    def __str__(self) -> str:
        return f"{self.forum_id}:{self.number}"

    @classmethod
    def parse(cls, text: str) -> NeedRef:
        try:
            forum, number = str(text).rsplit(":", 1)
            return cls(UUID(forum), int(number))
        except (ValueError, AttributeError):
            raise DomainError(_("No such need."), field="needs") from None


class Forum(StampedAggregate):
    """A district conference or a working group, with the needs raised there."""

    @event("Convened")
    def __init__(self, id: UUID, kind: str, name: str, district: str | None,
                 held_on: date | None, lead_organisation_id: UUID | None,
                 participants: list[UUID], by: Stamp) -> None:
        self.kind = kind
        self.name = name
        self.district = district
        self.held_on = held_on
        self.lead_organisation_id = lead_organisation_id
        self.participants = list(participants)
        self.needs: dict[int, dict[str, Any]] = {}

    @classmethod
    def convene(cls, id: UUID, kind: str, name: Any, district: str | None,
                held_on: date | None, lead_organisation_id: UUID | None,
                participants: list[UUID], by: Stamp) -> Forum:
        if kind not in FORUM_KINDS:
            raise DomainError(_("A forum is a conference or a working group."), field="kind")
        name = _text(name, "name", _("A name"), MOST_TITLE)
        if kind == CONFERENCE:
            if not district:
                raise DomainError(_("A conference is held in a district."), field="district")
            if held_on is None:
                raise DomainError(_("{what} is required.", what=_("The day")),
                                  field="held_on")
        elif lead_organisation_id is None:
            raise DomainError(_("A working group has a lead organisation."),
                              field="lead_organisation_id")
        members = _distinct(participants, lead_organisation_id)
        if not members:
            raise DomainError(_("Name at least one participating organisation."),
                              field="participants")
        return cls(id=id, kind=kind, name=name, district=district, held_on=held_on,
                   lead_organisation_id=lead_organisation_id, participants=members, by=by)

    @property
    def is_conference(self) -> bool:
        return self.kind == CONFERENCE

    def rename(self, name: Any, held_on: date | None, by: Stamp) -> bool:
        """Its name and, for a conference, its day put right."""
        name = _text(name, "name", _("A name"), MOST_TITLE)
        if self.kind == CONFERENCE and held_on is None:
            raise DomainError(_("{what} is required.", what=_("The day")), field="held_on")
        held_on = held_on if self.kind == CONFERENCE else self.held_on
        if (name, held_on) == (self.name, self.held_on):
            return False
        self._renamed(name=name, held_on=held_on, by=by)
        return True

    @event("Renamed")
    def _renamed(self, name: str, held_on: date | None, by: Stamp) -> None:
        self.name, self.held_on = name, held_on

    def change_participants(self, participants: list[UUID], by: Stamp) -> None:
        members = _distinct(participants, self.lead_organisation_id)
        if not members:
            raise DomainError(_("Name at least one participating organisation."),
                              field="participants")
        if members != self.participants:
            self._participants_changed(participants=members, by=by)

    @event("ParticipantsChanged")
    def _participants_changed(self, participants: list[UUID], by: Stamp) -> None:
        self.participants = list(participants)

    def raise_need(self, text: Any, district: str, sector: Any, raised_by: list[UUID],
                   raised_on: date, by: Stamp) -> int:
        """Records a need card; returns its number in this forum."""
        text = _text(text, "text", _("The need"), MOST_NEED_TEXT)
        sector = check_sector(sector)
        raised = _distinct(raised_by, None)
        if not raised:
            raise DomainError(_("Name the organisations that raised this need."),
                              field="raised_by")
        same = self.same_need(text)
        if same is not None:
            raise DomainError(_("This need is recorded here already (no. {number}).",
                                number=same), field="text")
        if len(self.needs) >= MOST_NEEDS_PER_FORUM:
            raise DomainError(_("A forum holds at most {most} needs.",
                                most=MOST_NEEDS_PER_FORUM), field="text")
        number = len(self.needs) + 1
        self._need_raised(number=number, text=text, district=district, sector=sector,
                          raised_by=raised, raised_on=raised_on, by=by)
        return number

    @event("NeedRaised")
    def _need_raised(self, number: int, text: str, district: str, sector: str,
                     raised_by: list[UUID], raised_on: date, by: Stamp) -> None:
        self.needs[number] = {"text": text, "district": district, "sector": sector,
                              "raised_by": list(raised_by), "raised_on": raised_on,
                              "group_id": None}
        # A participant's need: who raised it took part.
        self.participants += [o for o in raised_by if o not in self.participants]

    def same_need(self, text: str) -> int | None:
        """The number of a need of this forum with the same words (a form sent twice)."""
        words = " ".join(text.split()).casefold()
        return next((n for n, need in self.needs.items() if not need.get("withdrawn")
                     and " ".join(need["text"].split()).casefold() == words), None)

    def correct_need(self, number: int, text: Any, sector: Any, district: str,
                     by: Stamp) -> bool:
        """A card's words, sector or district put right (a typo, a name that slipped in)."""
        need = self.need(number)
        text = _text(text, "text", _("The need"), MOST_NEED_TEXT)
        sector = check_sector(sector)
        if (text, sector, district) == (need["text"], need["sector"], need["district"]):
            return False
        same = self.same_need(text)
        if same not in (None, number):
            raise DomainError(_("This need is recorded here already (no. {number}).",
                                number=same), field="text")
        self._need_corrected(number=number, text=text, sector=sector, district=district,
                             by=by)
        return True

    @event("NeedCorrected")
    def _need_corrected(self, number: int, text: str, sector: str, district: str,
                        by: Stamp) -> None:
        self.needs[number].update(text=text, sector=sector, district=district)

    def withdraw_need(self, number: int, reason: Any, by: Stamp) -> None:
        """A card recorded by mistake (twice, in the wrong forum) leaves the register and
        its group; its number stays taken."""
        self.need(number)
        self._need_withdrawn(number=number, reason=_text(reason, "reason", _("A reason"),
                                                          MOST_TITLE), by=by)

    @event("NeedWithdrawn")
    def _need_withdrawn(self, number: int, reason: str, by: Stamp) -> None:
        self.needs[number].update(withdrawn=True, group_id=None)

    def current_needs(self) -> list[tuple[int, dict[str, Any]]]:
        """The needs in the register, by number (the withdrawn ones left out)."""
        return [(n, need) for n, need in sorted(self.needs.items())
                if not need.get("withdrawn")]

    def group_needs(self, numbers: list[int], group_id: UUID | None, by: Stamp) -> None:
        """Puts the needs into the group (None: into none); a need is in one group at most."""
        for number in numbers:
            self.need(number)
        moved = sorted(n for n in set(numbers) if self.needs[n].get("group_id") != group_id)
        if moved:
            self._needs_grouped(numbers=moved, group_id=group_id, by=by)

    @event("NeedsGrouped")
    def _needs_grouped(self, numbers: list[int], group_id: UUID | None, by: Stamp) -> None:
        for number in numbers:
            self.needs[number]["group_id"] = group_id

    def need(self, number: int) -> dict[str, Any]:
        if number not in self.needs or self.needs[number].get("withdrawn"):
            raise DomainError(_("No such need."), field="needs")
        return self.needs[number]


def _distinct(organisations: list[UUID], first: UUID | None) -> list[UUID]:
    found = [first] if first is not None else []
    found += [o for o in organisations if o not in found]
    return found


class NeedGroup(StampedAggregate):
    """Needs clustered under one title, with the status the network follows. Which needs it
    holds is recorded with each need, in its forum (:meth:`Forum.group_needs`), so a need is
    in one group at most."""

    @event("Formed")
    def __init__(self, id: UUID, title: str, district: str | None, need: str | None,
                 by: Stamp) -> None:
        self.title = title
        self.district = district
        # The catalogue's need (or need group) it concerns, so the care-gap report's figures
        # can be set beside it; None: none fits.
        self.need = need
        self.status = OPEN
        self.reported_on: date | None = None
        self.reported_to: str | None = None
        self.note = ""
        self.agreements = 0  # made for it, whatever became of them

    @classmethod
    def form(cls, id: UUID, title: Any, district: str | None, need: str | None,
             by: Stamp) -> NeedGroup:
        return cls(id=id, title=_text(title, "title", _("A title"), MOST_TITLE),
                   district=district, need=need, by=by)

    def describe(self, title: Any, district: str | None, need: str | None,
                 by: Stamp) -> bool:
        """Its title, district and need of the catalogue put right."""
        title = _text(title, "title", _("A title"), MOST_TITLE)
        if (title, district, need) == (self.title, self.district, self.need):
            return False
        self._described(title=title, district=district, need=need, by=by)
        return True

    @event("Described")
    def _described(self, title: str, district: str | None, need: str | None,
                   by: Stamp) -> None:
        self.title, self.district, self.need = title, district, need

    def require_open_for_needs(self) -> None:
        if self.status == RESOLVED:
            raise DomainError(_("This need group is resolved; reopen it first."),
                              field="group_id")

    # -- status (STATUS_CHANGES) --------------------------------------------------------------
    def can(self, change: str) -> bool:
        return self.status in STATUS_CHANGES[change][0]

    def _require(self, change: str) -> None:
        if not self.can(change):
            refusals = {"reported": _("A resolved need group is not reported."),
                        "resolved": _("This need group is resolved already."),
                        "reopened": _("Only a resolved need group can be reopened.")}
            raise DomainError(refusals[change], field="status")

    def agreement_made(self, agreement_id: UUID, by: Stamp) -> None:
        """Each agreement is in the group's history; the first moves an open group on."""
        self._require_open_for_agreements()
        self._agreement_made(agreement_id=agreement_id, by=by)

    def _require_open_for_agreements(self) -> None:
        if self.status == RESOLVED:
            raise DomainError(_("This need group is resolved; reopen it first."),
                              field="group_id")

    @event("AgreementMade")
    def _agreement_made(self, agreement_id: UUID, by: Stamp) -> None:
        self.agreements += 1
        if self.can("agreement_made"):
            self.status = STATUS_CHANGES["agreement_made"][1]

    def report(self, report_id: UUID, to: str, on: date, by: Stamp) -> None:
        self._require("reported")
        self._reported(report_id=report_id, to=to, on=on, by=by)

    @event("Reported")
    def _reported(self, report_id: UUID, to: str, on: date, by: Stamp) -> None:
        self.status = STATUS_CHANGES["reported"][1]
        self.reported_on, self.reported_to = on, to

    def resolve(self, note: Any, by: Stamp) -> None:
        self._require("resolved")
        self._resolved(note=_text(note, "note", _("What resolved it"), MOST_NEED_TEXT),
                       by=by)

    @event("Resolved")
    def _resolved(self, note: str, by: Stamp) -> None:
        self.status = STATUS_CHANGES["resolved"][1]
        self.note = note

    def reopen(self, note: Any, by: Stamp) -> None:
        """Open again, as far as it had come before: with its agreements, "agreement
        made"; a report to politics is made anew."""
        self._require("reopened")
        self._reopened(note=_text(note, "note", _("Why it is open again"), MOST_NEED_TEXT),
                       status=AGREED if self.agreements else STATUS_CHANGES["reopened"][1],
                       by=by)

    @event("Reopened")
    def _reopened(self, note: str, status: str, by: Stamp) -> None:
        self.status = status
        self.note = note

    def due_again(self, today: date) -> bool:
        """Reported and still not resolved six months on: to be put before politics again."""
        return self.status == REPORTED and self.reported_on is not None and \
            months_later(self.reported_on, RESUBMIT_AFTER_MONTHS) <= today


class PoliticsReport(StampedAggregate):
    """The register as sent to political decision makers: to whom, when, which groups."""

    @staticmethod
    def id_for(network: str, recipient: str, sent_on: date, districts: list[str]) -> UUID:
        """One sending of the same districts' register to the same recipient on one day: a
        form sent again finds it instead of reporting twice."""
        words = " ".join(recipient.split()).casefold()
        return uuid5(NAMESPACE_URL, f"fallnetz:politics-report:{network}:{words}:"
                                    f"{sent_on.isoformat()}:{','.join(districts)}")

    @event("Sent")
    def __init__(self, id: UUID, recipient: str, sent_on: date, districts: list[str],
                 groups: list[UUID], by: Stamp) -> None:
        self.recipient = recipient
        self.sent_on = sent_on
        self.districts = list(districts)
        self.groups = list(groups)

    @classmethod
    def send(cls, id: UUID, recipient: Any, sent_on: date, districts: list[str],
             groups: list[UUID], by: Stamp) -> PoliticsReport:
        recipient = _text(recipient, "recipient", _("The recipient"), MOST_TITLE)
        if not groups:
            raise DomainError(_("Choose at least one need group to report."),
                              field="groups")
        return cls(id=id, recipient=recipient, sent_on=sent_on, districts=districts,
                   groups=groups, by=by)
