"""The person's access report (GDPR Art. 15): everything held about them — the case's
person data, needs and consents, each referral (to whom, why, what became of it), every
change with who made it and when, and everyone who read the case — as JSON and as a PDF
for the person. Read from the event store, like the audit; what was erased reads
"gelöscht"."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask_babel import gettext as _

from domain.application import ReferralNetwork
from domain.case import Case
from domain.referral import Referral
from readmodel.read_audit import reads_of_case
from readmodel.store import ViewStore
from web.audit.history import history_rows
from web.labels import CASE_STATUS, CONSENT_STATE, EVENT, NEED_STATE, READ, ROLE, SECTOR, \
    STATUS, day, label, need_label, when
from web.reports.pdf import ReportPdf

READS_SHOWN = 10_000


def access_report(application: ReferralNetwork, store: ViewStore, case: Case,
                  names: dict[str, str], now: datetime) -> dict[str, Any]:
    referrals = [r for r in (application.find(Referral, rid) for rid in case.referral_ids)
                 if r is not None]
    network = application.network
    return {
        "made_at": now.isoformat(timespec="seconds"),
        "case": {"reference": case.reference, "status": label(CASE_STATUS, case.status),
                 "erased_at": case.erased_at.isoformat() if case.erased_at else None,
                 "lead_organisation": names.get(str(case.lead_organisation_id), ""),
                 "person": dict(case.person), "housing_stage": case.housing_stage,
                 "residence_status": case.residence_status,
                 "legal_sphere": case.legal_sphere},
        "needs": [{"need": need_label(network, code), "status": label(NEED_STATE, n["status"]),
                   "note": n["note"]} for code, n in case.needs.items()],
        "consents": [{"to": names.get(str(c["receiver_organisation_id"]), "")
                      if c["receiver_organisation_id"] else label(SECTOR, c["sector"]),
                      "purposes": [need_label(network, p) for p in c["purposes"]],
                      "given_on": c["given_on"].isoformat(),
                      "expires_on": c["expires_on"].isoformat(),
                      "state": label(CONSENT_STATE, c["state"])}
                     for c in case.consents.values()],
        "referrals": [{"need": need_label(network, r.need),
                       "from": names.get(str(r.from_organisation_id), ""),
                       "to": names.get(str(r.to_organisation_id), ""),
                       "status": label(STATUS, r.status), "reason": r.reason,
                       "outcome": r.outcome or r.status_reason,
                       "sent_at": r.sent_at.isoformat() if r.sent_at else None}
                      for r in referrals if r.status != "draft"],
        "history": [{"at": row.at.isoformat(timespec="seconds"),
                     "what": label(EVENT, row.what), "who": row.user_name,
                     "organisation": row.organisation, "role": label(ROLE, row.role)}
                    for row in history_rows(application, [case.id, *case.referral_ids])],
        "reads": [{"at": r["read_at"], "who": r["reader"], "role": label(ROLE, r["role"]),
                   "organisation": names.get(r["organisation_id"] or "", ""),
                   "what": label(READ, r["what"])}
                  for r in reads_of_case(store, str(case.id), limit=READS_SHOWN)],
    }


def _shown(field: str, value: Any) -> Any:
    if isinstance(value, list):
        return ", ".join(value)
    if field == "at":
        return when(value)
    if field in ("given_on", "expires_on"):
        return day(date.fromisoformat(value))
    return value


def access_report_pdf(report: dict[str, Any]) -> bytes:
    case = report["case"]
    pdf = ReportPdf(_("Information on your data (GDPR Art. 15): case %(reference)s",
                      reference=case["reference"]),
                    _("Made on %(day)s", day=report["made_at"][:10]))
    pdf.alias_nb_pages()
    pdf.heading(_("Everything held about you in this network's case management: your data, "
                  "the referrals made for you, every change with who made it and when, "
                  "and everyone who read your case."))
    person = case["person"]
    pdf.section(_("Your data"))
    pdf.table_of([_("What"), _("Recorded")], [
        (_("Name"), person.get("display_name")), (_("Year of birth"), person.get("birth_year")),
        (_("Household size"), person.get("household_size")),
        (_("Languages"), ", ".join(person.get("languages") or [])),
        (_("District"), person.get("district")), (_("Lead"), case["lead_organisation"]),
        (_("Status"), case["status"])], widths=[60, 200])
    sections = (
        ("needs", _("Needs"), ("need", "status", "note"), (_("Need"), _("Status"), _("Note"))),
        ("consents", _("Consents"), ("to", "purposes", "given_on", "expires_on", "state"),
         (_("To"), _("Purposes"), _("Given"), _("Expires"), _("State"))),
        ("referrals", _("Referrals"), ("need", "from", "to", "status", "reason", "outcome"),
         (_("Need"), _("From"), _("To"), _("Status"), _("Reason"), _("Outcome"))),
        ("history", _("Every change"), ("at", "what", "who", "organisation", "role"),
         (_("Time"), _("What"), _("Who"), _("Organisation"), _("Role"))),
        ("reads", _("Who read your case"), ("at", "who", "role", "organisation", "what"),
         (_("Time"), _("Who"), _("Role"), _("Organisation"), _("What"))))
    for key, title, fields, header in sections:
        pdf.section(title)
        rows = [[_shown(f, item[f]) for f in fields] for item in report[key]]
        if rows:
            pdf.table_of(header, rows)
        else:
            pdf.note(_("None."))
    return pdf.output_bytes()
