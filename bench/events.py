"""Many events, fast: one unit of real traffic (a case, its consent and three referrals
through their states) is recorded through the application's commands once, then its stored
events are cloned under fresh aggregate ids and inserted in batches through the library's
recorder. Clones share the unit's texts; each is moved to a day of the two years before and
to one of the network's districts, so the reports count a history spread as a network's
is, not a single day."""

from __future__ import annotations

import itertools
import re
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import date, timedelta
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from domain.application import ReferralNetwork
from testbed.world import World

BATCH = 5_000
SPREAD_DAYS = 730
_DAY = re.compile(rb'("_type_":"datetime_iso","_data_":")(\d{4}-\d{2}-\d{2})T')
_DISTRICT = re.compile(rb'"district":"[^"]*"')


def record_unit(world: World) -> tuple[list[StoredEvent], set[UUID]]:
    """The stored events of one unit, and the ids of its aggregates."""
    application = world.application
    first = (application.recorder.max_notification_id() or 0) + 1
    case = world.open_case()
    world.consent(case)
    completed = world.send(case, urgency="routine")
    application.referrals.receive_referral(world.nadia, completed)
    application.referrals.accept_referral(world.nadia, completed)
    application.referrals.start_referral(world.nadia, completed)
    application.referrals.complete_referral(world.nadia, completed, "Beratung abgeschlossen.")
    rejected = world.send(case, urgency="urgent")
    application.referrals.reject_referral(world.nadia, rejected, "Keine Kapazität.")
    world.send(case, urgency="crisis", crisis_override_reason=None)
    unit = {case, completed, rejected, *application.repository.get(case).referral_ids}
    events = [n for n in application.notification_log.select(start=first, limit=1000)
              if n.originator_id in unit]  # the shared case-number sequence stays out
    stored = [StoredEvent(n.originator_id, n.originator_version, n.topic, n.state)
              for n in events]
    return stored, unit


def clones(unit_events: list[StoredEvent], unit_ids: set[UUID],
           districts: Sequence[str]) -> Iterator[StoredEvent]:
    """The unit's events again and again, each time under fresh aggregate ids, some days
    earlier and in another district."""
    for copy in itertools.count(1):
        renamed = {old: uuid.uuid4() for old in unit_ids}
        swaps = [(old.hex.encode(), new.hex.encode()) for old, new in renamed.items()]
        swaps += [(str(old).encode(), str(new).encode()) for old, new in renamed.items()]
        earlier = timedelta(days=copy % SPREAD_DAYS)
        district = b'"district":"%s"' % districts[copy % len(districts)].encode()

        def moved(found: re.Match[bytes], earlier: timedelta = earlier) -> bytes:
            day = date.fromisoformat(found.group(2).decode()) - earlier
            return found.group(1) + day.isoformat().encode() + b"T"
        for e in unit_events:
            state = e.state
            for old, new in swaps:
                state = state.replace(old, new)
            state = _DISTRICT.sub(district, _DAY.sub(moved, state))
            yield StoredEvent(renamed[e.originator_id], e.originator_version, e.topic, state)


def fill(application: ReferralNetwork, world: World, count: int,
         progress: Callable[[int], None] | None = None) -> int:
    """Records about ``count`` events (whole units); returns the last notification id."""
    unit_events, unit_ids = record_unit(world)
    produced = application.recorder.max_notification_id() or 0
    source = clones(unit_events, unit_ids, list(application.network.districts))
    while produced < count:
        batch = [next(source) for _ in range(min(BATCH, count - produced))]
        # A batch may end in the middle of a unit: the projection handles a case whose
        # referrals follow only in the next batch, as after any crash.
        application.recorder.insert_events(batch)
        produced += len(batch)
        if progress is not None:
            progress(produced)
    return application.recorder.max_notification_id() or 0
