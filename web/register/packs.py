"""A forum's documentation pack, as one page and one PDF: its needs in writing, its
agreements, a structured summary for further work, the district's network map, the contact
overview of its participants (from the directory) and a handout with contacts and the way
to refer. Handed to the participants, so its figures are suppressed as in any file that
leaves the coordination office."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from uuid import UUID

from flask import Response
from flask_babel import format_date, gettext as _, ngettext

from domain.organisation import Organisation
from domain.register import Forum
from readmodel import register as views
from readmodel.register import RegisterGroup
from readmodel.reports import NetworkMap, ReportFilter, network_map
from web.application import current_application
from web.i18n import language
from web.labels import SECTOR, label, need_label
from web.reads import organisation_names, read_store
from web.register.figures import GAP_HEADER, GapFigures, for_group, gap_figures
from web.register.statuses import FORUM_KIND, GROUP_STATUS, agreement_state
from web.reports import SUPPRESSION_NOTE, map_header, map_rows, map_svg
from web.reports.pdf import ReportPdf
from web.reports.query import default_period


@dataclass
class Pack:
    forum: Forum
    forum_id: UUID
    title: str
    scope: str
    needs: list[dict[str, Any]]
    agreements: list[dict[str, Any]]
    groups: list[tuple[RegisterGroup, GapFigures | None, int]]
    sectors: list[tuple[str, int]]
    ungrouped: int
    network_map: NetworkMap
    map_svg: str | None
    map_rows: list[list[Any]]
    participants: list[dict[str, Any]]
    handout: list[HandoutEntry]
    engagements: list[dict[str, Any]]
    procedure: list[str] = field(default_factory=list)


def _day(value: date | str | None) -> str:
    if value is None:
        return ""
    return format_date(date.fromisoformat(value) if isinstance(value, str) else value,
                       "dd.MM.yyyy")


def pack(forum: Forum, forum_id: UUID) -> Pack:
    application = current_application()
    network = application.network
    store = read_store()
    names = organisation_names()
    groups = {g.group_id: g for g in views.groups(store)}
    needs = []
    for number, need in forum.current_needs():
        group = groups.get(str(need["group_id"])) if need["group_id"] else None
        needs.append({"number": number, "text": need["text"], "district": need["district"],
                      "sector": label(SECTOR, need["sector"]),
                      "raised_by": ", ".join(names.get(str(o), "") for o in need["raised_by"]),
                      "raised_on": _day(need["raised_on"]),
                      "group": group.title if group else "",
                      "status": label(GROUP_STATUS, group.status) if group else ""})
    agreements = [{"organisation": names.get(a["organisation_id"], ""), "what": a["what"],
                   "due_on": _day(a["due_on"]),
                   "status": agreement_state(a), "note": a["note"],
                   "group": groups[a["group_id"]].title if a["group_id"] in groups else ""}
                  for a in views.agreements(store, forum_id=str(forum_id))]
    gaps = gap_figures(store, network, application.today())
    current = [need for _number, need in forum.current_needs()]
    touched = Counter(str(n["group_id"]) for n in current if n["group_id"])
    summary = [(groups[g], for_group(gaps, groups[g]), count)
               for g, count in sorted(touched.items(), key=lambda kv: groups[kv[0]].title
                                      if kv[0] in groups else "") if g in groups]
    district = forum.district
    period = default_period(application.today())
    found = network_map(store, ReportFilter(period, district=district))
    participants = _participants(forum)
    handout, engagements = _handout(district)
    return Pack(
        forum=forum, forum_id=forum_id, title=forum.name,
        scope=_scope(forum, names),
        needs=needs, agreements=agreements, groups=summary,
        sectors=Counter(n["sector"] for n in needs).most_common(),
        ungrouped=sum(1 for n in current if not n["group_id"]),
        network_map=found,
        map_svg=map_svg(found, names, export=True) if found.flows else None,
        map_rows=map_rows(found, names, export=True), participants=participants,
        handout=handout, engagements=engagements, procedure=_procedure())


def _scope(forum: Forum, names: dict[str, str]) -> str:
    parts = [label(FORUM_KIND, forum.kind)]
    if forum.district:
        parts.append(forum.district)
    if forum.held_on:
        parts.append(_day(forum.held_on))
    if forum.lead_organisation_id:
        parts.append(_("lead: %(organisation)s",
                       organisation=names.get(str(forum.lead_organisation_id), "")))
    parts.append(ngettext("%(num)d participating organisation",
                          "%(num)d participating organisations", len(forum.participants)))
    return " · ".join(parts)


def _participants(forum: Forum) -> list[dict[str, Any]]:
    """The participants as the directory describes them: name, sector, inbox, the contacts
    the coordination office made public (volunteers take part in conferences too) and
    what their services offer."""
    application = current_application()
    network = application.network
    found = []
    for organisation_id in forum.participants:
        organisation = application.find(Organisation, organisation_id)
        if organisation is None:
            continue
        services = [str(s["name"]) for s in organisation.offered_services().values()]
        found.append({
            "name": organisation.name, "sector": label(SECTOR, organisation.sector),
            "inbox": organisation.inbox_address,
            "contacts": [_contact(c) for c in organisation.shown_contacts() if _contact(c)],
            "services": services,
            "needs": sorted({need_label(network, n) for s in
                             organisation.offered_services().values()
                             for n in s.get("needs") or []})})
    return sorted(found, key=lambda p: p["name"].lower())


def _contact(contact: dict[str, Any]) -> str:
    return " · ".join(str(contact[k]) for k in ("name", "title", "phone", "email")
                      if contact.get(k))


@dataclass(frozen=True)
class HandoutEntry:
    """Whom to turn to for one need: the organisations the map in force names (with their
    inbox and their public contacts) and what the people can do themselves."""

    need: str
    organisations: tuple[dict[str, Any], ...]
    self_help: tuple[str, ...] = ()


def _handout(district: str | None) -> tuple[list[HandoutEntry], list[dict[str, Any]]]:
    """Per need of the catalogue, from the responsibility map in force, for the district
    (every housing stage) or, for a working group of the whole network, the network; and
    the volunteer initiatives working there."""
    application = current_application()
    network = application.network
    english = language() == "en"
    named: dict[str, list[Any]] = {}
    self_help: dict[str, list[str]] = {}
    engagements: list[dict[str, Any]] = []
    if district:
        found = application.responsibilities.handout(district)
        for row in found.rows:
            listed = named.setdefault(row.need, [])
            listed.extend(o for o in row.organisations if o.key not in {n.key for n in listed})
            text = (row.self_help_en if english and row.self_help_en else row.self_help)
            if text and text not in self_help.setdefault(row.need, []):
                self_help[row.need].append(text)
        engagements = [{"organisation": e.organisation.name, "service": e.service,
                        "needs": ", ".join(need_label(network, n) for n in e.needs)}
                       for e in found.engagements]
    else:
        for rule in application.responsibilities.effective_network().rules:
            keys = named.setdefault(rule.need, [])
            keys.extend(k for k in rule.organisations if k not in keys)
    entries = []
    for need in network.needs:
        organisations = []
        for entry in named.get(need) or named.get(need.split(".", 1)[0]) or []:
            organisation = application.organisation_by_key(getattr(entry, "key", entry))
            if organisation is None or not organisation.active:
                continue
            contacts = getattr(entry, "contacts", ())
            organisations.append({"name": organisation.name,
                                  "inbox": organisation.inbox_address,
                                  "contacts": [_contact(c) for c in contacts if _contact(c)]})
        if organisations or self_help.get(need):
            entries.append(HandoutEntry(need_label(network, need), tuple(organisations),
                                        tuple(self_help.get(need, ()))))
    return entries, engagements


def _procedure() -> list[str]:
    policy = current_application().network.deadlines
    routine = policy.stages.get("routine", {})

    def within(stage: str) -> str:
        duration = routine.get(stage)
        if duration is None:
            return "–"
        if duration.working_days:
            return _("within %(days)s working days", days=duration.working_days)
        return _("within %(hours)s hours", hours=duration.hours)
    return [
        _("Ask the person for their consent to pass their case on, for this receiver and "
          "purpose; without it, only a crisis allows a referral."),
        _("Send the referral in Fallnetz to the organisation named here for the need; "
          "Fallnetz suggests the services with room near where the person lives."),
        _("The receiver acknowledges it %(receive)s, decides %(decide)s and makes first "
          "contact %(contact)s; a missed deadline escalates, in the end to the coordination "
          "office.", receive=within("receive"), decide=within("decide"),
          contact=within("first_contact")),
        _("No names or other personal data in a need card or an agreement: they describe "
          "the network, not persons."),
    ]


def _named_with_contacts(organisation: dict[str, Any]) -> str:
    return "; ".join([f"{organisation['name']} ({organisation['inbox']})",
                      *organisation["contacts"]])


def ungrouped_and_sectors(found: Pack) -> str:
    return " ".join([
        ngettext("%(num)d need is in no group yet.", "%(num)d needs are in no group yet.",
                 found.ungrouped),
        _("All needs by sector: %(sectors)s.", sectors="; ".join(
            f"{sector} {count}" for sector, count in found.sectors))])


def pack_pdf(found: Pack) -> Response:
    application = current_application()
    pdf = ReportPdf(found.title, f"{application.network.name} · "
                    f"{format_date(application.today(), 'dd.MM.yyyy')}")
    pdf.heading(_("Documentation pack – %(scope)s", scope=found.scope))
    pdf.section(_("Needs"))
    if found.needs:
        pdf.table_of([_("No."), _("Need"), _("District"), _("Sector"), _("Raised by"),
                      _("Day"), _("Need group"), _("Status")],
                     [[n["number"], n["text"], n["district"], n["sector"], n["raised_by"],
                       n["raised_on"], n["group"] or "–", n["status"] or "–"]
                      for n in found.needs], [4, 40, 12, 12, 22, 9, 18, 12])
    else:
        pdf.note(_("No needs were recorded."))
    pdf.section(_("Agreements"))
    if found.agreements:
        pdf.table_of([_("Who"), _("What"), _("By"), _("Need group"), _("Status"), _("Note")],
                     [[a["organisation"], a["what"], a["due_on"], a["group"] or "–",
                       a["status"], a["note"] or "–"] for a in found.agreements],
                     [20, 40, 9, 18, 10, 30])
    else:
        pdf.note(_("No agreements were made."))
    pdf.section(_("Summary for further work"))
    if found.groups:
        pdf.table_of([_("Need group"), _("Status"), _("Needs of this forum"),
                      *[str(h) for h in GAP_HEADER]],
                     [[g.title, label(GROUP_STATUS, g.status), count,
                       *(f.shown(export=True) if f else ["–"] * len(GAP_HEADER))]
                      for g, f, count in found.groups], [26, 12, 8, 8, 8, 8, 10, 8, 14])
    pdf.note(ungrouped_and_sectors(found))
    pdf.add_page()
    pdf.section(_("Network map of %(district)s (last twelve months)",
                  district=found.forum.district or _("the network")))
    if found.map_svg:
        pdf.chart(found.map_svg, 150)
        pdf.table_of(map_header(), found.map_rows, [5, 5, 2, 2, 2, 2, 2, 2, 2])
    else:
        pdf.note(_("No referrals in this period."))
    pdf.add_page()
    pdf.section(_("Contact overview of the participants"))
    pdf.table_of([_("Organisation"), _("Sector"), _("Inbox"), _("Contacts"),
                  _("What it offers")],
                 [[p["name"], p["sector"], p["inbox"], "\n".join(p["contacts"]) or "–",
                   ", ".join(p["needs"]) or "–"] for p in found.participants],
                 [24, 12, 22, 24, 38])
    pdf.section(_("Handout: whom to turn to"))
    pdf.table_of([_("Need"), _("Organisations (inbox, contacts)"),
                  _("What the people can do themselves")],
                 [[entry.need, "\n".join(_named_with_contacts(o) for o in entry.organisations)
                   or "–", "\n".join(entry.self_help) or "–"] for entry in found.handout],
                 [22, 60, 38])
    if found.engagements:
        pdf.section(_("Volunteer initiatives"))
        pdf.table_of([_("Initiative"), _("Offer"), _("Needs")],
                     [[e["organisation"], e["service"], e["needs"]]
                      for e in found.engagements], [30, 40, 50])
    pdf.section(_("How to refer"))
    for number, step in enumerate(found.procedure, 1):
        pdf.note(f"{number}. {step}")
    pdf.note(str(SUPPRESSION_NOTE))
    filename = f"dokumentation-{found.forum_id}.pdf"
    return Response(pdf.output_bytes(), mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="{filename}"'})
