"""An agreement (Verabredung, DESIGN §11): at a conference or in a working group an
organisation takes on to do something by a day. It lands in that organisation's inbox, runs
to the end of that working day in the network's calendar, and escalates to the coordination
office once when it is missed; it is done with a note saying what was done. At a later
meeting of the same district or group it is followed up (a note each time)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import event

from domain.base import DomainError, StampedAggregate, require_text
from domain.deadlines import WorkingCalendar
from domain.messages import _
from domain.stamp import Stamp

OPEN, DONE, WITHDRAWN = "open", "done", "withdrawn"
MOST_TEXT = 1000
# The latest day an agreement may be due: a promise further off is no agreement to follow.
MOST_DAYS_AHEAD = 2 * 366


def _text(value: Any, field: str, what: Any) -> str:
    if value is not None and not isinstance(value, str):
        raise DomainError(_("{what} is required.", what=what), field=field)
    text = require_text(value, field, what)
    if len(text) > MOST_TEXT:
        raise DomainError(_("At most {most} characters, please.", most=MOST_TEXT),
                          field=field)
    return text


def agreement_deadline(calendar: WorkingCalendar, due_on: date, today: date) -> datetime:
    """The end of the working day ``due_on``, refused when it is no working day or past."""
    if due_on < today:
        raise DomainError(_("The day is past; an agreement is due today or later."),
                          field="due_on")
    if (due_on - today).days > MOST_DAYS_AHEAD:
        raise DomainError(_("An agreement is due within two years."), field="due_on")
    if not calendar.is_working_day(due_on):
        raise DomainError(_("{day} is no working day in this network (a weekend or a public "
                            "holiday); please choose a working day.",
                            day=due_on.strftime("%d.%m.%Y")), field="due_on")
    return calendar.end_of(due_on)


class Agreement(StampedAggregate):
    @staticmethod
    def id_for(forum_id: UUID, organisation_id: UUID, what: str, due_on: date) -> UUID:
        """The same organisation, words and day at the same forum are the same agreement:
        a form sent again (Back, reload) finds it instead of making a second."""
        words = " ".join(what.split()).casefold()
        return uuid5(forum_id, f"agreement:{organisation_id}:{due_on.isoformat()}:{words}")

    @event("Made")
    def __init__(self, id: UUID, forum_id: UUID, group_id: UUID | None,
                 organisation_id: UUID, what: str, due_on: date, due_at: datetime,
                 by: Stamp) -> None:
        self.forum_id = forum_id
        self.group_id = group_id
        self.organisation_id = organisation_id
        self.what = what
        self.due_on = due_on
        self.due_at = due_at
        self.status = OPEN
        self.note = ""
        self.escalated = False
        self.follow_ups: list[dict[str, Any]] = []

    @classmethod
    def make(cls, id: UUID, forum_id: UUID, group_id: UUID | None, organisation_id: UUID,
             what: Any, due_on: date, due_at: datetime, by: Stamp) -> Agreement:
        return cls(id=id, forum_id=forum_id, group_id=group_id,
                   organisation_id=organisation_id, what=_text(what, "what", _("What")),
                   due_on=due_on, due_at=due_at, by=by)

    @property
    def is_open(self) -> bool:
        return self.status == OPEN

    def missed(self, now: datetime) -> bool:
        return self.is_open and self.due_at <= now

    def mark_done(self, note: Any, by: Stamp) -> None:
        if not self.is_open:
            raise DomainError(_("This agreement is no longer open."), field="note")
        self._done(note=_text(note, "note", _("What was done")), by=by)

    @event("Done")
    def _done(self, note: str, by: Stamp) -> None:
        self.status, self.note = DONE, note

    def withdraw(self, note: Any, by: Stamp) -> None:
        if not self.is_open:
            raise DomainError(_("This agreement is no longer open."), field="note")
        self._withdrawn(note=_text(note, "note", _("Why it is withdrawn")), by=by)

    @event("Withdrawn")
    def _withdrawn(self, note: str, by: Stamp) -> None:
        self.status, self.note = WITHDRAWN, note

    def reschedule(self, due_on: date, due_at: datetime, reason: Any, by: Stamp) -> None:
        """Another working day, agreed with the organisation (``due_at`` checked by
        :func:`agreement_deadline`); missed again, it escalates again."""
        if not self.is_open:
            raise DomainError(_("This agreement is no longer open."), field="due_on")
        if due_on == self.due_on:
            raise DomainError(_("This is the day already agreed."), field="due_on")
        self._rescheduled(due_on=due_on, due_at=due_at,
                          reason=_text(reason, "reason", _("A reason")), by=by)

    @event("Rescheduled")
    def _rescheduled(self, due_on: date, due_at: datetime, reason: str, by: Stamp) -> None:
        self.due_on, self.due_at, self.escalated = due_on, due_at, False

    def escalate(self, now: datetime, by: Stamp) -> bool:
        """Once, when missed; False when there is nothing (more) to escalate."""
        if self.escalated or not self.missed(now):
            return False
        self._escalated(by=by)
        return True

    @event("Escalated")
    def _escalated(self, by: Stamp) -> None:
        self.escalated = True

    def follow_up(self, forum_id: UUID, note: Any, by: Stamp) -> None:
        self._followed_up(forum_id=forum_id, note=_text(note, "note", _("A note")), by=by)

    @event("FollowedUp")
    def _followed_up(self, forum_id: UUID, note: str, by: Stamp) -> None:
        self.follow_ups.append({"forum_id": forum_id, "note": note,
                                "on": self.modified_on})
