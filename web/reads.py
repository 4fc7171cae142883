"""What the web reads from the read side (readmodel/): the app's read store, the lists'
freshness, the background jobs' runs, the load per service and the directory's names."""

from __future__ import annotations

from uuid import UUID

from flask import current_app

from domain.routing import ServiceLoad
from readmodel import queries, runs
from readmodel.runs import Freshness, Run, freshness
from readmodel.store import ViewStore
from web.application import application


def organisation_names() -> dict[str, str]:
    """Organisation id (as text) → name, from the directory view."""
    return {row["organisation_id"]: row["name"] for row in queries.organisations(read_store())}


def read_store() -> ViewStore:
    """The read store of the app's system (tables made on first use)."""
    store = current_app.extensions["fallnetz.system"].read_store
    if not current_app.extensions.get("fallnetz.views_ready"):
        from readmodel.schema import create_tables

        create_tables(store)
        current_app.extensions["fallnetz.views_ready"] = True
    return store


def lists_freshness() -> Freshness:
    """How many events the views have still to take in, and since when they are stale when
    the background processing has stopped following the events."""
    settings = current_app.extensions["fallnetz.settings"]
    return freshness(read_store(), application().recorder.max_notification_id() or 0,
                     settings.catch_up_seconds)


def background_runs() -> list[tuple[str, Run, bool]]:
    """Each worker job's last success and failure, and whether it is overdue (three of its
    intervals without success), for the operators' pages."""
    intervals = runs.intervals(current_app.extensions["fallnetz.settings"])
    found = runs.last_runs(read_store())
    return [(job, found[job], runs.overdue(found[job], intervals[job])) for job in runs.JOBS]


def places_taken(organisation_id: UUID, service_id: str) -> int:
    """Places in use of a service, from the projected load (the engine asks this when a
    referral is accepted, so a full service is never overfilled silently)."""
    return queries.places_taken(read_store(), str(organisation_id), service_id)


def service_loads() -> dict[tuple[UUID, str], ServiceLoad]:
    """What weighs on each service now, from the projected load per service."""
    return {(UUID(r["organisation_id"]), r["service_id"]): ServiceLoad(
        taken=int(r["active_referrals"]), requested=int(r["requested_referrals"]),
        waiting=int(r["waiting_referrals"])) for r in queries.service_load(read_store())}
