"""How the register's pages and files name a need group's status, an agreement's status and
a forum's kind."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

GROUP_STATUS = {"open": _l("open"), "agreed": _l("agreement made"),
                "reported": _l("reported to politics"), "resolved": _l("resolved")}
AGREEMENT_STATUS = {"open": _l("open"), "done": _l("done"), "withdrawn": _l("withdrawn")}
FORUM_KIND = {"conference": _l("District conference"), "working_group": _l("Working group")}
