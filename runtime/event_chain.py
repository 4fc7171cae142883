"""Tamper evidence: a hash chain over the stored events in the order of the notification
log. Each link is an HMAC (key derived from the master key) of the link before it and of the
event exactly as stored (position, subject, version, type, encrypted state), so whoever
alters, removes or reorders a stored event without the master key breaks the chain there;
``flask --app web verify-store`` names the first event where it breaks.

The workers extend the chain after each catch-up of the views (a few seconds behind the
commands); the chain lives in its own table beside the events and is kept when the views are
rebuilt."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from domain.application import ReferralNetwork
from domain.settings import Settings
from readmodel.store import ViewStore

TABLE = "event_chain (position BIGINT PRIMARY KEY, link TEXT NOT NULL)"
START = "0" * 64
BATCH = 1000


@dataclass(frozen=True)
class Break:
    position: int
    what: str  # "altered", "missing", "added"
    event: str  # the event as the store has it now (type, subject, version), or ""

    def __str__(self) -> str:
        if self.what == "missing":
            return f"event {self.position} is missing (it was removed after it was chained)"
        if self.what == "added":
            return (f"event {self.position} ({self.event}) has no link although later events "
                    "have one: it was put in afterwards")
        return f"event {self.position} ({self.event}) was altered after it was stored"


@dataclass(frozen=True)
class Verdict:
    checked: int  # events whose link was checked
    unchained: int  # events newer than the chain (the workers link them shortly)
    first_break: Break | None


class EventChain:
    def __init__(self, application: ReferralNetwork, settings: Settings) -> None:
        self.application = application
        self.store = ViewStore(settings, prefix="")
        self._key = settings.derived_key("event chain")
        with self.store.transaction() as cur:
            if self.store.dialect == "postgres":
                cur.execute("SELECT pg_advisory_xact_lock(4242003)")
            cur.execute(f"CREATE TABLE IF NOT EXISTS {TABLE}")

    def link(self, previous: str, event: Any) -> str:
        message = b"|".join((previous.encode(), str(event.id).encode(),
                             str(event.originator_id).encode(),
                             str(event.originator_version).encode(), event.topic.encode(),
                             hashlib.sha256(bytes(event.state)).digest()))
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def extend(self) -> int:
        """Links the events stored since the last link; returns how many. One process at a
        time (the transaction's lock), so two workers never link the same event twice."""
        linked = 0
        while True:
            with self.store.transaction() as cur:
                if self.store.dialect == "postgres":
                    cur.execute("SELECT pg_advisory_xact_lock(4242004)")
                last = cur.one("SELECT position, link FROM event_chain "
                               "ORDER BY position DESC LIMIT 1")
                position, previous = (int(last["position"]), last["link"]) if last \
                    else (0, START)
                events = self.application.recorder.select_notifications(
                    start=position + 1, limit=BATCH)
                for event in events:
                    previous = self.link(previous, event)
                    cur.execute("INSERT INTO event_chain VALUES (?, ?)", (event.id, previous))
            linked += len(events)
            if len(events) < BATCH:
                return linked

    def restart(self) -> int:
        """After the operator rewrote the events on purpose (``store encrypt``): the chain
        is linked anew over the events as they are now."""
        with self.store.transaction() as cur:
            cur.execute("DELETE FROM event_chain")
        return self.extend()

    def verify(self, progress: Callable[[int], None] = lambda done: None) -> Verdict:
        previous, checked, position = START, 0, 0
        while True:
            events = self.application.recorder.select_notifications(start=position + 1,
                                                                     limit=BATCH)
            with self.store.reading() as cur:
                links = {int(r["position"]): r["link"] for r in cur.all(
                    "SELECT position, link FROM event_chain WHERE position > ? "
                    "ORDER BY position LIMIT ?", (position, BATCH))}
            if not events:
                missing = min(links) if links else None
                return Verdict(checked, 0, Break(missing, "missing", "") if missing else None)
            for event in events:
                described = f"{event.topic.partition(':')[2]} of {event.originator_id}, " \
                            f"version {event.originator_version}"
                gap = [p for p in links if position < p < event.id]
                if gap:
                    return Verdict(checked, 0, Break(min(gap), "missing", ""))
                stored = links.get(event.id)
                if stored is None:
                    later = self._linked_after(event.id)
                    if later:
                        return Verdict(checked, 0, Break(event.id, "added", described))
                    return Verdict(checked, self._count_from(event.id), None)
                previous = self.link(previous, event)
                if not hmac.compare_digest(previous, stored):
                    return Verdict(checked, 0, Break(event.id, "altered", described))
                checked += 1
                position = event.id
            progress(checked)

    def _linked_after(self, position: int) -> bool:
        with self.store.reading() as cur:
            return cur.one("SELECT 1 AS found FROM event_chain WHERE position > ? LIMIT 1",
                           (position,)) is not None

    def _count_from(self, position: int) -> int:
        last = self.application.recorder.max_notification_id() or 0
        return max(0, last - position + 1)

    def close(self) -> None:
        self.store.close()
