"""The referral page, seen from the sending or the receiving side, and the receiver's and
sender's actions on it."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("referrals", __name__, url_prefix="/vermittlungen")

from web.referrals import routes  # noqa: E402,F401  (registers the routes)
