"""Loading the objects a request names, checked per object against DESIGN §8
(:mod:`domain.access`). What the viewer may not see is answered 404, so its existence is not
revealed either."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from flask import abort, current_app

from domain import access
from domain.case import Case
from domain.organisation import Organisation
from domain.referral import Referral
from domain.routing import ServiceLoad
from web.auth import viewer
from web.engine import engine
from readmodel import queries
from readmodel import runs
from readmodel.runs import Freshness, Run, freshness
from readmodel.store import ViewStore


def _find(cls: type, object_id: UUID) -> Any:
    found = engine()._find(cls, object_id)
    if found is None:
        abort(404)
    return found


def visible_case(case_id: UUID) -> Case:
    case = _find(Case, case_id)
    if not access.sees_case(viewer(), case):
        abort(404)
    return case


def visible_referral(referral_id: UUID) -> tuple[Referral, Case]:
    referral = _find(Referral, referral_id)
    case = _find(Case, referral.case_id)
    if not access.sees_referral(viewer(), referral, case):
        abort(404)
    return referral, case


def audited_case(case_id: UUID) -> Case:
    case = _find(Case, case_id)
    if not access.audits_case(viewer(), case):
        abort(404)
    return case


def audited_referral(referral_id: UUID) -> tuple[Referral, Case]:
    referral = _find(Referral, referral_id)
    case = _find(Case, referral.case_id)
    if not access.audits_referral(viewer(), referral, case):
        abort(404)
    return referral, case


def organisation(organisation_id: UUID) -> Organisation:
    return _find(Organisation, organisation_id)


def organisation_names() -> dict[str, str]:
    """Organisation id (as text) → name, from the directory view."""
    return {row["organisation_id"]: row["name"] for row in queries.organisations(views())}


def views() -> ViewStore:
    """The projected views in the event store's database (tables made on first use)."""
    store = current_app.extensions.get("fallnetz.views")
    if store is None:
        from readmodel.schema import create_tables

        store = ViewStore(current_app.extensions["fallnetz.settings"])
        create_tables(store)
        current_app.extensions["fallnetz.views"] = store
    return store


def views_freshness() -> Freshness:
    """How many events the views have still to take in, and since when they are stale when
    the background processing has stopped following the events."""
    settings = current_app.extensions["fallnetz.settings"]
    return freshness(views(), engine().recorder.max_notification_id() or 0,
                     settings.catch_up_seconds)


def background_runs() -> list[tuple[str, Run, bool]]:
    """Each worker job's last success and failure, and whether it is overdue (three of its
    intervals without success), for the operators' pages."""
    intervals = runs.intervals(current_app.extensions["fallnetz.settings"])
    found = runs.last_runs(views())
    return [(job, found[job], runs.overdue(found[job], intervals[job])) for job in runs.JOBS]


def places_taken(organisation_id: UUID, service_id: str) -> int:
    """Places in use of a service, from the projected load (the engine asks this when a
    referral is accepted, so a full service is never overfilled silently)."""
    return queries.places_taken(views(), str(organisation_id), service_id)


def service_loads() -> dict[tuple[UUID, str], ServiceLoad]:
    """What weighs on each service now, from the projected load per service."""
    return {(UUID(r["organisation_id"]), r["service_id"]): ServiceLoad(
        taken=int(r["active_referrals"]), requested=int(r["requested_referrals"]),
        waiting=int(r["waiting_referrals"])) for r in queries.service_load(views())}
