"""Maps errors to pages that name the problem in the user's language but reveal no case
data."""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, g, redirect, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from domain.base import ConflictError, DomainError
from web.api.problems import domain_problem, is_api_request, problem, status_of
from web.i18n import translate
from web.incoming import UnreadableInput
from web.security_log import security_event

def conflict_message(error: ConflictError | None = None) -> str:
    viewer = g.get("viewer")
    if error is not None and viewer is not None and error.changed_by == {viewer.user}:
        return _("You changed this yourself meanwhile, in another tab or window; nothing of "
                 "this form was saved. Please check the current state before you decide "
                 "again.")
    return _("Someone changed this meanwhile. Nothing of yours was saved. Please reload the "
             "page and decide again.")


def _page_above(path: str) -> str | None:
    """The nearest address above ``path`` that is a page (answers GET), if any."""
    adapter = current_app.url_map.bind("")
    parts = path.rstrip("/").split("/")
    while len(parts) > 1:
        parts.pop()
        candidate = "/".join(parts) or "/"
        try:
            adapter.match(candidate, method="GET")
        except HTTPException:  # no page there (404, 405, or the map's own redirect)
            continue
        return candidate
    return None


def init_app(app: Flask) -> None:
    def page(status: int, message: str) -> Any:
        if is_api_request():  # other systems get RFC 9457 problem details, not a page
            return problem(status, message)
        from web.person.words import on_person_page

        if on_person_page():  # the person's own words and layout, no staff text
            from web.person import PERSON_ERRORS

            return render_template("person/error.html", status=status, message=str(
                PERSON_ERRORS.get(status, PERSON_ERRORS[500]))), status
        return render_template("error.html", status=status, message=message), status

    @app.errorhandler(DomainError)
    def domain_error(error: DomainError) -> Any:
        status = status_of(error)
        if status == 403:
            viewer = g.get("viewer")
            security_event("refused", viewer.user if viewer is not None else None,
                           code=error.code)
        if is_api_request():
            return domain_problem(error)
        if status == 409:
            return page(409, conflict_message(error if isinstance(error, ConflictError)
                                              else None))
        return page(status, translate(error.message))

    @app.errorhandler(CSRFError)
    def csrf_error(_error: CSRFError) -> Any:
        return page(400, _("The form had expired or did not come from this site. Nothing was "
                           "saved. Please reload the page and send it again."))

    @app.errorhandler(UnreadableInput)
    def unreadable(error: UnreadableInput) -> Any:
        return page(400, str(error.description))

    @app.errorhandler(400)
    def bad_request(_error: Any) -> Any:
        return page(400, _("The request could not be understood."))

    @app.errorhandler(403)
    def forbidden(_error: Any) -> Any:
        viewer = g.get("viewer")
        security_event("refused", viewer.user if viewer is not None else None)
        return page(403, _("You may not see or change this."))

    @app.errorhandler(404)
    def not_found(_error: Any) -> Any:
        return page(404, _("This page does not exist, or you may not see it."))

    @app.errorhandler(405)
    def method_not_allowed(_error: Any) -> Any:
        # A form's address opened as a page (reload after a send, a bookmark, the sign-in's
        # way back to where the session ended): the page the form belongs to.
        if request.method == "GET" and not is_api_request():
            page_of_form = _page_above(request.path)
            if page_of_form is not None:  # within the request's network
                return redirect(request.script_root + page_of_form)
        return page(405, _("This address does not accept that request."))

    @app.errorhandler(413)
    def too_large(_error: Any) -> Any:
        return page(413, _("The form sent is too large."))

    @app.errorhandler(500)
    def server_error(_error: Any) -> Any:
        return page(500, _("An internal error occurred. Please try again; if it happens "
                           "again, tell your admin."))
