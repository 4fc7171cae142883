"""The supervisors' audit: the complete history of a case or a referral, the state at a
chosen past moment, and exports as CSV and as a printable page."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("audit", __name__, url_prefix="/pruefung")


@bp.context_processor
def readable() -> dict[str, object]:
    """The history's rows in words (web.audit.readable), for the pages and the print."""
    from web.audit.readable import lines
    return {"history_lines": lines}

from web.audit import routes  # noqa: E402,F401  (registers the routes)
