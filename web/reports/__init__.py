"""The network's instruments for the coordination office (the whole network) and for
supervisors (their own organisation's referrals): the network's health, the network map
and the care-gap report, each as a page, a CSV and a PDF (DESIGN §11). Aggregates only;
what leaves the office as a file has its small counts suppressed."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import replace
from datetime import date
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, \
    url_for
from flask_babel import format_date, format_decimal, gettext as _, lazy_gettext as _l
from marshmallow import fields

from domain import access
from domain.demand import MOST_PEOPLE
from readmodel import queries, register as register_views
from readmodel.reports import (
    SMALL, DemandRow, GapRow, Health, NetworkMap, Period, ReportFilter, StepTimes,
    capacity_against_demand, care_gaps, drawn, median_for_export, network_health, network_map,
    rate_for_export, suppressed)
from readmodel.store import ts
from web.application import current_application
from web.auth import allowed_by, viewer
from web.form_submission import submit
from web.forms import MESSAGES, CommandForm, integer, new_key, text
from web.labels import SECTOR, label, need_label
from web.reads import lists_freshness, organisation_names, read_store
from web.reports.charts import DEMAND_COLOUR, PLACES_COLOUR, bars_svg, network_map_svg, \
    trend_svg
from web.reports.pdf import ReportPdf, on_one_page
from web.reports.query import MONTH, needs_and_groups, report_filter
from web.spreadsheet import csv_response

bp = Blueprint("reports", __name__, url_prefix="/netzwerk")

GAP_REASONS = {"no_provider": _l("no service in the district"),
               "no_acceptance": _l("no referral accepted"),
               "rejected_for_capacity": _l("rejected for lack of capacity"),
               "high_load": _l("services at least 90 percent full")}
# The columns' widths in a PDF, in parts of the page's width.
GAP_WIDTHS = [22, 36, 17, 20, 20, 17, 17, 17, 16, 17, 16, 17, 45]
DEMAND_WIDTHS = [4, 3, 3, 2, 2, 2, 2, 2]
SUPPRESSION_NOTE = _l("So that no person can be recognised, counts from 1 to 4 are shown "
                      "as “< 5” and larger counts rounded to a multiple of five; shares "
                      "that would let a small count be worked out and medians over fewer "
                      "than five referrals are left out (–).")


def _days(value: float | None) -> str:
    return "–" if value is None else format_decimal(value, "#,##0.0")


def _median(days: float | None, times: StepTimes, step: str, export: bool) -> str:
    return _days(median_for_export(days, times.referrals.get(step, 0)) if export else days)


def _percent(value: float | None) -> str:
    return "–" if value is None else format_decimal(value * 100, "#,##0") + " %"


def _exported_percent(value: float | None, part: int, whole: int) -> str:
    shown = rate_for_export(value, part, whole)
    return shown if isinstance(shown, str) else _percent(shown)


def _scope(f: ReportFilter) -> str:
    """What was counted, in words, for the page and the files."""
    network = current_application().network
    parts = [_("%(first)s to %(last)s", first=f.period.start.strftime("%m/%Y"),
               last=f.period.last_month.strftime("%m/%Y"))]
    parts.append(f.district or _("all districts"))
    parts.append(need_label(network, f.need) if f.need else _("all needs"))
    if f.organisation_id:
        parts.append(_("referrals of %(organisation)s",
                       organisation=organisation_names().get(f.organisation_id, "")))
    return " · ".join(parts)


def _page(template: str, title: str, files: str, f: ReportFilter, given: dict[str, str],
          errors: dict[str, list[str]], **context: Any) -> Any:
    """A report's page; ``files`` names its CSV and PDF views (``<files>_csv``, ...)."""
    network = current_application().network
    districts = [(d, d) for d in network.districts]
    needs = [(code, need_label(network, code)) for code in needs_and_groups()]
    query = _query_of(f)
    return render_template(
        template, report_title=title, csv_endpoint=f"reports.{files}_csv",
        pdf_endpoint=f"reports.{files}_pdf", filter=f, given=given, errors=errors,
        scope=_scope(f), query=query,
        districts=districts, needs=needs, freshness=lists_freshness(),
        first_month=f.period.start.strftime("%Y-%m"),
        last_month=f.period.last_month.strftime("%Y-%m"), **context), 422 if errors else 200


