"""Routes of the referral page."""

from __future__ import annotations
from typing import Any
from uuid import UUID
from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from domain import access
from domain.base import DomainError
from domain.case import Case
from domain.organisation import Organisation
from domain.referral import FEEDBACK_STATES, REJECTION_GROUNDS, Referral, running_stage
from domain.routing import service_full
from web.auth import CASEWORK, roles, viewer
from web.cases.routes import FormState, _names
from web.form_submission import submit
from web.audit.history import history_rows
from web.application import current_application
from web.i18n import translate
from web.labels import GROUNDS, HELPED_LABELS, UNDERSTOOD_LABELS, label
from web.visible import visible_referral
from web.referrals import bp
from web.referrals.actions import ACTIONS
from web.receivers import parse_receiver, receiver_values
from web.read_audit import records_read


def render_referral(referral: Referral, failed: str | None = None,
                    errors: dict[str, list[str]] | None = None,
                    values: dict[str, Any] | None = None, status: int = 200) -> Any:
    application = current_application()
    case = application.load(Case, referral.case_id, what="case")
    me = viewer()
    stage = running_stage(referral.status, referral.first_contact_made)
    deadline = (application.escalations.deadline_of(referral,
                                                    stage) if stage and referral.sent_at else None)
    actions = [a for a in ACTIONS.values() if referral.may(a.command.name, me)]
    forms = {a.slug: FormState() for a in actions}
    if "warteliste" in forms:
        forms["warteliste"].values["reason"] = _("Waiting list")
    if failed is not None:
        forms[failed] = FormState(dict(values or {}), errors or {})
    organisations_now = current_application().organisations()
    history = history_rows(application, [referral.id],
                           organisations={o.id: o.name for o in organisations_now})
    child = application.find(Referral, referral.child_referral_id) if referral.child_referral_id \
        else None
    # Forwarded to a service of another organisation: not back to the sender, not within
    # the receiver, not to one without services (the IT service, an office of the town).
    organisations = sorted((o for o in organisations_now
                            if o.active and o.services and o.id not in (
                                referral.to_organisation_id, referral.from_organisation_id)),
                           key=lambda o: o.name)
    receiver = next((o for o in organisations_now if o.id == referral.to_organisation_id),
                    None)
    service_name = (receiver.services.get(referral.to_service_id, {}).get("name")
                    if receiver is not None and referral.to_service_id else None)
    capacity = None
    if referral.may("accept", me) or referral.waitlisted:
        service_id, places, taken = application.referrals.capacity_of(referral)
        if places is not None:
            capacity = {"service": service_id, "places": places, "taken": taken,
                        "full": service_full(places, taken)}
    return render_template(
        "referrals/show.html", referral=referral, case=case, deadline=deadline,
        capacity=capacity, grounds_options=[(g, label(GROUNDS, g)) for g in REJECTION_GROUNDS],
        actions=actions, forms=forms, failed=failed, history=history, child=child,
        side=access.referral_side(me, referral),
        shows_case_data=access.sees_case_data_of(me, referral, case, application.today()),
        shows_content=access.sees_referral_content(me, referral, case, application.today()),
        failed_hidden=failed is not None and failed not in {a.slug for a in actions},
        audits=access.audits_referral(me, referral, case), names=_names(),
        forward_options=[(value, _receiver_label(value, organisations))
                         for value in receiver_values(organisations)],
        service_name=service_name, now=application.clock(), feedback_states=FEEDBACK_STATES,
        helped_labels=HELPED_LABELS, understood_labels=UNDERSTOOD_LABELS), status


def _receiver_label(value: str, organisations: list[Organisation]) -> str:
    organisation_id, service_id = parse_receiver(value)
    organisation = next(o for o in organisations if o.id == organisation_id)
    if not service_id:
        return organisation.name
    return f"{organisation.name} – {organisation.services[service_id]['name']}"


@bp.get("/<uuid:referral_id>")
@roles(*CASEWORK)
@records_read("referral_page")
def show(referral_id: UUID) -> Any:
    referral, _case = visible_referral(referral_id)
    return render_referral(referral)


@bp.post("/<uuid:referral_id>/<any(" + ", ".join(f'"{a}"' for a in ACTIONS) + "):action>")
@roles(*CASEWORK)
def act(referral_id: UUID, action: str) -> Any:
    visible_referral(referral_id)
    chosen = ACTIONS[action]
    method = getattr(current_application().referrals, chosen.command.application_method)

    def command(d: dict[str, Any]) -> Any:
        kwargs = {k: v for k, v in d.items()
                  if k in ("reason", "outcome", "crisis_override_reason", "expected_version",
                           "idempotency_key", "over_capacity_reason", "grounds", "made_on")
                  and v is not None}
        if chosen.command.name == "forward":
            try:
                organisation_id, service_id = parse_receiver(d["receiver"])
            except ValueError:
                abort(400)
            referral, _case = visible_referral(referral_id)
            target = current_application().find(Organisation, organisation_id)
            receiving = viewer().organisation_id == referral.to_organisation_id
            # (others are refused by the domain: forwarding is the receiver's)
            if receiving and (target is None or not target.services or organisation_id in (
                    referral.to_organisation_id, referral.from_organisation_id)):
                # what the list offers is what is taken (web.referrals: forward_options)
                raise DomainError(_("Please choose one of the options."), field="receiver")
            kwargs.update(to_organisation_id=organisation_id, to_service_id=service_id)
        return method(viewer(), referral_id, **kwargs)

    def rerender(errors: dict[str, list[str]], values: dict[str, Any], status: int) -> Any:
        referral, _case = visible_referral(referral_id)
        return render_referral(referral, action, errors, values, status)

    def done(result: dict[str, Any]) -> Any:
        flash(translate(chosen.command.done), "success")
        return redirect(url_for("referrals.show", referral_id=referral_id))
    return submit(chosen.form, command, rerender=rerender, success=done,
                  aliases={"consent_id": "receiver", "to_organisation_id": "receiver",
                           "service_id": "receiver"})
