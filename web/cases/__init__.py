"""The caseworker's pages: the organisation's cases, opening a case, the case page (needs,
consent, residence status, draft lead handoffs) and the referral form with suggested
receivers."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("cases", __name__, url_prefix="/faelle")

from web.cases import routes  # noqa: E402,F401  (registers the routes)
