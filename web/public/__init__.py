"""The public Organigramm: for volunteers and residents, who have no account in any
system, the network's responsibility map of a district per housing stage, its volunteer
initiatives, what people can do themselves and the contacts the coordination office made
public; in German or English (``?sprache=en``), printable, without sign-in. It reads the
directory and the map only (:meth:`~domain.services.responsibilities.ResponsibilityService
.handout`): never users, never cases, never a contact not chosen public. It sets no cookie
and shows nothing of whoever is signed in."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, make_response, render_template, request

from web.application import current_application
from web.i18n import LANGUAGES, select_locale, speaking
from web.responsibilities import organigramm_context

bp = Blueprint("public", __name__, url_prefix="/oeffentlich")


@bp.get("/organigramm")
def organigramm() -> Any:
    # The language of the link (a printed page's, a shared one's), else the reader's.
    chosen = request.args.get("sprache")
    language = chosen if chosen in LANGUAGES else select_locale()
    with speaking(language):
        context, status = organigramm_context(public=True)
        page = render_template("public/organigramm.html",
                               today=current_application().today(), **context)
    response = make_response(page, status)
    if status != 200 or request.cookies.get(
            current_app.config.get("SESSION_COOKIE_NAME", "session")):
        # A session's answer carries its cookie again, and a refused choice is no page to
        # keep: no shared cache may keep either.
        response.headers["Cache-Control"] = "private, no-store"
    else:
        # The same for everyone reading it in the same language: caches may keep it a while.
        response.headers["Cache-Control"] = "public, max-age=300"
        response.headers["Vary"] = "Accept-Language, Cookie"
    return response
