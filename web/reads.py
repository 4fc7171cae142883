"""What the web reads from the read side (readmodel/): the app's read store, the lists'
freshness, the background jobs' runs, the load per service and the directory's names."""

from __future__ import annotations

from uuid import UUID

from eventsourcing.utils import get_topic

from domain.referral import COMMANDS, Referral
from domain.routing import TAKEN, ServiceLoad, counted_service, load_kind
from readmodel import queries, runs
from readmodel.rebuild import Progress, last_progress
from readmodel.runs import Freshness, Run, freshness
from readmodel.schema import PROJECTIONS
from readmodel.store import ViewStore
from runtime.bootstrap import System
from web.application import current_application, current_settings, current_system

# The events that can change how many places a referral takes (its creation, and each
# command's event), as the notification log names their topics.
REFERRAL_TOPICS = [get_topic(Referral.Created), *(get_topic(getattr(Referral, c.event))
                                                  for c in COMMANDS.values())]


def organisation_names() -> dict[str, str]:
    """Organisation id (as text) → name, from the directory view."""
    return {row["organisation_id"]: row["name"] for row in queries.organisations(read_store())}


def read_store(system: System | None = None) -> ViewStore:
    """The read store of the request's network (tables made on first use)."""
    system = system or current_system()
    store = system.read_store
    if not system.views_ready:
        from readmodel.schema import create_tables

        create_tables(store)
        system.views_ready = True
    return store


def lists_freshness() -> Freshness:
    """How many events the views have still to take in, and since when they are stale when
    the background processing has stopped following the events."""
    settings = current_settings()
    return freshness(read_store(), current_application().log_end(),
                     settings.catch_up_seconds)


def background_runs() -> list[tuple[str, Run, bool]]:
    """Each worker job's last success and failure, and whether it is overdue (three of its
    intervals without success), for the operators' pages."""
    intervals = runs.intervals(current_settings())
    found = runs.last_runs(read_store())
    return [(job, found[job], runs.overdue(found[job], intervals[job])) for job in runs.JOBS]


def rebuild_progress() -> Progress | None:
    """The last rebuild of the views (``views rebuild``): running, interrupted or done."""
    return last_progress(read_store())


def places_taken(organisation_id: UUID, service_id: str, system: System | None = None) -> int:
    """Places in use of a service now (the application asks this when a referral is accepted,
    so a full service is never overfilled silently): the projected load, brought up to date
    with the referral events the views have not taken in yet. Those are few while the
    workers run, and read by topic from the log after the views' position when they lag or
    have stopped."""
    system = system or current_system()
    store = read_store(system)
    with store.reading() as cur:
        taken = cur.one("SELECT active_referrals FROM {p}service_load "
                        "WHERE organisation_id = ? AND service_id = ?",
                        (str(organisation_id), service_id))
        position = cur.one("SELECT position FROM {p}positions WHERE projection = ?",
                           (PROJECTIONS[0],))
    count = int(taken["active_referrals"]) if taken else 0
    application = system.application
    start = (int(position["position"]) if position else 0) + 1
    changed: set[UUID] = set()
    while True:
        section = application.notification_log.select(start=start,
                                                      limit=application.log_section_size,
                                                      topics=REFERRAL_TOPICS)
        if not section:
            break
        changed.update(n.originator_id for n in section)
        start = section[-1].id + 1
    if not changed:
        return count
    receiver = application.repository.get(organisation_id)
    for referral_id in changed:
        referral = application.repository.get(referral_id)
        if referral.to_organisation_id != organisation_id or \
                counted_service(receiver, referral) != service_id:
            continue
        with store.reading() as cur:
            seen = cur.one("SELECT status, waitlisted_at FROM {p}referrals "
                           "WHERE referral_id = ?", (str(referral_id),))
        was = load_kind(seen["status"], seen["waitlisted_at"] is not None) if seen else None
        now = load_kind(referral.status, referral.waitlisted)
        count += (now == TAKEN) - (was == TAKEN)
    return count


def service_loads() -> dict[tuple[UUID, str], ServiceLoad]:
    """What weighs on each service now, from the projected load per service."""
    return {(UUID(r["organisation_id"]), r["service_id"]): ServiceLoad(
        taken=int(r["active_referrals"]), requested=int(r["requested_referrals"]),
        waiting=int(r["waiting_referrals"])) for r in queries.service_load(read_store())}
