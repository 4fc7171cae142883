"""The network's reports (DESIGN §11) as JSON: the network map, the care-gap report and the
network's health, for the coordination office (the whole network) and supervisors (their
own organisation's referrals). What leaves through the API is meant to leave the office:
counts from 1 to 4 come as the string "< 5", and so do shares over fewer than five."""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields, validate, validates_schema

from domain.stamp import Role
from readmodel.reports import (
    ReportFilter, capacity_against_demand, care_gaps, median_for_export, network_health,
    network_map, rate_for_export, suppressed)
from web.api.common import ApiSchema, api_blueprint, requires
from web.api.problems import ProblemSchema
from web.application import current_application
from web.reads import read_store
from web.reports.query import built_filter, filter_problems

bp = api_blueprint("reports", "The network's reports: aggregates only, small counts "
                              "suppressed.")
READERS = (Role.COORDINATOR, Role.SUPERVISOR)
MONTH = validate.Regexp(r"^(20[0-9]{2}|2100)-(0[1-9]|1[0-2])$",
                        error="A month as YYYY-MM, e.g. 2026-03.")
COUNT = {"oneOf": [{"type": "integer"}, {"type": "string", "enum": ["< 5"]}],
         "description": "A count; 1 to 4 as \"< 5\", larger ones rounded to a multiple "
                        "of five"}
SHARE = {"oneOf": [{"type": "number"}, {"type": "string", "enum": ["< 5"]}],
         "nullable": True, "description": "A share from 0 to 1; \"< 5\" when fewer than "
                                         "five referrals make it, or it would give a count "
                                         "from 1 to 4 away; null when none"}
MEDIAN = {"description": "Median days; null when no referral or fewer than five took the "
                         "step"}


class ReportQuery(ApiSchema):
    first_month = fields.String(validate=MONTH, metadata={
        "description": "The first month counted (default: eleven months before this one)"})
    last_month = fields.String(validate=MONTH, metadata={
        "description": "The last month counted (default: this one)"})
    district = fields.String(metadata={"description": "One district of the network"})
    need = fields.String(metadata={"description": "A need or a need group"})

    @validates_schema
    def _known(self, data: dict[str, Any], **_: Any) -> None:
        for problem in filter_problems(data.get("district"), data.get("need"),
                                       data.get("first_month"), data.get("last_month")):
            raise ValidationError(*PROBLEMS[problem])


PROBLEMS = {"district": ("Not a district of the network.", "district"),
            "need": ("Not a need of the network.", "need"),
            "last": ("The first month comes after the last.", "last_month"),
            "too_long": ("At most 36 months.", "last_month")}


def _filter(query: dict[str, Any]) -> ReportFilter:
    return built_filter(query.get("first_month"), query.get("last_month"),
                        query.get("district"), query.get("need"))


def _scope(f: ReportFilter) -> dict[str, Any]:
    return {"first_month": f.period.start.strftime("%Y-%m"),
            "last_month": f.period.last_month.strftime("%Y-%m"), "district": f.district,
            "need": f.need, "organisation_id": f.organisation_id}


class ScopeSchema(ApiSchema):
    first_month = fields.String()
    last_month = fields.String()
    district = fields.String(allow_none=True)
    need = fields.String(allow_none=True)
    organisation_id = fields.String(allow_none=True, metadata={
        "description": "A supervisor's own organisation: only its referrals are counted"})


class FlowSchema(ApiSchema):
    from_organisation_id = fields.String()
    to_organisation_id = fields.String()
    sent = fields.Raw(metadata=COUNT)
    accepted = fields.Raw(metadata=COUNT)
    rejected = fields.Raw(metadata=COUNT)
    acceptance_rate = fields.Raw(allow_none=True, metadata=SHARE)
    median_days_to_receive = fields.Float(allow_none=True, metadata=MEDIAN)
    median_days_to_accept = fields.Float(allow_none=True, metadata=MEDIAN)
    overdue_share = fields.Raw(allow_none=True, metadata=SHARE)


