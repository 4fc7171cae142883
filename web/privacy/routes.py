"""Routes of the data protection officer's work. The pages show references, organisations,
dates and the reasons given for erasures — never the person's data."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

from flask import Response, abort, flash, jsonify, redirect, render_template, request, \
    url_for
from flask_babel import gettext as _

from domain.case import Case
from domain.referral import DRAFT, OPEN_STATES, Referral
from domain.stamp import Role
from readmodel import queries
from readmodel.read_audit import reads_of_case
from readmodel.store import ts
from web.application import current_application
from web.auth import roles, viewer
from web.cases.forms import ReasonForm
from web.form_submission import submit
from web.forms import VersionedForm
from web.privacy import bp
from web.privacy.access_report import access_report, access_report_pdf
from web.read_audit import records_read
from web.visible import audited_case
from web.reads import organisation_names, read_store

DAYS_PER_MONTH = 30.44


def _work() -> dict[str, Any]:
    application = current_application()
    months = application.network.retention_months
    cutoff = application.clock() - timedelta(days=months * DAYS_PER_MONTH)
    work = queries.erasure_work(read_store(), ts(cutoff) or "")
    cases = {row["case_id"]: application.find(Case, UUID(row["case_id"]))
             for rows in work.values() for row in rows}
    # The lists come from the views, a moment behind; each row is checked against its case
    # as it is now, so a decision just taken never shows as still to be taken.
    work["requested"] = [r for r in work["requested"] if (c := cases.get(r["case_id"]))
                         and c.erasure_request and not c.is_erased]
    work["due"] = [r for r in work["due"] if (c := cases.get(r["case_id"]))
                   and not c.is_open and not c.erasure_request and not c.is_erased]
    open_referrals = {
        case_id: sum(1 for rid in case.referral_ids
                     if (r := application.find(Referral, rid))
                     and r.status in OPEN_STATES - {DRAFT})
        for case_id, case in cases.items() if case is not None}
    return {**work, "cases": cases, "open_referrals": open_referrals,
            "retention_months": months, "names": organisation_names()}


def _page(errors: dict[str, list[str]] | None = None, values: dict[str, Any] | None = None,
          failed_case: str | None = None, status: int = 200) -> Any:
    work = _work()
    shown = {row["case_id"] for row in work["requested"]}
    # A decision refused for a case no longer listed (decided meanwhile in another tab)
    # is said at the top of the page.
    failed_reference = None
    if failed_case is not None and failed_case not in shown:
        case = current_application().find(Case, UUID(failed_case))
        failed_reference = case.reference if case else ""
        if case is not None and case.is_erased:  # the other tab erased it: say so
            errors = {"_form": [_("The case is erased already.")]}
    return render_template("privacy/index.html", **work, errors=errors or {},
                           values=values or {}, failed_case=failed_case,
                           failed_reference=failed_reference), status


@bp.get("")
@roles(Role.DATA_PROTECTION)
def index() -> Any:
    return _page()


def _decided(message: str) -> Any:
    flash(message, "success")
    return redirect(url_for("privacy.index"))


def _command(case_id: UUID, form: Any, command: Any, message: str) -> Any:
    def rerender(errors: dict[str, list[str]], values: dict[str, Any], status: int) -> Any:
        return _page(errors, values, str(case_id), status)
    return submit(form, command, rerender=rerender, success=lambda _r: _decided(message))


@bp.post("/<uuid:case_id>/loeschen")
@roles(Role.DATA_PROTECTION)
def erase(case_id: UUID) -> Any:
    """The second pair of eyes: on a supervisor's request, or on the network's retention
    rule for a case closed long enough."""
    privacy = current_application().privacy
    case = current_application().find(Case, case_id)
    command = privacy.confirm_erasure if case is not None and case.erasure_request \
        else privacy.erase_after_retention
    return _command(case_id, VersionedForm,
                    lambda d: command(viewer(), case_id, expected_version=d["expected_version"]),
                    _("The case is erased."))


@bp.post("/<uuid:case_id>/ablehnen")
@roles(Role.DATA_PROTECTION)
def decline(case_id: UUID) -> Any:
    return _command(case_id, ReasonForm,
                    lambda d: current_application().privacy.decline_erasure(
                        viewer(), case_id, d["reason"], expected_version=d["expected_version"]),
                    _("The erasure is declined; the supervisor sees the reason in the case's "
                      "history."))


@bp.get("/lesezugriffe")
@roles(Role.DATA_PROTECTION)
def reads() -> Any:
    """Who read a case, for any case of the network, found by its reference."""
    reference = (request.args.get("fall") or "").strip()[:40]
    rows, found = [], None
    if reference:
        found = queries.case_by_reference(read_store(), reference)
        if found is not None:
            rows = reads_of_case(read_store(), found["case_id"], limit=1000)
    status = 404 if reference and found is None else 200
    network = current_application().network
    example = f"{network.case_reference_prefix}-{current_application().today().year}-00042"
    return render_template("privacy/reads.html", reference=reference, found=found, rows=rows,
                           names=organisation_names(), example=example), status


# -- the person's access report (Art. 15) -------------------------------------------------------
def _reported_case(case_id: UUID) -> Case:
    """The lead organisation's supervisors answer their people's requests; the data
    protection officer any person's."""
    if viewer().role == Role.DATA_PROTECTION:
        case = current_application().find(Case, case_id)
        if case is None:
            abort(404)
        return case
    return audited_case(case_id)


def _report(case_id: UUID) -> dict[str, Any]:
    application = current_application()
    # Names from the directory itself, not the views: the report is exact, never stale.
    names = {str(o.id): o.name for o in application.organisations()}
    return access_report(application, read_store(), _reported_case(case_id), names,
                         application.clock())


@bp.get("/auskunft/<uuid:case_id>.json")
@roles(Role.SUPERVISOR, Role.DATA_PROTECTION)
@records_read("access_report")
def access_report_json(case_id: UUID) -> Any:
    report = _report(case_id)
    response = jsonify(report)
    response.headers["Content-Disposition"] = \
        f'attachment; filename="auskunft-{report["case"]["reference"]}.json"'
    return response


@bp.get("/auskunft/<uuid:case_id>.pdf")
@roles(Role.SUPERVISOR, Role.DATA_PROTECTION)
@records_read("access_report")
def access_report_file(case_id: UUID) -> Any:
    report = _report(case_id)
    return Response(access_report_pdf(report), mimetype="application/pdf", headers={
        "Content-Disposition":
            f'attachment; filename="auskunft-{report["case"]["reference"]}.pdf"'})
