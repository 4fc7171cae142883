"""Routes of the caseworker's pages."""

from __future__ import annotations
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from domain.base import DomainError
from domain.case import Case
from domain.receipt import CommandReceipt
from domain.organisation import Organisation
from domain.referral import Referral, running_stage
from domain.stamp import Role
from domain.routing import suggest_receivers
from domain.vocabulary import HOUSING_STAGES, LEGAL_SPHERES, RESIDENCE_STATUSES, SECTORS, \
    URGENCIES
from web.person.words import LANGUAGE_NAMES, PERSON_LANGUAGES
from web.auth import CASEWORK, roles, viewer
from web.cases import bp
from web.cases.forms import DiscardDraftForm, DraftForm, HousingForm, ReasonForm, \
    ResidenceStatusForm, ResolveNeedForm, RevokeConsentForm, consent_form, need_form, \
    open_case_form, person_form, person_of, purposes_of, referral_form
from web.form_submission import submit
from web.application import current_application
from web.forms import content_key, new_key
from readmodel import queries
from web.labels import day
from web.reads import lists_freshness, organisation_names, read_store, service_loads
from web.visible import visible_case, visible_referral
from web.receivers import parse_receiver, receiver_value, receiver_values
from web.read_audit import records_read


@dataclass
class FormState:
    """What one form on a page shows: the values it was sent with and the problems found, or
    fresh defaults and a new idempotency key."""

    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.values.setdefault("idempotency_key", new_key())


def forms_for(names: list[str], failed: str | None, errors: dict[str, list[str]] | None,
              values: dict[str, Any] | None) -> dict[str, FormState]:
    states = {name: FormState() for name in names}
    if failed is not None:
        states[failed] = FormState(dict(values or {}), errors or {})
    return states


# -- the organisation's cases -----------------------------------------------------------------
@bp.get("")
@roles(*CASEWORK)
def index() -> Any:
    show_all = request.args.get("status") == "alle"
    rows = queries.cases_led_by(read_store(), str(viewer().organisation_id), show_all)
    names = {}
    for row in rows:  # person data is not kept in the views; it comes from the case itself
        case = current_application().find(Case, UUID(row["case_id"]))
        names[row["case_id"]] = case.person["display_name"] if case else ""
    return render_template("cases/index.html", rows=rows, names=names, show_all=show_all,
                           freshness=lists_freshness())


# -- opening a case -----------------------------------------------------------------------------
def _open_case_page(errors: dict[str, list[str]], values: dict[str, Any], status: int) -> Any:
    network = current_application().network
    values.setdefault("idempotency_key", new_key())
    values.setdefault("household_size", 1)
    return render_template("cases/new.html", values=values, errors=errors, network=network,
                           housing_stages=HOUSING_STAGES,
                           residence_statuses=RESIDENCE_STATUSES), status


@bp.get("/neu")
@roles(*CASEWORK)
def new() -> Any:
    return _open_case_page({}, {}, 200)


@bp.post("/neu")
@roles(*CASEWORK)
def create() -> Any:
    network = current_application().network

    def command(data: dict[str, Any]) -> Any:
        person = person_of(data)
        # The same case typed again today (Back, then send again: the page came back with a
        # new form key) is the same command: the case opened the first time is answered.
        key = content_key(viewer(), "open_case", current_application().today(), person,
                          data["housing_stage"], data["residence_status"], data["needs"])
        again = current_application().find(CommandReceipt,
                                           CommandReceipt.id_for(viewer(), key)) is not None
        result = current_application().cases.open_case(
            viewer(), person, data["housing_stage"], data["residence_status"],
            needs=data["needs"], idempotency_key=key)
        return {**result, "again": again}

    def opened(result: dict[str, Any]) -> Any:
        if result["again"]:
            flash(_("Case %(reference)s was opened with these details already; it is not "
                    "recorded twice.", reference=result["reference"]), "info")
        else:
            flash(_("Case %(reference)s is opened.", reference=result["reference"]),
                  "success")
        return redirect(url_for("cases.show", case_id=result["case_id"]))
    return submit(open_case_form(network, current_application().today().year), command,
                  rerender=_open_case_page, success=opened)


# -- the case page ----------------------------------------------------------------------------
CASE_FORMS = ["need", "consent", "residence", "resolve", "revoke", "draft", "discard", "close",
              "reopen", "erasure", "person", "housing", "access", "goals", "signed"]


