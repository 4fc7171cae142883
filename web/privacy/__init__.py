"""The data protection officer's pages: the erasures asked for and the cases whose retention
period ended, each confirmed or declined here (four eyes), and who read a case."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("privacy", __name__, url_prefix="/datenschutz")

from web.privacy import routes  # noqa: E402,F401  (registers the routes)
