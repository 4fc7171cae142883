"""What the codes of the domain are called on screen, in the user's language."""

from __future__ import annotations

from datetime import timezone
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from flask import Flask

from web.application import current_application
from flask_babel import format_decimal, lazy_gettext as _l

from domain.base import Erased
from domain.referral import COMMANDS
from web.i18n import TIMEZONE, language, translate

BERLIN = ZoneInfo(TIMEZONE)

STATUS = {
    "draft": _l("draft"), "requested": _l("sent"), "received": _l("received"),
    "accepted": _l("accepted"), "rejected": _l("rejected"), "forwarded": _l("forwarded"),
    "in-progress": _l("in progress"), "on-hold": _l("on hold"), "completed": _l("completed"),
    "failed": _l("failed"), "cancelled": _l("cancelled"),
    "entered-in-error": _l("entered in error"),
}
URGENCY = {"crisis": _l("crisis"), "urgent": _l("urgent"), "routine": _l("routine")}
KIND = {"service": _l("referral to a service"), "lead_handoff": _l("handoff of the lead")}
RESIDENCE_STATUS = {
    "arrival_certificate": _l("arrival certificate (Ankunftsnachweis)"),
    "gestattung": _l("permission to remain (Aufenthaltsgestattung)"),
    "duldung": _l("tolerated stay (Duldung)"),
    "permit_25": _l("residence permit §25 (Aufenthaltserlaubnis)"),
    "permit_24": _l("residence permit §24 (temporary protection)"),
    "settlement_permit": _l("settlement permit (Niederlassungserlaubnis)"),
}
HOUSING_STAGE = {
    "initial_reception": _l("initial reception"),
    "shared_accommodation": _l("shared accommodation"),
    "followup_accommodation": _l("follow-up accommodation"),
    "own_flat": _l("own flat"),
}
SECTOR = {
    "social_work": _l("social work"), "health": _l("health"), "housing": _l("housing"),
    "employment": _l("employment"), "education": _l("education"),
    "administration": _l("administration"), "civil_society": _l("civil society"),
}
# The person's feedback as the staff read it (domain/referral.py HELPED, UNDERSTOOD).
HELPED_LABELS = {"much": _l("helped a lot"), "somewhat": _l("helped a little"),
                 "little": _l("hardly helped"), "not_at_all": _l("did not help")}
UNDERSTOOD_LABELS = {"yes": _l("yes"), "partly": _l("partly"), "no": _l("no")}
# What an HSDS import did with an organisation or service (domain/services/exchange.py).
OUTCOME = {"registered": _l("registered"), "updated": _l("updated"),
           "unchanged": _l("unchanged"), "pending": _l("pending"), "ended": _l("ended"),
           "refused": _l("refused")}
# What a recorded read was (readmodel/read_audit.py).
READ = {"case_page": _l("case page"), "referral_page": _l("referral page"),
        "case_history": _l("audit of the case"), "case_print": _l("print of the case's audit"),
        "case_csv": _l("CSV of the case's audit"),
        "referral_history": _l("audit of a referral"),
        "referral_print": _l("print of a referral's audit"),
        "referral_csv": _l("CSV of a referral's audit"), "api_case": _l("API: the case"),
        "api_referral": _l("API: a referral"), "api_case_history": _l("API: the case's history"),
        "api_referral_history": _l("API: a referral's history"),
        "fhir": _l("API: a referral as FHIR"),
        "access_report": _l("access report for the person (Art. 15)"),
        "person_page": _l("the person's own page")}
ROLE = {"caseworker": _l("caseworker"), "supervisor": _l("supervisor"),
        "coordinator": _l("coordinator"), "admin": _l("admin"), "system": _l("system"),
        "data_protection": _l("data protection officer"), "person": _l("the person")}
STAGE = {"receive": _l("acknowledge receipt"), "decide": _l("accept or reject"),
         "first_contact": _l("first contact")}
GROUNDS = {"no_capacity": _l("no capacity"), "not_responsible": _l("not responsible"),
           "other": _l("other grounds")}
