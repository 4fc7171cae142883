"""Deadlines and escalation times of DESIGN §6.

Hours are calendar hours. Working days follow the network's Bundesland holidays (the
``holidays`` library) and count to the end of the working day: a routine referral sent on
Monday 10:00 is due for receipt at the end of Thursday. Time on hold pauses the clock: the
deadline moves by the working time spent on hold. Every deadline of a referral is measured
from the moment it was sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

from domain.network.config import DeadlinePolicy, Duration

BERLIN = ZoneInfo("Europe/Berlin")
END_OF_DAY = time(23, 59, 59)
STAGES = ("receive", "decide", "first_contact")

Hold = tuple[datetime, datetime | None]  # (put on hold, resumed or still on hold)


class WorkingCalendar:
    def __init__(self, state: str, tz: ZoneInfo = BERLIN) -> None:
        self.state = state
        self.tz = tz
        self._holidays = holidays.Germany(subdiv=state)
        # Each deadline asks about every day until it (a rebuild: millions of times); the
        # holidays library's lookup costs more than the answer kept (a few hundred a year).
        self._working: dict[date, bool] = {}
        # (day, working days) → the deadline: a rebuild asks for the same few thousand.
        self._after: dict[tuple[date, int], datetime] = {}

    def is_working_day(self, day: date) -> bool:
        working = self._working.get(day)
        if working is None:
            working = self._working[day] = day.weekday() < 5 and day not in self._holidays
        return working

    def end_of(self, day: date) -> datetime:
        return datetime.combine(day, END_OF_DAY, self.tz).astimezone(ZoneInfo("UTC"))

    def add(self, start: datetime, duration: Duration) -> datetime:
        if duration.working_days:
            return self.add_working_days(start, duration.working_days)
        return start + timedelta(hours=duration.hours)

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """The end of the ``days``-th working day after the day of ``start``."""
        first = start.astimezone(self.tz).date()
        end = self._after.get((first, days))
        if end is None:
            day, counted = first, 0
            while counted < days:
                day += timedelta(days=1)
                if self.is_working_day(day):
                    counted += 1
            end = self._after[(first, days)] = self.end_of(day)
        return end

    def working_time_between(self, start: datetime, end: datetime) -> timedelta:
        """The part of [start, end) that falls on working days."""
        total = timedelta(0)
        cursor = start.astimezone(self.tz)
        end = end.astimezone(self.tz)
        while cursor < end:
            next_midnight = datetime.combine(cursor.date() + timedelta(days=1), time(0),
                                             self.tz)
            chunk_end = min(end, next_midnight)
            if self.is_working_day(cursor.date()):
                total += chunk_end - cursor
            cursor = chunk_end
        return total

    def shift(self, moment: datetime, working_time: timedelta) -> datetime:
        """Moves ``moment`` forward by ``working_time``, counting only working days."""
        cursor = moment.astimezone(self.tz)
        remaining = working_time
        while remaining > timedelta(0):
            if not self.is_working_day(cursor.date()):
                cursor = datetime.combine(cursor.date() + timedelta(days=1), time(0), self.tz)
                continue
            next_midnight = datetime.combine(cursor.date() + timedelta(days=1), time(0),
                                             self.tz)
            step = min(remaining, next_midnight - cursor)
            cursor += step
            remaining -= step
        return cursor.astimezone(ZoneInfo("UTC"))


@lru_cache(maxsize=16)
def calendar_for(state: str) -> WorkingCalendar:
    return WorkingCalendar(state)


@dataclass(frozen=True)
class StageDeadline:
    stage: str
    due_at: datetime
    # when each escalation level falls due, level 1 first
    escalations: tuple[datetime, ...]


def stage_deadline(policy: DeadlinePolicy, calendar: WorkingCalendar, *, urgency: str,
                   lead_handoff: bool, stage: str, sent_at: datetime,
                   holds: Sequence[Hold] = ()) -> StageDeadline:
    """The deadline of ``stage`` for a referral sent at ``sent_at``, moved by its completed
    holds, with the moments its escalation levels fall due (each level counted from the
    previous one)."""
    due = calendar.add(sent_at, policy.duration(urgency, stage, lead_handoff=lead_handoff))
    for held_from, held_until in holds:
        if held_until is not None and held_from < due:
            due = calendar.shift(due, calendar.working_time_between(held_from, held_until))
    moments = []
    moment = due
    for level in policy.escalation:
        moment = calendar.add(moment, level.after_crisis if urgency == "crisis" else
                              level.after)
        moments.append(moment)
    return StageDeadline(stage=stage, due_at=due, escalations=tuple(moments))