def render_case(case: Case, failed: str | None = None,
                errors: dict[str, list[str]] | None = None,
                values: dict[str, Any] | None = None, status: int = 200,
                failed_referral: UUID | None = None) -> Any:
    application = current_application()
    referrals = [r for r in (application.find(Referral, rid) for rid in case.referral_ids) if r]
    deadlines = {}
    for referral in referrals:
        stage = running_stage(referral.status, referral.first_contact_made)
        if stage and referral.sent_at:
            deadlines[referral.id] = application.escalations.deadline_of(referral, stage)
    drafts = [r for r in referrals if r.status == "draft"]
    organisations = _active_organisations()
    return (render_template("cases/show.html", case=case, referrals=referrals, drafts=drafts,
                            deadlines=deadlines,
                            forms=forms_for(CASE_FORMS, failed, errors, values), failed=failed,
                            failed_referral=failed_referral, names=_names(),
                            network=application.network,
                            organisation_options=[(str(o.id), o.name) for o in organisations],
                            purposes=purposes_of(application.network), sectors=SECTORS,
                            residence_statuses=RESIDENCE_STATUSES, legal_spheres=LEGAL_SPHERES,
                            housing_stages=HOUSING_STAGES, today=application.today(),
                            person_languages=[(code, LANGUAGE_NAMES[code])
                                              for code in PERSON_LANGUAGES],
                            person_language_codes=PERSON_LANGUAGES), status)


def _names() -> dict[str, str]:
    return organisation_names()


def _active_organisations() -> list[Organisation]:
    return sorted((o for o in current_application().organisations() if o.active),
                  key=lambda o: o.name)


@bp.get("/<uuid:case_id>")
@roles(*CASEWORK)
@records_read("case_page")
def show(case_id: UUID) -> Any:
    return render_case(visible_case(case_id))


def _case_command(case_id: UUID, name: str, form: Any, command: Any, message: str,
                  anchor: str, referral_id: UUID | None = None) -> Any:
    visible_case(case_id)

    def rerender(errors: dict[str, list[str]], values: dict[str, Any], status: int) -> Any:
        return render_case(visible_case(case_id), name, errors, values, status, referral_id)

    def done(result: Any) -> Any:
        flash(message, "success")
        # New lead handoffs to confirm come first: the page opens at them.
        drafted = isinstance(result, dict) and result.get("draft_referral_ids")
        return redirect(url_for("cases.show", case_id=case_id,
                                _anchor="entwuerfe" if drafted else anchor))
    return submit(form, command, rerender=rerender, success=done)


def _lifecycle_command(case_id: UUID, name: str, command: Any, message: str) -> Any:
    """Closing, reopening, asking for the erasure: a reason each, on the case's last
    panel."""
    return _case_command(case_id, name, ReasonForm,
                         lambda d: command(viewer(), case_id, d["reason"],
                                           expected_version=d["expected_version"],
                                           idempotency_key=d["idempotency_key"]),
                         message, "verlauf")


@bp.post("/<uuid:case_id>/abschluss")
@roles(*CASEWORK)
def close(case_id: UUID) -> Any:
    return _lifecycle_command(case_id, "close", current_application().cases.close_case,
                              _("The case is closed."))


@bp.post("/<uuid:case_id>/wiedereroeffnung")
@roles(*CASEWORK)
def reopen(case_id: UUID) -> Any:
    return _lifecycle_command(case_id, "reopen", current_application().cases.reopen_case,
                              _("The case is open again."))


@bp.post("/<uuid:case_id>/loeschantrag")
@roles(Role.SUPERVISOR)
def request_erasure(case_id: UUID) -> Any:
    return _lifecycle_command(
        case_id, "erasure", current_application().privacy.request_erasure,
        _("The erasure is requested: the data protection officer decides."))


@bp.post("/<uuid:case_id>/bedarfe")
@roles(*CASEWORK)
def record_need(case_id: UUID) -> Any:
    return _case_command(case_id, "need", need_form(current_application().network),
                         lambda d: current_application().cases.record_need(
                             viewer(), case_id, d["need"], d["note"] or "",
                             expected_version=d["expected_version"],
                             idempotency_key=d["idempotency_key"]),
                         _("The need is recorded."),
                         "bedarfe")


@bp.post("/<uuid:case_id>/bedarfe/erledigt")
@roles(*CASEWORK)
def resolve_need(case_id: UUID) -> Any:
    return _case_command(case_id, "resolve", ResolveNeedForm,
                         lambda d: current_application().cases.resolve_need(
                             viewer(), case_id, d["need"], d["note"] or "",
                             expected_version=d["expected_version"],
                             idempotency_key=d["idempotency_key"]),
                         _("The need is marked as resolved."),
                         "bedarfe")


