"""Routes of the audit."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from flask import Response, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError, fields, validate

from domain import access
from domain.stamp import Role
from readmodel.read_audit import reads_of_case
from web.audit import bp
from web.audit.history import HistoryRow, case_snapshot, deadline_trail, detail_text, \
    history_rows, without_details
from web.auth import roles, viewer
from web.application import current_application
from web.forms import FormSchema, field_messages
from web.labels import EVENT, ROLE, STATUS, CASE_STATUS, label
from web.reads import organisation_names, read_store
from web.spreadsheet import csv_response
from web.visible import audited_case, audited_referral
from web.read_audit import records_read

BERLIN = ZoneInfo("Europe/Berlin")


class MomentQuery(FormSchema):
    # A moment the network's history can have (an absurd year would overflow the time
    # zone arithmetic of the page).
    zeitpunkt = fields.NaiveDateTime(
        load_default=None,
        validate=validate.Range(min=datetime(2000, 1, 1), max=datetime(2100, 1, 1),
                                error=_l("Please enter a date and time (DD.MM.YYYY HH:MM).")),
        error_messages={"invalid": _l("Please enter a date and time (DD.MM.YYYY HH:MM).")})


def _moment() -> tuple[datetime | None, dict[str, list[str]]]:
    raw = {k: v for k, v in request.args.items() if k == "zeitpunkt" and v.strip()}
    if "zeitpunkt" in raw and "." in raw["zeitpunkt"]:
        try:  # as typed in German offices: 01.11.2026 14:30
            raw["zeitpunkt"] = datetime.strptime(raw["zeitpunkt"].strip(),
                                                 "%d.%m.%Y %H:%M").isoformat()
        except ValueError:
            pass
    try:
        moment = MomentQuery().load(raw)["zeitpunkt"]
    except ValidationError as e:
        return None, field_messages(e)
    return (moment.replace(tzinfo=BERLIN) if moment else None), {}


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
                           detail_text=detail_text, printable=False), 422 if errors else 200


@bp.get("/faelle/<uuid:case_id>/druck")
@roles(Role.SUPERVISOR)
@records_read("case_print")
def case_print(case_id: UUID) -> Any:
    case, rows = _case_rows(case_id)
    return render_template("audit/case.html", case=case, rows=rows, moment=None,
                           snapshot=None, errors={}, raw_moment="", detail_text=detail_text,
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
                           raw_moment=request.args.get("zeitpunkt", ""),
                           detail_text=detail_text, printable=False), \
        422 if errors else 200


@bp.get("/vermittlungen/<uuid:referral_id>/druck")
@roles(Role.SUPERVISOR)
@records_read("referral_print")
def referral_print(referral_id: UUID) -> Any:
    referral, case, rows = _referral_rows(referral_id)
    return render_template("audit/referral.html", referral=referral, case=case, rows=rows,
                           shows_content=False, names=organisation_names(),
                           trail=deadline_trail(current_application(), referral), moment=None,
                           past=None, errors={}, raw_moment="", detail_text=detail_text,
                           printable=True, printed_at=current_application().clock())


@bp.get("/vermittlungen/<uuid:referral_id>/verlauf.csv")
@roles(Role.SUPERVISOR)
@records_read("referral_csv")
def referral_csv(referral_id: UUID) -> Any:
    referral, case, rows = _referral_rows(referral_id)
    return _csv(rows, f"verlauf-{case.reference}-vermittlung.csv", {case.id: case.reference})


def _csv(rows: list[HistoryRow], filename: str, references: dict[UUID, str]) -> Response:
    header = [_("Time (Berlin)"), _("Subject"), _("Subject id"), _("Version"), _("Event"),
              _("User"), _("Name"), _("Organisation"), _("Role"), _("State before"),
              _("State after"), _("Details"), _("Request")]

    def cells(row: HistoryRow) -> list[Any]:
        states = STATUS if row.subject == "referral" else CASE_STATUS
        return [row.at.astimezone(BERLIN).isoformat(timespec="seconds"),
                references.get(row.subject_id, row.subject), row.subject_id, row.version,
                label(EVENT, row.what), row.user, row.user_name, row.organisation,
                label(ROLE, row.role), label(states, row.state_before),
                label(states, row.state_after),
                "; ".join(f"{k}: {detail_text(v)}" for k, v in row.details.items()),
                row.correlation_id]
    return csv_response(header, (cells(row) for row in rows), filename)
