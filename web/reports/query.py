"""The reports' filter, from the page's query string: period (whole months), district and
need. A bad value names its field and the page shows the default period instead."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import g, request
from flask_babel import lazy_gettext as _l
from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from domain.stamp import Role
from readmodel.reports import Period, ReportFilter
from web.application import current_application
from web.forms import field_messages

MONTH = validate.Regexp(r"^(20[0-9]{2}|2100)-(0[1-9]|1[0-2])$",
                        error=_l("Please enter a month from 2000 to 2100 as YYYY-MM, "
                                 "e.g. 2026-03."))
MOST_MONTHS = 36
PARAMETERS = ("von", "bis", "stadtteil", "bedarf")


class ReportQuery(Schema):
    class Meta:
        unknown = RAISE

    error_messages = {"unknown": _l("This field is not part of the form.")}
    von = fields.String(load_default=None, validate=MONTH)
    bis = fields.String(load_default=None, validate=MONTH)
    stadtteil = fields.String(load_default=None)
    bedarf = fields.String(load_default=None)

    @validates_schema
    def _known(self, data: dict[str, Any], **_: Any) -> None:
        for problem in filter_problems(data.get("stadtteil"), data.get("bedarf"),
                                       data.get("von"), data.get("bis")):
            field = {"district": "stadtteil", "need": "bedarf"}.get(problem, "bis")
            raise ValidationError(FILTER_MESSAGES[problem], field)


FILTER_MESSAGES = {"district": _l("Please choose one of the districts."),
            "need": _l("Please choose one of the needs."),
            "last": _l("The first month comes after the last."),
            "too_long": _l("Please choose at most 36 months.")}


def filter_problems(district: str | None, need: str | None, first: str | None,
                    last: str | None) -> list[str]:
    """What is wrong with a filter (months as valid "YYYY-MM" or None), for the page's and
    the API's messages: "district", "need", "last" (before the first) or "too_long" (more
    than 36 months)."""
    network = current_application().network
    found = []
    if district and district not in network.districts:
        found.append("district")
    if need and need not in needs_and_groups():
        found.append("need")
    if first or last:  # a missing end is the default period's
        period = default_period(current_application().today())
        start = date.fromisoformat(f"{first}-01") if first else period.start
        end = date.fromisoformat(f"{last}-01") if last else period.last_month
        if start > end:
            found.append("last")
        elif (end.year - start.year) * 12 + end.month - start.month >= MOST_MONTHS:
            found.append("too_long")
    return found


def needs_and_groups() -> list[str]:
    """What a report or the directory can be narrowed to: each need group ("health"),
    then each need."""
    network = current_application().network
    groups = sorted({n.group for n in network.needs.values() if "." in n.code})
    return [*groups, *network.needs]


def default_period(today: date) -> Period:
    """The last twelve months, this one included."""
    months = today.year * 12 + today.month - 1 - 11
    return Period(date(months // 12, months % 12 + 1, 1),
                  Period.months(today.strftime("%Y-%m"), today.strftime("%Y-%m")).end)


def report_filter() -> tuple[ReportFilter, dict[str, str], dict[str, list[str]]]:
    """The filter, the values as given (for the form) and the errors per field."""
    given = {k: v.strip() for k, v in request.args.items() if k in PARAMETERS and v.strip()}
    errors: dict[str, list[str]] = {}
    try:
        data = ReportQuery().load(given)
    except ValidationError as e:
        errors = field_messages(e)
        data = {}
    return (built_filter(data.get("von"), data.get("bis"), data.get("stadtteil"),
                         data.get("bedarf")), given, errors)


def built_filter(first: str | None, last: str | None, district: str | None,
                 need: str | None) -> ReportFilter:
    """The filter of valid values; a missing end of the period from the default (the last
    twelve months); supervisors count their own organisation's referrals, sent and
    received."""
    period = default_period(current_application().today())
    if first or last:
        chosen = Period.months(first or period.start.strftime("%Y-%m"),
                               last or period.last_month.strftime("%Y-%m"))
        period = chosen if chosen.start < chosen.end else period
    own = str(g.viewer.organisation_id) if g.viewer.role == Role.SUPERVISOR else None
    return ReportFilter(period, district, need, own)