@bp.post("/<uuid:case_id>/einwilligungen")
@roles(*CASEWORK)
def give_consent(case_id: UUID) -> Any:
    ids = [str(o.id) for o in _active_organisations()]

    def command(d: dict[str, Any]) -> Any:
        receiver = d["receiver_organisation_id"]
        return current_application().cases.give_consent(
            viewer(), case_id, d["purposes"], d["expires_on"],
            receiver_organisation_id=UUID(receiver) if receiver else None,
            sector=d["sector"], given_on=d["given_on"],
            expected_version=d["expected_version"], idempotency_key=d["idempotency_key"])
    return _case_command(case_id, "consent", consent_form(current_application().network, ids,
                                                          current_application().today()), command,
                         _("The consent is recorded."), "einwilligungen")


@bp.post("/<uuid:case_id>/einwilligungen/widerrufen")
@roles(*CASEWORK)
def revoke_consent(case_id: UUID) -> Any:
    return _case_command(case_id, "revoke", RevokeConsentForm,
                         lambda d: current_application().cases.revoke_consent(
                             viewer(), case_id, d["consent_id"], d["reason"],
                             expected_version=d["expected_version"],
                             idempotency_key=d["idempotency_key"]),
                         _("The consent is revoked. Receivers no longer see the case data it covered."),
                         "einwilligungen")


@bp.post("/<uuid:case_id>/aufenthaltsstatus")
@roles(*CASEWORK)
def change_residence_status(case_id: UUID) -> Any:
    def command(d: dict[str, Any]) -> Any:
        result = current_application().cases.change_residence_status(
            viewer(), case_id, d["residence_status"], legal_sphere=d["legal_sphere"],
            expected_version=d["expected_version"], idempotency_key=d["idempotency_key"])
        if result["draft_referral_ids"]:
            flash(_("The legal sphere changed: please confirm or discard the proposed "
                    "handoffs of the lead."), "notice")
        return result
    return _case_command(case_id, "residence", ResidenceStatusForm, command,
                         _("The residence status is recorded."), "status")


@bp.post("/<uuid:case_id>/person")
@roles(*CASEWORK)
def correct_person_data(case_id: UUID) -> Any:
    form = person_form(current_application().network, current_application().today().year)
    return _case_command(case_id, "person", form, lambda d: current_application().cases
                         .correct_person_data(viewer(), case_id, person_of(d),
                                              expected_version=d["expected_version"],
                                              idempotency_key=d["idempotency_key"]),
                         _("The person's data is corrected."), "h-person")


@bp.post("/<uuid:case_id>/unterbringung")
@roles(*CASEWORK)
def change_housing_stage(case_id: UUID) -> Any:
    return _case_command(case_id, "housing", HousingForm, lambda d: current_application()
                         .cases.change_housing_stage(viewer(), case_id, d["housing_stage"],
                                                     expected_version=d["expected_version"],
                                                     idempotency_key=d["idempotency_key"]),
                         _("The housing is recorded."), "h-person")


# -- draft lead handoffs ----------------------------------------------------------------------
@bp.post("/entwuerfe/<uuid:referral_id>/senden")
@roles(*CASEWORK)
def confirm_draft(referral_id: UUID) -> Any:
    referral, case = visible_referral(referral_id)
    return _case_command(
        case.id, "draft", DraftForm,
        lambda d: current_application().referrals.send_draft(viewer(), referral_id,
                                      crisis_override_reason=d["crisis_override_reason"],
                                      expected_version=d["expected_version"],
                                      idempotency_key=d["idempotency_key"]),
        _("The handoff is sent."), "entwuerfe", referral_id)


@bp.post("/entwuerfe/<uuid:referral_id>/verwerfen")
@roles(*CASEWORK)
def discard_draft(referral_id: UUID) -> Any:
    referral, case = visible_referral(referral_id)
    return _case_command(
        case.id, "discard", DiscardDraftForm,
        lambda d: current_application().referrals.cancel_referral(
            viewer(), referral_id, d["reason"] or _("Draft discarded by the caseworker."),
            expected_version=d["expected_version"], idempotency_key=d["idempotency_key"]),
        _("The draft is discarded."), "entwuerfe", referral_id)


# -- the referral form ------------------------------------------------------------------------
def _posted_receiver() -> list[str]:
    """The receiver choices the posted form may name: the posted one if it is among those
    the form offers (an active organisation, or one of its services), else none. Only that
    organisation is loaded, from the event store (the views may not show one just
    registered or deactivated yet), instead of replaying the whole directory per POST."""
    posted = request.form.getlist("receiver")
    value = posted[-1] if posted else ""  # the one load_form validates
    try:
        # Read only (the command's receiver check reads the same object).
        organisation = current_application().find(Organisation, parse_receiver(value)[0],
                                                  read_only=True)
    except ValueError:
        return []
    if organisation is None:
        return []
    if organisation.active and value in receiver_values([organisation]):
        return [value]
    return []


