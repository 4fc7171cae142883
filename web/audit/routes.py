"""Routes of the audit."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from flask import Response, render_template, request
from flask_babel import gettext as _

from domain import access
from domain.stamp import Role
from readmodel.read_audit import reads_of_case
from web.audit import bp
from web.audit.history import HistoryRow, case_snapshot, deadline_trail, \
    history_rows, without_details
from web.auth import roles, viewer
from web.application import current_application
from web.audit.readable import summary, who
from web.labels import EVENT, STATUS, CASE_STATUS, label
from web.reads import organisation_names, read_store
from web.spreadsheet import csv_response
from web.visible import audited_case, audited_referral
from web.read_audit import records_read

BERLIN = ZoneInfo("Europe/Berlin")


# What the "state at a moment" field takes, as typed in German offices: a date with a time,
# or a date alone (the state at the end of that day).
MOMENT_FORMATS = (("%d.%m.%Y %H:%M", False), ("%d.%m.%Y %H:%M:%S", False), ("%d.%m.%Y", True),
                  ("%Y-%m-%dT%H:%M", False), ("%Y-%m-%d %H:%M", False), ("%Y-%m-%d", True))
GERMAN_DATE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})\b")
EARLIEST = datetime(2000, 1, 1)


def _moment() -> tuple[datetime | None, dict[str, list[str]]]:
    """The moment asked for (Berlin time), or the problem with what was typed."""
    raw = (request.args.get("zeitpunkt") or "").strip()
    if not raw:
        return None, {}
    moment = None
    for pattern, whole_day in MOMENT_FORMATS:
        try:
            moment = datetime.strptime(raw, pattern)
        except ValueError:
            continue
        if whole_day:
            moment = moment.replace(hour=23, minute=59, second=59)
        break
    if moment is None:
        typed = GERMAN_DATE.match(raw)
        if typed and not _is_a_day(*map(int, typed.groups())):
            return None, {"zeitpunkt": [_("There is no %(date)s in the calendar.",
                                          date=typed.group(0))]}
        return None, {"zeitpunkt": [_("Please enter a date (DD.MM.YYYY), with a time if "
                                      "you like (DD.MM.YYYY HH:MM).")]}
    if moment < EARLIEST:
        return None, {"zeitpunkt": [_("The history begins in 2000 at the earliest.")]}
    now = current_application().clock().astimezone(BERLIN)
    moment = min(moment.replace(tzinfo=BERLIN), now) if moment.date() == now.date() \
        else moment.replace(tzinfo=BERLIN)  # today: as of now
    if moment > now:
        return None, {"zeitpunkt": [_("This moment is in the future: the history reaches "
                                      "until now.")]}
    return moment, {}


def _is_a_day(day: int, month: int, year: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


# -- case ---------------------------------------------------------------------------------------
def _case_rows(case_id: UUID) -> tuple[Any, list[HistoryRow]]:
    case = audited_case(case_id)
    return case, history_rows(current_application(), [case.id, *case.referral_ids])


@bp.get("/faelle/<uuid:case_id>")
@roles(Role.SUPERVISOR)
@records_read("case_history")
def case(case_id: UUID) -> Any:
    case, rows = _case_rows(case_id)
    moment, errors = _moment()
    snapshot = case_snapshot(current_application(), case.id, moment) if moment else None
    return render_template("audit/case.html", case=case, rows=rows, moment=moment,
                           names=organisation_names(), reads=_reads(case.id),
                           snapshot=snapshot, errors=errors,
                           raw_moment=request.args.get("zeitpunkt", ""),
                           printable=False), 422 if errors else 200


@bp.get("/faelle/<uuid:case_id>/druck")
@roles(Role.SUPERVISOR)
@records_read("case_print")
def case_print(case_id: UUID) -> Any:
    case, rows = _case_rows(case_id)
    return render_template("audit/case.html", case=case, rows=rows, moment=None,
                           snapshot=None, errors={}, raw_moment="",
                           printable=True, printed_at=current_application().clock())


@bp.get("/faelle/<uuid:case_id>/verlauf.csv")
@roles(Role.SUPERVISOR)
@records_read("case_csv")
def case_csv(case_id: UUID) -> Any:
    case, rows = _case_rows(case_id)
    return _csv(rows, f"verlauf-{case.reference}.csv", {case.id: case.reference})


def _reads(case_id: UUID) -> list[dict[str, Any]]:
    """Who read the case (this page's own read comes with the answer, so it is not yet
    among them), with the readers' names."""
    reads = reads_of_case(read_store(), str(case_id))
    directory = current_application().directory
    names = {}
    for reader in {r["reader"] for r in reads}:
        account = directory.user(reader)
        names[reader] = account.display_name if account else reader
    return [{**r, "name": names[r["reader"]]} for r in reads]