def _query_of(f: ReportFilter) -> dict[str, str]:
    """The filter as counted, for the links to the other reports and to the files: a
    value the page refused is not passed on."""
    query = {"von": f.period.start.strftime("%Y-%m"),
             "bis": f.period.last_month.strftime("%Y-%m")}
    if f.district:
        query["stadtteil"] = f.district
    if f.need:
        query["bedarf"] = f.need
    return query


def _export_filter() -> ReportFilter:
    """A file is made for a valid filter only: it leaves the office without the page's
    message that the filter was replaced."""
    f, _given, errors = report_filter()
    if errors:
        abort(422, description="; ".join(
            f"{field}: {' '.join(messages)}" for field, messages in errors.items()))
    return f


def _named(base: str, f: ReportFilter, extension: str) -> str:
    """The file's name says what it counts, e.g. netzwerkkarte-2026-03-bis-2026-03.csv."""
    parts = [base, f.period.start.strftime("%Y-%m"), "bis",
             f.period.last_month.strftime("%Y-%m"), f.district or "", f.need or ""]
    ascii_name = unicodedata.normalize("NFKD", "-".join(p for p in parts if p)).encode(
        "ascii", "ignore").decode()
    return re.sub(r"[^A-Za-z0-9.-]+", "-", ascii_name).strip("-").lower() + "." + extension


def _pdf(title: str, f: ReportFilter, header: list[str], rows: list[list[Any]],
         filename: str, svg: str | None = None, widths: list[int] | None = None,
         chart_width: float = 170) -> Response:
    def draw(pdf: ReportPdf) -> None:
        pdf.heading(_scope(f))
        if svg:
            pdf.chart(svg, width=chart_width)
        pdf.table_of(header, rows, widths)
        pdf.note(str(SUPPRESSION_NOTE))
    return _pdf_response(on_one_page(title, _footer(), draw), filename)


def _footer() -> str:
    return f"Fallnetz · {current_application().network.name}"


