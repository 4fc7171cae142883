"""The report for politics: the needs of the chosen districts, clustered into need groups,
with their status, their agreements and the care-gap figures beside them; as a page, a CSV
and a PDF. It leaves the coordination office, so the figures are suppressed in the files."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask import Response
from flask_babel import format_date, gettext as _

from readmodel import register as views
from readmodel.register import RegisterGroup, RegisterNeed, group_districts
from web.application import current_application
from web.labels import SECTOR, label
from web.reads import organisation_names, read_store
from web.register.figures import GAP_HEADER, GapFigures, for_group, gap_figures
from web.register.statuses import GROUP_STATUS, agreement_state
from web.reports import SUPPRESSION_NOTE
from web.reports.pdf import ReportPdf
from web.spreadsheet import csv_response


@dataclass
class DistrictPart:
    district: str
    groups: list[tuple[RegisterGroup, GapFigures | None]] = field(default_factory=list)
    ungrouped: list[RegisterNeed] = field(default_factory=list)


def chosen_districts(given: list[str]) -> list[str]:
    """The districts asked for that the network has (none: all)."""
    known = current_application().network.districts
    return [d for d in known if d in given]


def politics_report(districts: list[str]) -> list[DistrictPart]:
    application = current_application()
    store = read_store()
    rows = gap_figures(store, application.network, application.today())
    parts = {d: DistrictPart(d) for d in (districts or application.network.districts)}
    for group in views.groups(store, districts=districts or None):
        figures = for_group(rows, group)
        for district in group_districts(group):
            if district in parts:
                parts[district].groups.append((group, figures))
    for need in views.needs(store, districts=districts or None):
        if need.group_id is None and need.district in parts:
            parts[need.district].ungrouped.append(need)
    return [p for p in parts.values() if p.groups or p.ungrouped]


def reportable_groups(report: list[DistrictPart]) -> list[str]:
    """The groups a sending of this report reports (resolved ones are not)."""
    return list(dict.fromkeys(g.group_id for part in report for g, _f in part.groups
                              if g.status != "resolved"))


def _agreements(group: RegisterGroup, names: dict[str, str]) -> str:
    return "; ".join(
        _("%(organisation)s: %(what)s (by %(day)s, %(status)s)",
          organisation=names.get(a["organisation_id"], ""), what=a["what"],
          day=format_date(date.fromisoformat(a["due_on"]), "dd.MM.yyyy"),
          status=agreement_state(a))
        for a in group.agreements)


def _status(group: RegisterGroup) -> str:
    text = label(GROUP_STATUS, group.status)
    if group.reported_on and group.status == "reported":
        text += " " + _("on %(day)s", day=format_date(group.reported_on, "dd.MM.yyyy"))
    return text


def csv_header() -> list[str]:
    return [_("District"), _("Need group"), _("Status"), _("Need"), _("Sector"),
            _("Raised by"), _("Forum"), _("Day"), _("Agreements"),
            *[str(h) for h in GAP_HEADER]]


def csv_rows(report: list[DistrictPart]) -> list[list[Any]]:
    names = organisation_names()
    forums = {f["forum_id"]: f["name"] for f in views.forums(read_store())}
    rows: list[list[Any]] = []

    def need_cells(need: RegisterNeed) -> list[Any]:
        return [need.text, label(SECTOR, need.sector),
                ", ".join(names.get(o, "") for o in need.raised_by),
                forums.get(need.forum_id, ""), format_date(need.raised_on, "dd.MM.yyyy")]
    for part in report:
        for group, figures in part.groups:
            shown = figures.shown(export=True) if figures else [""] * len(GAP_HEADER)
            needs = [n for n in group.needs if n.district == part.district] or [None]
            for need in needs:
                rows.append([part.district, group.title, _status(group),
                             *(need_cells(need) if need else [""] * 5),
                             _agreements(group, names), *shown])
        for need in part.ungrouped:
            rows.append([part.district, _("(not yet grouped)"), "", *need_cells(need), "",
                         *[""] * len(GAP_HEADER)])
    return rows


def _file_name(districts: list[str], extension: str) -> str:
    day = current_application().today().isoformat()
    scope = "-".join(districts) if districts else "alle-stadtteile"
    ascii_scope = unicodedata.normalize("NFKD", scope).encode("ascii", "ignore").decode()
    return f"bedarfe-fuer-politik-{re.sub(r'[^A-Za-z0-9-]+', '-', ascii_scope)}-{day}." \
           f"{extension}"


def politics_csv(districts: list[str]) -> Response:
    return csv_response(csv_header(), csv_rows(politics_report(districts)),
                        _file_name(districts, "csv"))


def politics_pdf(districts: list[str]) -> Response:
    application = current_application()
    report = politics_report(districts)
    names = organisation_names()
    pdf = ReportPdf(_("Needs of the network for political decision makers"),
                    f"{application.network.name} · "
                    f"{format_date(application.today(), 'dd.MM.yyyy')}")
    pdf.alias_nb_pages()
    pdf.heading(_("Districts: %(districts)s", districts=", ".join(districts) or _("all")))
    pdf.note(_("Needs described by the network's actors at district conferences and in "
               "working groups, grouped by the coordination office, with what was agreed and "
               "the figures of the care-gap report of the last twelve months beside them."))
    header = [_("Need group"), _("Status"), _("Needs"), _("Agreements"),
              *[str(h) for h in GAP_HEADER]]
    for part in report:
        pdf.section(part.district)
        rows = []
        for group, figures in part.groups:
            needs = "\n".join(f"– {n.text}" for n in group.needs
                              if n.district == part.district)
            rows.append([group.title, _status(group), needs or "–",
                         _agreements(group, names) or "–",
                         *(figures.shown(export=True) if figures
                           else ["–"] * len(GAP_HEADER))])
        if rows:
            pdf.table_of(header, rows, [16, 10, 34, 26, 7, 7, 7, 8, 7, 10])
        if part.ungrouped:
            pdf.note(_("Not yet grouped: %(needs)s",
                       needs="; ".join(n.text for n in part.ungrouped)))
    if not report:
        pdf.note(_("The register holds no needs for these districts."))
    pdf.note(str(SUPPRESSION_NOTE))
    return Response(pdf.output_bytes(), mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="{_file_name(districts, "pdf")}"'})