# -- referral ---------------------------------------------------------------------------------
def _referral_rows(referral_id: UUID) -> tuple[Any, Any, list[HistoryRow]]:
    referral, case = audited_referral(referral_id)
    rows = history_rows(current_application(), [referral.id])
    if not access.sees_referral_content(viewer(), referral, case, current_application().today()):
        rows = [without_details(row) for row in rows]
    return referral, case, rows


@bp.get("/vermittlungen/<uuid:referral_id>")
@roles(Role.SUPERVISOR)
@records_read("referral_history")
def referral(referral_id: UUID) -> Any:
    referral, case, rows = _referral_rows(referral_id)
    moment, errors = _moment()
    from web.audit.history import state_at

    past = state_at(current_application(), referral.id, moment) if moment else None
    return render_template("audit/referral.html", referral=referral, case=case, rows=rows,
                           shows_content=access.sees_referral_content(
                               viewer(), referral, case, current_application().today()),
                           names=organisation_names(),
                           trail=deadline_trail(current_application(), referral), moment=moment,
                           past=past, errors=errors,
                           raw_moment=request.args.get("zeitpunkt", ""), printable=False), \
        422 if errors else 200


@bp.get("/vermittlungen/<uuid:referral_id>/druck")
@roles(Role.SUPERVISOR)
@records_read("referral_print")
def referral_print(referral_id: UUID) -> Any:
    referral, case, rows = _referral_rows(referral_id)
    return render_template("audit/referral.html", referral=referral, case=case, rows=rows,
                           shows_content=False, names=organisation_names(),
                           trail=deadline_trail(current_application(), referral), moment=None,
                           past=None, errors={}, raw_moment="",
                           printable=True, printed_at=current_application().clock())


@bp.get("/vermittlungen/<uuid:referral_id>/verlauf.csv")
@roles(Role.SUPERVISOR)
@records_read("referral_csv")
def referral_csv(referral_id: UUID) -> Any:
    referral, case, rows = _referral_rows(referral_id)
    return _csv(rows, f"verlauf-{case.reference}-vermittlung.csv", {case.id: case.reference})


def _csv(rows: list[HistoryRow], filename: str, references: dict[UUID, str]) -> Response:
    """The same history as the page, in the same words: one line per event."""
    header = [_("Time (Berlin)"), _("Subject"), _("Version"), _("What"), _("Who"),
              _("State before"), _("State after"), _("Details"), _("Request")]

    def cells(row: HistoryRow) -> list[Any]:
        states = STATUS if row.subject == "referral" else CASE_STATUS
        subject = references.get(row.subject_id) or (
            _("referral") if row.subject == "referral" else _("case"))
        return [row.at.astimezone(BERLIN).strftime("%d.%m.%Y %H:%M:%S"), subject,
                row.version, label(EVENT, row.what), who(row),
                label(states, row.state_before), label(states, row.state_after),
                summary(row), row.correlation_id]
    return csv_response(header, (cells(row) for row in rows), filename)
