"""The person's own page, without an account: the code of their slip and their birth year
open it; it shows where their referrals stand in plain words and in their language, takes
their feedback on the help received and their wish to withdraw a consent, and nothing else
(no internal notes, no other person, no staff names). The code leaves the URL after the
first exchange: the page keeps only the access's id in the session; every view of it is in
the read audit."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, \
    request, session, url_for
from flask_babel import gettext as _, lazy_gettext as _l

from domain.base import DomainError
from domain.organisation import Organisation
from domain.referral import FEEDBACK_STATES, HELPED, UNDERSTOOD, running_stage
from domain.services.person import AccessRefused
from domain.stamp import Stamp
from readmodel.read_audit import record_read
from web.application import current_application
from web.forms import FormError, FormSchema, choice, integer, load_form, text
from web.labels import day
from web.person.words import HELPED as HELPED_WORDS, LANGUAGE_NAMES, PERSON_LANGUAGES, \
    RIGHT_TO_LEFT, UNDERSTOOD as UNDERSTOOD_WORDS, need_words, status_words
from web.reads import read_store
from web.security_log import security_event

bp = Blueprint("person", __name__, url_prefix="/mein-stand")
# The domain's reasons are the staff's words; the person reads these (in their language).
NOT_POSSIBLE = _l("This could not be saved: it is done already or no longer possible. Your "
                  "contact person can help.")
TOO_MANY = _l("Too many attempts. Please wait 15 minutes and try again, or ask your contact "
              "person.")
# What the person reads when something goes wrong (never the staff's error texts).
PERSON_ERRORS = {
    400: _l("The page was open too long or the form was damaged. Please start again."),
    404: _l("There is nothing here. Please start again."),
    405: _l("There is nothing here. Please start again."),
    500: _l("Something went wrong on our side. Please try again later, or ask your contact "
            "person."),
}
# The page stays open at most this long, however it is used: a copied session ends.
LONGEST_SESSION = timedelta(hours=2)
# The page closes itself after a while: the phone may be shared.
SESSION_MINUTES = 20


class EnterForm(FormSchema):
    code = text(max_length=40)
    birth_year = integer(minimum=1900, maximum=2100)


class FeedbackForm(FormSchema):
    helped = choice(HELPED)
    understood = choice(UNDERSTOOD)
    what_would_help = text(required=False, max_length=2000)


class RevocationForm(FormSchema):
    consent_id = text(max_length=64)


@bp.after_request
def not_kept(response: Any) -> Any:
    """A phone may be shared: what the page showed is not kept by the browser."""
    response.headers["Cache-Control"] = "no-store"
    return response


def _access() -> UUID | None:
    held = session.get("person")
    if not isinstance(held, dict):
        return None
    try:
        until = datetime.fromisoformat(held["until"])
        access_id = UUID(held["access"])
    except (KeyError, ValueError, TypeError):
        session.pop("person", None)
        return None
    if until < current_application().clock():
        session.pop("person", None)
        return None
    return access_id


def _hold(access_id: UUID) -> None:
    now = current_application().clock()
    held = session.get("person") if isinstance(session.get("person"), dict) else {}
    began = held.get("began") if held.get("access") == str(access_id) else None
    began_at = datetime.fromisoformat(began) if began else now
    until = min(now + timedelta(minutes=SESSION_MINUTES), began_at + LONGEST_SESSION)
    session["person"] = {"access": str(access_id), "until": until.isoformat(),
                         "began": began_at.isoformat()}


@bp.get("/sprache/<string:code>")
def choose_language(code: str) -> Any:
    if code not in PERSON_LANGUAGES:
        abort(404)
    session["person_language"] = code
    target = "person.status" if _access() else "person.enter"
    return redirect(url_for(target))


@bp.get("")
def enter() -> Any:
    if "zugang" in request.args:
        # A slip's QR code brings its code (and language) once: another person's page open
        # on this phone closes, and the code moves from the address into the form.
        session.pop("person", None)
        session["person_code"] = request.args["zugang"][:40]
        if request.args.get("sprache") in PERSON_LANGUAGES:
            session["person_language"] = request.args["sprache"]
        return redirect(url_for("person.enter"), 303)
    if _access() is not None:
        return redirect(url_for("person.status"))
    return _enter_page({"code": session.pop("person_code", "")}, {}, 200)


def _enter_page(values: dict[str, Any], errors: dict[str, list[str]], status: int) -> Any:
    response = current_app.make_response((render_template(
        "person/enter.html", values=values, errors=errors), status))
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.post("")
def open_page() -> Any:
    try:
        data = load_form(EnterForm)
    except FormError as e:
        return _enter_page(e.values, e.errors, 422)
    try:
        access_id = current_application().person.open_access(data["code"], data["birth_year"])
    except AccessRefused:
        # 401 counts against the code and the address (web/auth/throttle.py); the same
        # words whether the code exists or not.
        security_event("person_page_refused")
        return _enter_page({"code": data["code"], "birth_year": data["birth_year"]},
                           {"_form": [_("This code and birth year do not open a page. "
                                        "Please check both, or ask your contact for a new "
                                        "slip.")]}, 401)
    session.pop("person", None)
    _hold(access_id)
    return redirect(url_for("person.status"))


@bp.get("/status")
def status() -> Any:
    access_id = _access()
    if access_id is None:
        return redirect(url_for("person.enter"))
    try:
        page = _status_page(access_id)
    except AccessRefused:
        session.pop("person", None)
        flash(_("This page is closed: the code was revoked or has expired. Please ask your "
                "contact for a new slip."), "info")
        return redirect(url_for("person.enter"))
    _hold(access_id)  # in use: the page stays open
    return page


def _status_page(access_id: UUID, errors: dict[str, list[str]] | None = None,
                 failed: str | None = None, values: dict[str, Any] | None = None,
                 status_code: int = 200) -> Any:
    application = current_application()
    case = application.person.case_of(access_id)
    lead = application.find(Organisation, case.lead_organisation_id)
    rows = []
    for referral in application.person.referrals_of(access_id):
        receiver = application.find(Organisation, referral.to_organisation_id)
        due = None
        stage = running_stage(referral.status, referral.first_contact_made)
        if stage is not None and referral.sent_at:
            due = day(application.escalations.deadline_of(referral, stage).due_at)
        rows.append({
            "referral": referral, "need": need_words(application.network, referral.need),
            "organisation": receiver.name if receiver else "",
            "contact": receiver.inbox_address if receiver else "",
            "words": status_words(referral.status, receiver.name if receiver else "", due),
            "feedback_open": referral.status in FEEDBACK_STATES})
    consents = [{"id": cid, "expires_on": c["expires_on"],
                 "receiver": application.find(Organisation, c["receiver_organisation_id"])
                 if c.get("receiver_organisation_id") else None,
                 "purposes": ", ".join(dict.fromkeys(
                     need_words(application.network, p) for p in c["purposes"]))}
                for cid, c in case.consents.items()
                if c["state"] == "active" and c["expires_on"] >= application.today()]
    record_read(read_store(), str(case.id), "person_page",
                Stamp.person(g.get("correlation_id", "")), application.clock())
    return render_template(
        "person/status.html", case=case, lead=lead, rows=rows, consents=consents,
        errors=errors or {}, failed=failed, values=values or {},
        helped=list(HELPED_WORDS.items()),
        understood=list(UNDERSTOOD_WORDS.items())), status_code


@bp.post("/rueckmeldung/<uuid:referral_id>")
def give_feedback(referral_id: UUID) -> Any:
    access_id = _access()
    if access_id is None:
        return redirect(url_for("person.enter"))
    try:
        data = load_form(FeedbackForm)
        current_application().person.give_feedback(
            access_id, referral_id, data["helped"], data["understood"],
            data["what_would_help"], g.get("correlation_id", ""))
    except FormError as e:
        return _status_page(access_id, e.errors, str(referral_id), e.values, 422)
    except AccessRefused:
        abort(404)
    except DomainError:
        return _status_page(access_id, {"_form": [str(NOT_POSSIBLE)]}, str(referral_id),
                            request.form, 422)
    flash(_("Thank you. Your answer is saved; the organisations see it."), "success")
    return redirect(url_for("person.status"))


@bp.post("/widerruf")
def request_revocation() -> Any:
    access_id = _access()
    if access_id is None:
        return redirect(url_for("person.enter"))
    try:
        data = load_form(RevocationForm)
        current_application().person.request_revocation(access_id, data["consent_id"],
                                                        g.get("correlation_id", ""))
    except FormError as e:
        return _status_page(access_id, e.errors, "revoke", e.values, 422)
    except AccessRefused:
        abort(404)
    except DomainError:
        return _status_page(access_id, {"_form": [str(NOT_POSSIBLE)]}, "revoke",
                            request.form, 422)
    flash(_("Your wish is passed on. Your contact records it within three working days."),
          "success")
    return redirect(url_for("person.status"))


@bp.post("/ende")
def leave() -> Any:
    session.pop("person", None)
    flash(_("The page is closed."), "info")
    return redirect(url_for("person.enter"))


def init_app(app: Any) -> None:
    app.jinja_env.globals.update(PERSON_LANGUAGES=PERSON_LANGUAGES,
                                 LANGUAGE_NAMES=LANGUAGE_NAMES, RIGHT_TO_LEFT=RIGHT_TO_LEFT)
