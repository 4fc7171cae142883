"""Deadlines a clerk can check by hand (DESIGN §6), Brandenburg unless said otherwise.

| # | sent (local time)        | urgency | stage         | Bundesland | due (end of day)      |
|---|--------------------------|---------|---------------|------------|-----------------------|
| 1 | Mon 2026-11-16 10:00     | routine | receive 3 wd  | BB         | Thu 2026-11-19        |
| 2 | Thu 2026-04-02 10:00     | routine | receive 3 wd  | BB         | Thu 2026-04-09 (Good  |
|   | (Thursday before Easter) |         |               |            | Friday, Easter Monday)|
| 3 | Thu 2025-10-30 10:00     | routine | receive 3 wd  | BB         | Wed 2025-11-05 (31 Oct)|
| 4 | Thu 2025-10-30 10:00     | routine | receive 3 wd  | SN         | Wed 2025-11-05 (31 Oct)|
| 5 | Thu 2025-10-30 10:00     | routine | receive 3 wd  | BW         | Tue 2025-11-04        |
| 6 | Fri 2026-11-20 22:30     | crisis  | receive 4 h   | BB         | Sat 2026-11-21 02:30  |
| 7 | Fri 2026-11-20 10:00     | crisis  | decide 1 wd   | BB         | Mon 2026-11-23        |
| 8 | Wed 2026-12-23 09:00     | urgent  | decide 3 wd   | BB         | Tue 2026-12-29        |
| 9 | Mon 2026-11-16 10:00     | routine | lead handoff  | BB         | Mon 2026-11-23        |
|   |                          |         | decide 5 wd   |            |                       |
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from domain.deadlines import BERLIN, WorkingCalendar, stage_deadline
from domain.network import NetworkConfig


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=BERLIN)


@pytest.mark.parametrize(("sent", "urgency", "stage", "lead", "state", "due"), [
    ("2026-11-16 10:00", "routine", "receive", False, "BB", "2026-11-19 23:59:59"),
    ("2026-04-02 10:00", "routine", "receive", False, "BB", "2026-04-09 23:59:59"),
    ("2025-10-30 10:00", "routine", "receive", False, "BB", "2025-11-05 23:59:59"),
    ("2025-10-30 10:00", "routine", "receive", False, "SN", "2025-11-05 23:59:59"),
    ("2025-10-30 10:00", "routine", "receive", False, "BW", "2025-11-04 23:59:59"),
    ("2026-11-20 22:30", "crisis", "receive", False, "BB", "2026-11-21 02:30:00"),
    ("2026-11-20 10:00", "crisis", "decide", False, "BB", "2026-11-23 23:59:59"),
    ("2026-12-23 09:00", "urgent", "decide", False, "BB", "2026-12-29 23:59:59"),
    ("2026-11-16 10:00", "routine", "decide", True, "BB", "2026-11-23 23:59:59"),
])
def test_dated_deadlines(network: NetworkConfig, sent: str, urgency: str, stage: str,
                         lead: bool, state: str, due: str) -> None:
    deadline = stage_deadline(network.deadlines, WorkingCalendar(state), urgency=urgency,
                              lead_handoff=lead, stage=stage, sent_at=local(sent))
    assert deadline.due_at == local(due)


def test_escalation_levels_follow_each_other(network: NetworkConfig) -> None:
    routine = stage_deadline(network.deadlines, WorkingCalendar("BB"), urgency="routine",
                             lead_handoff=False, stage="receive",
                             sent_at=local("2026-11-16 10:00"))
    # level 1 at the deadline, level 2 one working day later, level 3 three more
    assert routine.escalations == (local("2026-11-19 23:59:59"), local("2026-11-20 23:59:59"),
                                   local("2026-11-25 23:59:59"))
    crisis = stage_deadline(network.deadlines, WorkingCalendar("BB"), urgency="crisis",
                            lead_handoff=False, stage="receive",
                            sent_at=local("2026-11-16 10:00"))
    assert crisis.escalations == (local("2026-11-16 14:00"), local("2026-11-16 16:00"),
                                  local("2026-11-17 23:59:59"))


def test_three_working_days_on_hold_move_the_deadline_by_three_working_days(
        network: NetworkConfig) -> None:
    calendar = WorkingCalendar("BB")
    kwargs = dict(urgency="urgent", lead_handoff=False, stage="first_contact",
                  sent_at=local("2026-11-02 09:00"))
    plain = stage_deadline(network.deadlines, calendar, **kwargs)
    assert plain.due_at == local("2026-11-16 23:59:59")  # 10 working days
    # On hold from Wednesday 10:00 to Monday 10:00: Wed, Thu, Fri = 3 working days.
    held = stage_deadline(network.deadlines, calendar, **kwargs,
                          holds=[(local("2026-11-04 10:00"), local("2026-11-09 10:00"))])
    assert held.due_at == local("2026-11-19 23:59:59")
    assert calendar.working_time_between(local("2026-11-04 10:00"),
                                         local("2026-11-09 10:00")) == timedelta(days=3)