CONSENT_STATE = {"active": _l("valid"), "revoked": _l("revoked"), "expired": _l("expired")}
NEED_STATE = {"open": _l("open"), "resolved": _l("resolved")}
CASE_STATUS = {"open": _l("open"), "closed": _l("closed")}
# The background processing's jobs (readmodel/runs.py), for the operators' pages.
JOB = {"views": _l("overviews brought up to date"), "escalation_scan": _l("deadline scan"),
       "mail": _l("mail sent"), "webhooks": _l("webhooks delivered")}
# The phases of a rebuild of the views (readmodel/rebuild.py).
REBUILD_PHASE = {"projecting": _l("projecting the events again"),
                 "copying": _l("copying the new views into the database"),
                 "following": _l("taking in the events recorded meanwhile"),
                 "swapping": _l("putting the new views in place"), "done": _l("done")}
# What each recorded event means, for histories and audits.
EVENT = {
    "Case.Opened": _l("case opened"), "Case.PersonDataCorrected": _l("person data corrected"),
    "Case.HousingStageChanged": _l("housing stage changed"),
    "Case.NeedRecorded": _l("need recorded"), "Case.NeedResolved": _l("need resolved"),
    "Case.ConsentGiven": _l("consent given"), "Case.ConsentRevoked": _l("consent revoked"),
    "Case.ConsentExpired": _l("consent expired"),
    "Case.ConsentUsed": _l("data shared on consent"),
    "Case.ConsentOverridden": _l("data shared on crisis override"),
    "Case.ResidenceStatusChanged": _l("residence status changed"),
    "Case.LegalSphereChanged": _l("legal sphere changed"),
    "Case.LeadHandoffsProposed": _l("lead handoffs proposed"),
    "Case.CaseworkerAssigned": _l("caseworker assigned"), "Case.LeadMoved": _l("lead moved"),
    "Case.Closed": _l("case closed"), "Case.Reopened": _l("case reopened"),
    "Case.ErasureRequested": _l("erasure asked for"),
    "Case.ErasureDeclined": _l("erasure declined"), "Case.Erased": _l("case erased"),
    "Case.OwnGoalsRecorded": _l("what the person wants and can do recorded"),
    "Case.PersonAccessGiven": _l("slip with an access code given to the person"),
    "Case.PersonAccessRevoked": _l("the person's access code revoked"),
    "Case.RevocationRequested": _l("the person asked to withdraw a consent"),
    "Case.ConsentFormSigned": _l("signed consent form received"),
    "Referral.FeedbackGiven": _l("the person's feedback"),
    "Referral.Erased": _l("referral erased"),
    "Referral.Created": _l("referral drafted"),
    "Referral.CreatedAndSent": _l("referral created and sent"),
    "Referral.Escalated": _l("deadline missed: escalated"),
    # every other event of a referral: what its command's row in domain.referral calls it
    **{f"Referral.{c.event}": c.recorded for c in COMMANDS.values()},
}


def label(table: dict[str, Any], code: Any) -> str:
    if code is None:
        return ""
    return str(_translated(table).get(code, code))


# (table's id, language) → (the table, its labels as plain strings); every app of the
# process has the same catalogs (web/translations).
_TRANSLATED: dict[tuple[int, str], tuple[dict[str, Any], dict[Any, str]]] = {}


def _translated(table: dict[str, Any]) -> dict[Any, str]:
    """The table as plain strings in the request's language, translated once per process
    and language: a lazy string goes through Babel's catalog lookup on every ``str()``,
    which was a third of an inbox page's time with one lookup per cell."""
    key = (id(table), language())
    entry = _TRANSLATED.get(key)
    # The table itself is kept with its strings, so a table that is gone and whose id is
    # reused by another dict does not get the old one's labels.
    if entry is None or entry[0] is not table:
        entry = _TRANSLATED[key] = (table, {code: translate(text)
                                            for code, text in table.items()})
    return entry[1]


def need_label(network: Any, code: str) -> str:
    need = network.needs.get(code)
    if need is None:
        members = [n for n in network.needs.values() if n.group == code]
        if not members:
            return code
        from flask_babel import gettext

        return gettext("all of: %(needs)s", needs=", ".join(
            need_label(network, n.code) for n in members))
    return need.label_en if language() == "en" else need.label_de