def _pdf_response(pdf: ReportPdf, filename: str) -> Response:
    return Response(pdf.output_bytes(), mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


# -- the network's health ------------------------------------------------------------------
def _health_rows(health: Health, export: bool) -> list[list[Any]]:
    count = suppressed if export else (lambda n: n)
    return [[o.name, count(o.referrals), _days(o.median_days_overdue),
             _days(o.most_days_overdue)] for o in health.overdue_by_receiver]


def _health_header() -> list[str]:
    return [_("Receiver"), _("Open referrals overdue"), _("Median days overdue"),
            _("Most days overdue")]


def _health_figures(health: Health, export: bool) -> list[list[Any]]:
    count = suppressed if export else (lambda n: n)
    share = (lambda v: _exported_percent(v, health.with_outcome, health.sent)) if export \
        else _percent
    return [[_("Referrals sent"), count(health.sent)],
            [_("With an outcome (ended)"), count(health.with_outcome)],
            [_("Share with an outcome"), share(health.outcome_share)],
            [_("Median days from sending to receipt"),
             _median(health.median_days_to_receive, health.times, "receipt", export)],
            [_("Median days from receipt to decision"),
             _median(health.median_days_to_decide, health.times, "decision", export)],
            [_("Median days from acceptance to first contact"),
             _median(health.median_days_to_first_contact, health.times,
                     "contact_after_acceptance", export)]]


@bp.get("")
@allowed_by(access.sees_network_reports)
def overview() -> Any:
    f, given, errors = report_filter()
    health = network_health(read_store(), f, current_application().clock())
    chart = bars_svg([(o.name, o.referrals) for o in health.overdue_by_receiver[:12]],
                     _("Open referrals past their deadline, by receiver"),
                     lambda v: f"{v:.0f}") if health.overdue_by_receiver else None
    return _page("reports/overview.html", _("The network's health"), "overview", f, given,
                 errors, health=health, register=_register_reminders(),
                 figures=_health_figures(health, export=False),
                 overdue_rows=_health_rows(health, export=False), chart=chart)


def _register_reminders() -> dict[str, Any] | None:
    """For the coordination office: the needs register's need groups reported six months
    ago and still open (put before politics again) and the agreements missed."""
    if not access.keeps_register(viewer()):
        return None
    store = read_store()
    application = current_application()
    today = application.today()
    return {"due_again": [g for g in register_views.groups(store) if g.due_again(today)],
            "missed": [a for a in register_views.agreements(store, open_only=True)
                       if a["due_at"] <= ts(application.clock())]}


@bp.get("/gesundheit.csv")
@allowed_by(access.sees_network_reports)
def overview_csv() -> Any:
    f = _export_filter()
    health = network_health(read_store(), f, current_application().clock())
    rows = [*_health_figures(health, export=True), [],
            _health_header(), *_health_rows(health, export=True)]
    return csv_response([_("Figure"), _("Value")], rows, _named("netzwerk-gesundheit", f, "csv"))


def health_section(pdf: ReportPdf, health: Health, overdue_caption: str = "") -> None:
    """The network's health in a PDF, its counts suppressed; ``overdue_caption`` says
    when the overdue referrals were counted where the period would suggest otherwise."""
    pdf.table_of([_("Figure"), _("Value")], _health_figures(health, export=True), [3, 1])
    if health.overdue_by_receiver:
        if overdue_caption:
            pdf.note(overdue_caption)
        else:
            pdf.ln(4)
        pdf.table_of(_health_header(), _health_rows(health, export=True), [3, 1, 1, 1])


@bp.get("/gesundheit.pdf")
@allowed_by(access.sees_network_reports)
def overview_pdf() -> Any:
    f = _export_filter()
    health = network_health(read_store(), f, current_application().clock())

    def draw(pdf: ReportPdf) -> None:
        pdf.heading(_scope(f))
        health_section(pdf, health)
        pdf.note(str(SUPPRESSION_NOTE))
    return _pdf_response(on_one_page(_("The network's health"), _footer(), draw),
                         _named("netzwerk-gesundheit", f, "pdf"))


# -- the network map ----------------------------------------------------------------------
def map_header() -> list[str]:
    return [_("From"), _("To"), _("Referrals"), _("Accepted"), _("Rejected"),
            _("Acceptance rate"), _("Median days to receipt"), _("Median days to acceptance"),
            _("Share escalated")]


def map_rows(found: NetworkMap, names: dict[str, str], export: bool) -> list[list[Any]]:
    count = suppressed if export else (lambda n: n)
    rows = []
    for flow in found.flows:
        decided = flow.accepted + flow.rejected
        rows.append([
            names.get(flow.from_organisation_id, ""), names.get(flow.to_organisation_id, ""),
            count(flow.sent), count(flow.accepted), count(flow.rejected),
            _exported_percent(flow.acceptance_rate, flow.accepted, decided) if export
            else _percent(flow.acceptance_rate),
            _median(flow.median_days_to_receive, flow.times, "receipt", export),
            _median(flow.median_days_to_accept, flow.times, "acceptance", export),
            _exported_percent(flow.overdue_share, flow.escalated, flow.sent) if export
            else _percent(flow.overdue_share)])
    return rows


def map_svg(found: NetworkMap, names: dict[str, str], export: bool) -> str:
    count = suppressed if export else (lambda n: n)
    if export:  # the lines' and dots' sizes would tell the hidden counts
        found = NetworkMap(
            [replace(n, sent=drawn(n.sent), received=drawn(n.received)) for n in found.nodes],
            [replace(fl, sent=drawn(fl.sent)) for fl in found.flows])
    sectors = {code: label(SECTOR, code) for code in {n.sector for n in found.nodes}}
    return network_map_svg(
        found, names, sectors, _("Network map: referrals between the organisations"),
        lambda a, b, n: _("%(sender)s to %(receiver)s: %(count)s referrals",
                          sender=names.get(a, ""), receiver=names.get(b, ""), count=count(n)),
        lambda name, sent, received: _("%(name)s: %(sent)s sent, %(received)s received",
                                       name=name, sent=count(sent),
                                       received=count(received)))


@bp.get("/karte")
@allowed_by(access.sees_network_reports)
def network_map_page() -> Any:
    f, given, errors = report_filter()
    found = network_map(read_store(), f)
    names = organisation_names()
    return _page("reports/map.html", _("Network map"), "network_map", f, given, errors,
                 found=found,
                 chart=map_svg(found, names, export=False) if found.flows else None,
                 header=map_header(), rows=map_rows(found, names, export=False))


@bp.get("/karte.csv")
@allowed_by(access.sees_network_reports)
def network_map_csv() -> Any:
    f = _export_filter()
    found = network_map(read_store(), f)
    return csv_response(map_header(), map_rows(found, organisation_names(), export=True),
                        _named("netzwerkkarte", f, "csv"))


@bp.get("/karte.pdf")
@allowed_by(access.sees_network_reports)
def network_map_pdf() -> Any:
    f = _export_filter()
    found = network_map(read_store(), f)
    names = organisation_names()
    return _pdf(_("Network map"), f, map_header(), map_rows(found, names, export=True),
                _named("netzwerkkarte", f, "pdf"), svg=map_svg(found, names, export=True)
                if found.flows else None, widths=[5, 5, 2, 2, 2, 2, 2, 2, 2],
                chart_width=150)  # tall (2:3): narrower, so its table fits below it


# -- the care-gap report -------------------------------------------------------------------
def _gap_header() -> list[str]:
    return [_("District"), _("Need"), _("Needs recorded"), _("Referrals"), _("Accepted"),
            _("Rejected: no capacity"), _("Rejected: not responsible"),
            _("Rejected: other grounds"), _("Escalated"), _("Median days to first contact"),
            _("Services"), _("Load"), _("Care gap")]


def _gap_rows(rows: list[GapRow], export: bool) -> list[list[Any]]:
    count = suppressed if export else (lambda n: n)
    network = current_application().network
    return [[r.district, need_label(network, r.need), count(r.needs_recorded), count(r.sent),
             count(r.accepted), count(r.rejected_no_capacity),
             count(r.rejected_not_responsible), count(r.rejected_other), count(r.overdue),
             _median(r.median_days_to_first_contact, r.times, "first_contact", export),
             r.providers, _percent(r.load),
             ", ".join(str(GAP_REASONS[g]) for g in r.gaps) or "–"] for r in rows]


@bp.get("/versorgungsluecken")
@allowed_by(access.sees_network_reports)
def care_gaps_page() -> Any:
    f, given, errors = report_filter()
    rows = care_gaps(read_store(), current_application().network, f)
    with_demand = [r for r in rows if r.sent or r.needs_recorded]
    without_service = [r for r in rows if not (r.sent or r.needs_recorded)]
    network = current_application().network
    trends = {(r.district, r.need): trend_svg(r.trend, _(
        "Referrals per month over twelve months, %(need)s in %(district)s: %(counts)s",
        need=need_label(network, r.need), district=r.district,
        counts=", ".join(str(c) for c in r.trend))) for r in with_demand}
    return _page("reports/gaps.html", _("Care gaps"), "care_gaps", f, given, errors,
                 rows=with_demand, trends=trends, reasons=GAP_REASONS, days=_days,
                 percent=_percent,
                 need_name=lambda code: need_label(network, code),
                 without_service=_without_service(without_service),
                 feedback=_feedback_rows(f))


def _feedback_rows(f: ReportFilter) -> list[dict[str, Any]]:
    """The people's feedback per service, always with small counts suppressed: one
    person's answer must not be told apart (a supervisor sees their organisation's only)."""
    organisations = {str(o.id): o for o in current_application().organisations()}
    rows = []
    first, after = f.period.start.isoformat(), f.period.end.isoformat()
    for row in queries.feedback_per_service(read_store(), first, after, f.organisation_id,
                                            f.district, f.need):
        organisation = organisations.get(row["organisation_id"])
        service = (organisation.services.get(row["service_id"] or "", {}) if organisation
                   else {}).get("name", "–")
        answers = int(row["answers"])
        # Under five answers even "0 helped" would tell what each person said.
        counts = {k: suppressed(int(row[k] or 0)) if answers >= SMALL else "–"
                  for k in ("helped", "understood", "by_person")}
        rows.append({"organisation": organisation.name if organisation else "–",
                     "service": service, "answers": suppressed(answers), **counts})
    return rows


def _without_service(rows: list[GapRow]) -> list[tuple[str, list[str]]]:
    """Per district, the needs no service offers there."""
    network = current_application().network
    by_district: dict[str, list[str]] = {}
    for r in rows:
        by_district.setdefault(r.district, []).append(need_label(network, r.need))
    return sorted(by_district.items())


@bp.get("/versorgungsluecken.csv")
@allowed_by(access.sees_network_reports)
def care_gaps_csv() -> Any:
    f = _export_filter()
    rows = care_gaps(read_store(), current_application().network, f)
    return csv_response(_gap_header(), _gap_rows(rows, export=True),
                        _named("versorgungsluecken", f, "csv"))


@bp.get("/versorgungsluecken.pdf")
@allowed_by(access.sees_network_reports)
def care_gaps_pdf() -> Any:
    f = _export_filter()
    rows = [r for r in care_gaps(read_store(), current_application().network, f)
            if r.sent or r.needs_recorded]
    return _pdf(_("Care gaps"), f, _gap_header(), _gap_rows(rows, export=True),
                _named("versorgungsluecken", f, "pdf"), widths=GAP_WIDTHS)


# -- capacity against demand ------------------------------------------------------------------
class DemandForm(CommandForm):
    need = text(max_length=80)
    district = text(required=False, max_length=80)
    first_month = fields.String(required=True, validate=MONTH, error_messages=MESSAGES)
    last_month = fields.String(required=True, validate=MONTH, error_messages=MESSAGES)
    people = integer(minimum=1, maximum=MOST_PEOPLE)


class WithdrawDemandForm(CommandForm):
    estimate_id = fields.UUID(required=True, error_messages=MESSAGES)


def _demand_header() -> list[str]:
    return [_("Need"), _("District"), _("Period"), _("Expected people"), _("Places"),
            _("Taken"), _("Free"), _("Missing")]


def _demand_rows(rows: list[DemandRow], export: bool) -> list[list[Any]]:
    count = suppressed if export else (lambda n: n)
    network = current_application().network
    return [[need_label(network, r.need), r.district or _("whole network"),
             _("%(first)s to %(last)s", first=_month(r.first_month), last=_month(r.last_month)),
             # Free and missing places are the places less those taken: as the taken.
             r.people, r.places, count(r.taken), count(r.free), count(r.missing)]
            for r in rows]


def _month(value: str) -> str:
    return f"{value[5:7]}/{value[:4]}"


def _demand_svg(rows: list[DemandRow]) -> str:
    network = current_application().network
    bars: list[tuple[str, float, str]] = []
    for r in rows:
        name = f"{need_label(network, r.need)}, {r.district or _('whole network')}"
        bars += [(_("Expected: %(what)s", what=name), r.people, DEMAND_COLOUR),
                 (_("Free places: %(what)s", what=name), r.free, PLACES_COLOUR)]
    return bars_svg(bars, _("Expected demand and free places"), lambda v: f"{v:,.0f}")


def render_capacity(errors: dict[str, list[str]] | None = None,
                    values: dict[str, Any] | None = None, status: int = 200) -> Any:
    f, given, filter_errors = report_filter()
    rows = capacity_against_demand(read_store(), f)
    network = current_application().network
    page, code = _page(
        "reports/capacity.html", _("Capacity against demand"), "capacity", f, given,
        filter_errors, rows=rows, cells=_demand_rows(rows, export=False),
        header=_demand_header(), chart=_demand_svg(rows) if rows else None,
        plans=access.plans_demand(viewer()), form_errors=errors or {},
        form_values=values or {"idempotency_key": new_key(),
                               "first_month": f.period.start.strftime("%Y-%m"),
                               "last_month": f.period.last_month.strftime("%Y-%m")},
        need_options=[(code_, need_label(network, code_)) for code_ in needs_and_groups()],
        new_key=new_key)
    return page, status if errors else code


@bp.get("/kapazitaet")
@allowed_by(access.sees_network_reports)
def capacity_page() -> Any:
    return render_capacity()


@bp.post("/kapazitaet")
@allowed_by(access.plans_demand)
def record_demand() -> Any:
    def command(d: dict[str, Any]) -> Any:
        return current_application().planning.record_demand(
            viewer(), d["need"], date.fromisoformat(f"{d['first_month']}-01"),
            date.fromisoformat(f"{d['last_month']}-01"), d["people"],
            district=d["district"], idempotency_key=d["idempotency_key"])

    def done(_result: Any) -> Any:
        flash(_("The expected demand is recorded."), "success")
        # Shown for its own period, which may lie outside the one on the page.
        form = request.form
        return redirect(url_for("reports.capacity_page", von=form["first_month"],
                                bis=form["last_month"]))
    return submit(DemandForm, command, rerender=render_capacity, success=done)


@bp.post("/kapazitaet/zurueckziehen")
@allowed_by(access.plans_demand)
def withdraw_demand() -> Any:
    def command(d: dict[str, Any]) -> Any:
        return current_application().planning.withdraw_demand(
            viewer(), d["estimate_id"], idempotency_key=d["idempotency_key"])

    def done(_result: Any) -> Any:
        flash(_("The expected demand is withdrawn."), "success")
        return redirect(url_for("reports.capacity_page"))

    def refused(errors: dict[str, list[str]], _values: dict[str, Any], _status: int) -> Any:
        # A button without inputs: its refusal (withdrawn already, e.g. in another tab) is
        # said above the page as it is now, not inside the form for recording.
        for messages in errors.values():
            for message in messages:
                flash(message, "error")
        return redirect(url_for("reports.capacity_page"))
    return submit(WithdrawDemandForm, command, rerender=refused, success=done)


@bp.get("/kapazitaet.csv")
@allowed_by(access.sees_network_reports)
def capacity_csv() -> Any:
    f = _export_filter()
    rows = capacity_against_demand(read_store(), f)
    return csv_response(_demand_header(), _demand_rows(rows, export=True),
                        _named("kapazitaet-und-bedarf", f, "csv"))


@bp.get("/kapazitaet.pdf")
@allowed_by(access.sees_network_reports)
def capacity_pdf() -> Any:
    f = _export_filter()
    rows = capacity_against_demand(read_store(), f)
    return _pdf(_("Capacity against demand"), f, _demand_header(),
                _demand_rows(rows, export=True), _named("kapazitaet-und-bedarf", f, "pdf"),
                svg=_demand_svg(rows) if rows else None, widths=DEMAND_WIDTHS)


# -- the monthly report ------------------------------------------------------------------------
def monthly_report_pdf(month: date) -> tuple[str, bytes]:
    """The network's report of one month for the coordination office's mail: its health,
    its care gaps and its capacity against demand, counts suppressed (a mail leaves the
    office). Made in an app context, outside of any request: the workers' mail job."""
    application = current_application()
    f = ReportFilter(Period.months(f"{month:%Y-%m}", f"{month:%Y-%m}"))
    store = read_store()
    health = network_health(store, f, application.clock())
    gaps = [r for r in care_gaps(store, application.network, f) if r.sent or r.needs_recorded]
    demand = capacity_against_demand(store, f)

    def draw(pdf: ReportPdf) -> None:
        pdf.heading(_scope(f))
        pdf.section(_("The network's health"))
        health_section(pdf, health, _(
            "Open referrals past their deadline when this report was made (%(day)s):",
            day=format_date(application.clock(), "dd.MM.yyyy")))
        pdf.section(_("Care gaps"))
        if gaps:
            pdf.table_of(_gap_header(), _gap_rows(gaps, export=True), GAP_WIDTHS)
        else:
            pdf.note(_("No needs were recorded and no referrals sent in this month."))
        pdf.section(_("Capacity against demand"))
        if demand:
            pdf.table_of(_demand_header(), _demand_rows(demand, export=True), DEMAND_WIDTHS)
        else:
            pdf.note(_("No expected demand is recorded for this month."))
        pdf.note(str(SUPPRESSION_NOTE))
    pdf = on_one_page(_("Monthly report of the network"), _footer(), draw)
    return _named("monatsbericht", f, "pdf"), pdf.output_bytes()