class NodeSchema(ApiSchema):
    organisation_id = fields.String()
    name = fields.String()
    sector = fields.String()
    sent = fields.Raw(metadata=COUNT)
    received = fields.Raw(metadata=COUNT)


class NetworkMapSchema(ApiSchema):
    scope = fields.Nested(ScopeSchema)
    organisations = fields.List(fields.Nested(NodeSchema))
    flows = fields.List(fields.Nested(FlowSchema))


class GapSchema(ApiSchema):
    district = fields.String()
    need = fields.String()
    needs_recorded = fields.Raw(metadata=COUNT)
    sent = fields.Raw(metadata=COUNT)
    accepted = fields.Raw(metadata=COUNT)
    rejected_no_capacity = fields.Raw(metadata=COUNT)
    rejected_not_responsible = fields.Raw(metadata=COUNT)
    rejected_other = fields.Raw(metadata=COUNT)
    overdue = fields.Raw(metadata=COUNT)
    median_days_to_first_contact = fields.Float(allow_none=True, metadata=MEDIAN)
    providers = fields.Integer(metadata={"description": "Active services offering the need "
                                                        "in the district"})
    load = fields.Float(allow_none=True)
    gaps = fields.List(fields.String(), metadata={
        "description": "no_provider, no_acceptance, rejected_for_capacity, high_load"})
    trend = fields.List(fields.Raw(metadata=COUNT), metadata={
        "description": "Referrals sent per month over twelve months up to the last, oldest "
                       "first"})


class CareGapsSchema(ApiSchema):
    scope = fields.Nested(ScopeSchema)
    rows = fields.List(fields.Nested(GapSchema))


class OverdueSchema(ApiSchema):
    organisation_id = fields.String()
    name = fields.String()
    referrals = fields.Raw(metadata=COUNT)
    median_days_overdue = fields.Float(allow_none=True)
    most_days_overdue = fields.Float(allow_none=True)


class HealthSchema(ApiSchema):
    scope = fields.Nested(ScopeSchema)
    sent = fields.Raw(metadata=COUNT)
    with_outcome = fields.Raw(metadata=COUNT)
    outcome_share = fields.Raw(allow_none=True, metadata=SHARE)
    median_days_to_receive = fields.Float(allow_none=True, metadata=MEDIAN)
    median_days_to_decide = fields.Float(allow_none=True, metadata=MEDIAN)
    median_days_to_first_contact = fields.Float(allow_none=True, metadata=MEDIAN)
    overdue_by_receiver = fields.List(fields.Nested(OverdueSchema))


def _documented(view: Any) -> Any:
    view = bp.alt_response(401, schema=ProblemSchema,
                           description="No or an invalid token")(view)
    return bp.alt_response(403, schema=ProblemSchema,
                           description="Only coordinators and supervisors")(view)


@bp.get("/reports/network-map")
@bp.arguments(ReportQuery, location="query")
@bp.response(200, NetworkMapSchema)
@_documented
@requires("reports:read", READERS)
def network_map_report(query: dict[str, Any]) -> Any:
    """Referral flows between organisations: counts, acceptance rate, median days to
    receipt and to acceptance, the share overdue."""
    f = _filter(query)
    found = network_map(read_store(), f)
    return {"scope": _scope(f),
            "organisations": [{"organisation_id": n.organisation_id, "name": n.name,
                               "sector": n.sector, "sent": suppressed(n.sent),
                               "received": suppressed(n.received)} for n in found.nodes],
            "flows": [{"from_organisation_id": fl.from_organisation_id,
                       "to_organisation_id": fl.to_organisation_id,
                       "sent": suppressed(fl.sent), "accepted": suppressed(fl.accepted),
                       "rejected": suppressed(fl.rejected),
                       "acceptance_rate": rate_for_export(
                           fl.acceptance_rate, fl.accepted, fl.accepted + fl.rejected),
                       "median_days_to_receive": median_for_export(
                           fl.median_days_to_receive, fl.times.referrals.get("receipt", 0)),
                       "median_days_to_accept": median_for_export(
                           fl.median_days_to_accept, fl.times.referrals.get("acceptance", 0)),
                       "overdue_share": rate_for_export(fl.overdue_share, fl.escalated,
                                                        fl.sent)}
                      for fl in found.flows]}