def _refuse_a_second_open_referral(case: Case, need: str, organisation_id: UUID) -> None:
    """The same need to the same receiver while one is open is nearly always a slip (Back,
    then send again; a colleague was quicker): the caseworker is told and may send anyway."""
    for referral_id in case.referral_ids:
        referral = current_application().find(Referral, referral_id)
        if (referral is not None and referral.status != "draft" and referral.is_open
                and referral.need == need and referral.to_organisation_id == organisation_id):
            raise DomainError(_(
                "There is already an open referral to %(receiver)s for this need (since "
                "%(since)s). Send another one only if that is meant.",
                receiver=organisation_names().get(str(organisation_id), ""),
                since=day(referral.sent_at or referral.created_on)), field="send_anyway")


def render_referral_form(case: Case, errors: dict[str, list[str]], values: dict[str, Any],
                         status: int) -> Any:
    application = current_application()
    network = application.network
    need = values.get("need") if values.get("need") in network.needs else None
    urgency = values.get("urgency") if values.get("urgency") in URGENCIES else None
    values.setdefault("idempotency_key", new_key())
    values.setdefault("kind", "service")
    organisations = _active_organisations()
    suggestions, consent_for = [], {}
    if need and urgency:
        # the responsibility map in force, as the coordination office keeps it
        suggestions = suggest_receivers(application.responsibilities.effective_network(),
                                        organisations, case, need, urgency,
                                        service_loads(),
                                        application.clock(),
                                        lead_handoff=values.get("kind") == "lead_handoff")
        sectors = {o.id: o.sector for o in organisations}
        consent_for = {s.organisation_id: case.consent_covering(
            s.organisation_id, sectors[s.organisation_id], need, application.today()) is not None
            for s in suggestions}
    return render_template("cases/refer.html", case=case, values=values, errors=errors,
                           need=need, urgency=urgency, suggestions=suggestions,
                           consent_for=consent_for, network=network,
                           need_options=_needs_open_first(case, network),
                           urgencies=URGENCIES, receiver_value=receiver_value), status


def _needs_open_first(case: Case, network: Any) -> list[str]:
    open_needs = [code for code, n in case.needs.items() if n["status"] == "open"]
    return open_needs + [code for code in network.needs if code not in open_needs]


@bp.get("/<uuid:case_id>/vermitteln")
@roles(*CASEWORK)
def refer(case_id: UUID) -> Any:
    case = visible_case(case_id)
    values = {k: request.args.get(k) for k in ("need", "urgency", "kind") if request.args.get(k)}
    errors: dict[str, list[str]] = {}
    if "need" in values and values["need"] not in current_application().network.needs:
        errors["need"] = [_("Please choose one of the options.")]
    if "urgency" in values and values["urgency"] not in URGENCIES:
        errors["urgency"] = [_("Please choose one of the options.")]
    return render_referral_form(case, errors, values, 422 if errors else 200)


@bp.post("/<uuid:case_id>/vermitteln")
@roles(*CASEWORK)
def send_referral(case_id: UUID) -> Any:
    visible_case(case_id)
    form = referral_form(current_application().network, _posted_receiver())

    def command(d: dict[str, Any]) -> Any:
        organisation_id, service_id = parse_receiver(d["receiver"])
        if not d["send_anyway"] and current_application().find(
                CommandReceipt, CommandReceipt.id_for(viewer(), d["idempotency_key"])) is None:
            # (a double click gets its answer, below)
            _refuse_a_second_open_referral(visible_case(case_id), d["need"], organisation_id)
        return current_application().referrals.send_referral(
            viewer(), case_id, d["need"], d["urgency"], organisation_id, d["reason"],
            to_service_id=service_id, kind=d["kind"],
            crisis_override_reason=d["crisis_override_reason"],
            idempotency_key=d["idempotency_key"])

    def rerender(errors: dict[str, list[str]], values: dict[str, Any], status: int) -> Any:
        return render_referral_form(visible_case(case_id), errors, dict(values), status)

    def sent(result: dict[str, Any]) -> Any:
        flash(_("The referral is sent."), "success")
        return redirect(url_for("referrals.show", referral_id=result["referral_id"]))
    return submit(form, command, rerender=rerender, success=sent,
                  aliases={"consent_id": "receiver", "to_organisation_id": "receiver",
                           "service_id": "receiver"})