def init_app(app: Flask) -> None:
    tables = {"status": STATUS, "urgency": URGENCY, "kind": KIND,
              "residence_status": RESIDENCE_STATUS, "housing_stage": HOUSING_STAGE,
              "sector": SECTOR, "role": ROLE, "stage": STAGE, "consent_state": CONSENT_STATE,
              "need_state": NEED_STATE, "case_status": CASE_STATUS, "event": EVENT,
              "job": JOB, "grounds": GROUNDS, "read": READ, "outcome": OUTCOME,
              "rebuild_phase": REBUILD_PHASE}
    for name, table in tables.items():
        app.jinja_env.filters[f"{name}_label"] = (lambda t: lambda code: label(t, code))(table)
    register_filters(app)


# The date patterns are fixed and numeric ("dd.MM.yyyy HH:mm", with "EEE " in front for a
# weekday), so they are written out here instead of being handed to Babel per date: Babel
# parses the locale and builds a formatter object for every call, which was a quarter of a
# page's time. Only the weekday's abbreviation depends on the language; it comes from
# Babel's data once per language. tests/test_web_translations.py compares both with Babel.
_WEEKDAYS: dict[str, list[str]] = {}


def _weekdays(locale: str) -> list[str]:
    names = _WEEKDAYS.get(locale)
    if names is None:
        from babel.dates import get_day_names

        names = _WEEKDAYS[locale] = [get_day_names("abbreviated", "format", locale)[i]
                                     for i in range(7)]
    return names


def in_berlin(moment: Any) -> Any:
    """The moment in the offices' time zone (every user's: there is no other). Flask-Babel's
    ``to_user_timezone`` asks the request for the zone on every call, a cost per cell of a
    list; a moment without zone is UTC, as there."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(BERLIN)


def when(value: Any, with_weekday: bool = False) -> str:
    """A moment in Berlin time, as an office reads it; views store ISO text in UTC."""
    from datetime import datetime

    if value in (None, ""):
        return ""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    local = in_berlin(moment)
    text = (f"{local.day:02d}.{local.month:02d}.{local.year:04d} "
            f"{local.hour:02d}:{local.minute:02d}")
    if with_weekday:
        text = f"{_weekdays(language())[local.weekday()]} {text}"
    return text


def day(value: Any) -> str:
    from datetime import datetime

    if not value:
        return ""
    if isinstance(value, str):  # a view's time: ISO text in UTC
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime):
        value = in_berlin(value)
    return f"{value.day:02d}.{value.month:02d}.{value.year:04d}"


def shown(value: Any) -> Any:
    """Jinja's ``finalize``: an erased text (domain.sealing) shows as "gelöscht" in the
    reader's language wherever a page prints it."""
    if isinstance(value, Erased):
        from flask_babel import gettext
        from markupsafe import Markup

        return Markup('<em class="erased">%s</em>') % gettext("erased")
    return value


def language_names(codes: Any) -> str:
    """Language codes (ISO 639) as their names in the reader's language: "Arabisch, Englisch"."""
    if isinstance(codes, Erased) or not codes:
        return codes or ""
    names = Locale(language()).languages
    return ", ".join(names.get(code, code) for code in codes)


def register_filters(app: Flask) -> None:
    app.jinja_env.finalize = shown
    app.jinja_env.filters["when"] = when
    app.jinja_env.filters["day"] = day
    app.jinja_env.filters["need_label"] = lambda code: need_label(
        current_application().network, code)
    app.jinja_env.filters["language_names"] = language_names
    app.jinja_env.filters["translated"] = translate  # a domain message
    app.jinja_env.filters["zip_self"] = lambda values: [(v, v) for v in values]
    app.jinja_env.filters["number"] = format_decimal  # 1.000.010 in German

    def labelled(codes: Any, kind: str) -> list[tuple[str, str]]:
        """(code, label) pairs for a select or a group of checkboxes."""
        show = app.jinja_env.filters[f"{kind}_label"]
        return [(code, show(code)) for code in codes]
    app.jinja_env.filters["labelled"] = labelled