@bp.get("/reports/care-gaps")
@bp.arguments(ReportQuery, location="query")
@bp.response(200, CareGapsSchema)
@_documented
@requires("reports:read", READERS)
def care_gaps_report(query: dict[str, Any]) -> Any:
    """Per district and need: demand, answers by grounds, waits, overdue, services and
    their load, and why the row is a care gap."""
    f = _filter(query)
    rows = care_gaps(read_store(), current_application().network, f)
    counted = ("needs_recorded", "sent", "accepted", "rejected_no_capacity",
               "rejected_not_responsible", "rejected_other", "overdue")
    return {"scope": _scope(f), "rows": [{
        "district": r.district, "need": r.need,
        **{name: suppressed(getattr(r, name)) for name in counted},
        "median_days_to_first_contact": median_for_export(
            r.median_days_to_first_contact, r.times.referrals.get("first_contact", 0)),
        "providers": r.providers, "load": r.load, "gaps": r.gaps,
        "trend": [suppressed(n) for n in r.trend]} for r in rows]}


@bp.get("/reports/network-health")
@bp.arguments(ReportQuery, location="query")
@bp.response(200, HealthSchema)
@_documented
@requires("reports:read", READERS)
def network_health_report(query: dict[str, Any]) -> Any:
    """The share of referrals with an outcome, median days per stage, and the referrals
    overdue now by receiver."""
    f = _filter(query)
    health = network_health(read_store(), f, current_application().clock())
    return {"scope": _scope(f), "sent": suppressed(health.sent),
            "with_outcome": suppressed(health.with_outcome),
            "outcome_share": rate_for_export(health.outcome_share, health.with_outcome,
                                             health.sent),
            **{name: median_for_export(getattr(health, name), health.times.referrals.get(
                step, 0)) for name, step in (("median_days_to_receive", "receipt"),
                                             ("median_days_to_decide", "decision"),
                                             ("median_days_to_first_contact",
                                              "contact_after_acceptance"))},
            "overdue_by_receiver": [{
                "organisation_id": o.organisation_id, "name": o.name,
                "referrals": suppressed(o.referrals),
                "median_days_overdue": o.median_days_overdue,
                "most_days_overdue": o.most_days_overdue}
                for o in health.overdue_by_receiver]}


class DemandSchema(ApiSchema):
    estimate_id = fields.String()
    need = fields.String(metadata={"description": "A need or a need group"})
    district = fields.String(allow_none=True, metadata={"description": "null: the whole "
                                                                        "network"})
    first_month = fields.String()
    last_month = fields.String()
    people = fields.Integer(metadata={"description": "The demand the coordination office "
                                                     "expects"})
    places = fields.Integer(metadata={"description": "Places of the active services offering "
                                                     "the need in the district"})
    taken = fields.Raw(metadata=COUNT)
    free = fields.Raw(metadata=COUNT)
    missing = fields.Raw(metadata={**COUNT, "description": "Expected demand beyond the free "
                                                          "places; as a count"})


class CapacityAgainstDemandSchema(ApiSchema):
    scope = fields.Nested(ScopeSchema)
    rows = fields.List(fields.Nested(DemandSchema))


@bp.get("/reports/capacity")
@bp.arguments(ReportQuery, location="query")
@bp.response(200, CapacityAgainstDemandSchema)
@_documented
@requires("reports:read", READERS)
def capacity_report(query: dict[str, Any]) -> Any:
    """The demand the coordination office expects in the period, against the places of
    the services and their current load: what is missing."""
    f = _filter(query)
    return {"scope": _scope(f), "rows": [{
        "estimate_id": r.estimate_id, "need": r.need, "district": r.district,
        "first_month": r.first_month, "last_month": r.last_month, "people": r.people,
        "places": r.places, "taken": suppressed(r.taken), "free": suppressed(r.free),
        "missing": suppressed(r.missing)} for r in capacity_against_demand(read_store(), f)]}
