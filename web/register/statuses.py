"""How the register's pages and files name a need group's status, an agreement's status and
a forum's kind."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask_babel import gettext as _, lazy_gettext as _l

from readmodel.store import ts
from web.application import current_application
from web.labels import label

GROUP_STATUS = {"open": _l("open"), "agreed": _l("agreement made"),
                "reported": _l("reported to politics"), "resolved": _l("resolved")}
AGREEMENT_STATUS = {"open": _l("open"), "done": _l("done"), "withdrawn": _l("withdrawn")}
FORUM_KIND = {"conference": _l("District conference"), "working_group": _l("Working group")}


def agreement_state(row: Mapping[str, Any]) -> str:
    """An agreement's status as the register's pages and files say it: an open one whose
    working day has passed is "missed" (and, once the scan ran, escalated)."""
    text = label(AGREEMENT_STATUS, row["status"])
    if row["status"] == "open" and row["due_at"] <= ts(current_application().clock()):
        text = _("missed, escalated") if row["escalated"] else _("missed")
    return text
