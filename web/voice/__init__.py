"""The caseworker's side of the person's own voice: the slip with the person's access code
(shown once, to print or show as a QR code), revoking it, the person's own goals and
abilities, their feedback on a referral as told to the caseworker, and the consent form
printed in their language and recorded as signed."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import segno
from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from domain.case import Case
from domain.referral import HELPED, UNDERSTOOD
from web.application import current_application
from web.auth import CASEWORK, roles, viewer
from web.cases.routes import _case_command, render_case
from web.form_submission import submit
from web.forms import VersionedForm, choice, text
from web.i18n import speaking
from web.reads import organisation_names
from web.person.words import LANGUAGE_NAMES, PERSON_LANGUAGES, RIGHT_TO_LEFT
from web.referrals.routes import render_referral
from web.visible import visible_case, visible_referral
from web.voice.consent_form import consent_pdf

bp = Blueprint("voice", __name__)


class SlipForm(VersionedForm):
    language = choice(PERSON_LANGUAGES)


class GoalsForm(VersionedForm):
    goals = text(required=False, max_length=2000)
    abilities = text(required=False, max_length=2000)


class FeedbackForm(VersionedForm):
    helped = choice(HELPED)
    understood = choice(UNDERSTOOD)
    what_would_help = text(required=False, max_length=2000)


class SignedForm(VersionedForm):
    consent_id = text(max_length=64)


@bp.post("/faelle/<uuid:case_id>/zugang")
@roles(*CASEWORK)
def issue_slip(case_id: UUID) -> Any:
    """A new code, shown on a slip to print: it works until revoked, renewed or expired."""
    visible_case(case_id)

    def rerender(errors: dict[str, list[str]], values: dict[str, Any], status: int) -> Any:
        return render_case(visible_case(case_id), "access", errors, values, status)

    def done(slip: Any) -> Any:
        language = request.form.get("language", "de")
        back = _("Back to the case (the slip is shown only now: print it first)")
        base = request.host_url.rstrip("/")  # url_for adds the network's path itself
        link = f"{base}{url_for('person.enter')}?zugang={slip.code}&sprache={language}"
        qr = segno.make(link, error="m").svg_inline(scale=4, title=_("QR code of the slip"))
        with speaking(language):
            rendered = render_template(
                "voice/slip.html", slip=slip, qr=qr, page=f"{base}{url_for('person.enter')}",
                person_language=language, rtl=language in RIGHT_TO_LEFT,
                language_name=LANGUAGE_NAMES[language], back=back,
                case_url=url_for("cases.show", case_id=case_id, _anchor="zugang"))
        response = Response(rendered)
        response.headers["Cache-Control"] = "no-store"  # the code is shown this once
        return response
    return submit(SlipForm, lambda d: current_application().person.issue_access(
        viewer(), case_id, expected_version=d["expected_version"]),
        rerender=rerender, success=done)


@bp.post("/faelle/<uuid:case_id>/zugang/sperren")
@roles(*CASEWORK)
def revoke_access(case_id: UUID) -> Any:
    return _case_command(case_id, "access", VersionedForm,
                         lambda d: current_application().person.revoke_access(
                             viewer(), case_id, expected_version=d["expected_version"],
                             idempotency_key=d["idempotency_key"]),
                         _("The code is revoked: the person's page no longer opens with it."),
                         "zugang")


@bp.post("/faelle/<uuid:case_id>/eigene-ziele")
@roles(*CASEWORK)
def record_own_goals(case_id: UUID) -> Any:
    return _case_command(case_id, "goals", GoalsForm,
                         lambda d: current_application().person.record_own_goals(
                             viewer(), case_id, d["goals"] or "", d["abilities"] or "",
                             expected_version=d["expected_version"],
                             idempotency_key=d["idempotency_key"]),
                         _("What the person wants and can do is recorded."), "eigene-ziele")


@bp.post("/faelle/<uuid:case_id>/einwilligungen/unterschrieben")
@roles(*CASEWORK)
def record_signed_form(case_id: UUID) -> Any:
    return _case_command(case_id, "signed", SignedForm,
                         lambda d: current_application().person.record_signed_consent_form(
                             viewer(), case_id, d["consent_id"],
                             expected_version=d["expected_version"],
                             idempotency_key=d["idempotency_key"]),
                         _("The signed form is recorded."), "einwilligungen")


@bp.get("/faelle/<uuid:case_id>/einwilligungen/<string:consent_id>/formular.pdf")
@roles(*CASEWORK)
def consent_form(case_id: UUID, consent_id: str) -> Any:
    """The consent in the person's language, with its receivers, purposes and expiry, to be
    read and signed."""
    case: Case = visible_case(case_id)
    consent = case.consents.get(consent_id)
    language = request.args.get("sprache", "de")
    if consent is None or language not in PERSON_LANGUAGES:
        return render_case(case, "signed", {"consent_id": [_(
            "Please choose a consent and one of the languages.")]}, {}, 422)
    application = current_application()
    names = organisation_names()
    receiver = names.get(str(consent.get("receiver_organisation_id")), "")
    lead = names.get(str(case.lead_organisation_id), "")
    with speaking(language):
        data = consent_pdf(application.network, case, consent, receiver, lead, language)
    return Response(data, mimetype="application/pdf", headers={
        "Content-Disposition": f'inline; filename="einwilligung-{case.reference}-'
                               f'{language}.pdf"', "Cache-Control": "no-store"})


@bp.post("/vermittlungen/<uuid:referral_id>/rueckmeldung")
@roles(*CASEWORK)
def record_feedback(referral_id: UUID) -> Any:
    """What the person told the lead caseworker about the help received."""
    referral, _case = visible_referral(referral_id)

    def rerender(errors: dict[str, list[str]], values: dict[str, Any], status: int) -> Any:
        return render_referral(referral, "feedback", errors, values, status)

    def done(_result: Any) -> Any:
        flash(_("The person's feedback is recorded."), "success")
        return redirect(url_for("referrals.show", referral_id=referral_id,
                                _anchor="rueckmeldung"))
    return submit(FeedbackForm, lambda d: current_application().person.record_feedback(
        viewer(), referral_id, d["helped"], d["understood"], d["what_would_help"] or "",
        expected_version=d["expected_version"], idempotency_key=d["idempotency_key"]),
        rerender=rerender, success=done)

