"""Nudges Celery's workers after a command: a message naming the task, the network and the
last event's id, nothing else. A nudge that cannot be delivered is dropped; the beat's periodic catch-up
covers it. The task is named, not imported, so the web needs nothing of ``workers``.

One nudge waiting per network is enough: a catch-up applies every event committed before
it begins. So a nudge is published only while none is waiting, which a flag in Redis tells
(set by the publisher, cleared by the worker as its catch-up begins, see
:func:`nudge_taken`). Under load, when the workers are busy, a command then costs one
``SET`` instead of a Celery message (about a fifth of a form POST's CPU, see
bench/notes.py), and a stopped worker finds one message waiting, not one per command."""

from __future__ import annotations

import logging
import queue
import threading
from functools import lru_cache
from typing import Any

log = logging.getLogger(__name__)

CATCH_UP_TASK = "fallnetz.catch_up_views"
# A flag outlives a lost message (a worker killed with it, the broker restarted) by no more
# than this: the next command then publishes again.
WAITING_AT_MOST_SECONDS = 5


def _waiting_key(network: str) -> str:
    return f"fallnetz:nudge-waiting:{network}"


@lru_cache(maxsize=None)
def _flags(broker_url: str) -> Any:
    """A client of the broker's Redis (one per process and URL, thread-safe); None for a
    broker that is not Redis, whose nudges are then all published."""
    if not broker_url.startswith(("redis://", "rediss://", "unix://")):
        return None
    import redis

    return redis.Redis.from_url(broker_url, socket_timeout=3, socket_connect_timeout=3)


def nudge_taken(broker_url: str, network: str) -> None:
    """Called by a worker as its catch-up begins (before it reads the log): the next
    command's nudge is published again, so no event committed from now on waits for the
    beat."""
    flags = _flags(broker_url)
    if flags is None:
        return
    try:
        flags.delete(_waiting_key(network))
    except Exception as error:  # the flag expires by itself
        log.warning("nudge flag not cleared (%s)", type(error).__name__)


class Nudger:
    """Commands must not wait for the broker: nudges are handed to one background thread;
    when it is behind, newer nudges replace the queued ones (a catch-up covers every event
    anyway)."""

    def __init__(self, broker_url: str, network: str) -> None:
        self.broker_url = broker_url
        self.network = network  # its slug: workers serve every network of the installation
        self._pending: queue.Queue[int] = queue.Queue(maxsize=1)
        self._started = threading.Lock()
        self._thread: threading.Thread | None = None
        self._celery: Any = None
        self._idle = threading.Event()  # nothing waiting to be published
        self._idle.set()

    def __call__(self, last_event: int) -> None:
        with self._started:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._publish, name="nudge",
                                                daemon=True)
                self._thread.start()
        self._idle.clear()
        try:
            self._pending.put_nowait(last_event)
        except queue.Full:
            pass  # a nudge is already waiting; it will catch up this event too

    def flush(self, timeout: float = 10.0) -> bool:
        """Waits (at most ``timeout`` seconds) until the waiting nudge is published: a CLI
        command (load-demo, a scan) ends right after its last command, and a nudge still
        waiting then would be lost with the process (the workers would wait for the beat,
        or for ever without one)."""
        return self._idle.wait(timeout)

    def _publish(self) -> None:
        from celery import Celery

        self._celery = Celery("fallnetz-nudge", broker=self.broker_url, set_as_current=False)
        self._celery.conf.update(broker_connection_timeout=3, task_serializer="json")
        while True:
            last_event = self._pending.get()
            if self._none_waiting(last_event):
                try:
                    self._celery.send_task(CATCH_UP_TASK, args=[last_event],
                                           kwargs={"network": self.network}, retry=False)
                except Exception as error:  # the broker is down: the periodic catch-up
                    log.warning("nudge not delivered (%s); the next periodic catch-up "
                                "follows", type(error).__name__)
                    nudge_taken(self.broker_url, self.network)  # none is waiting after all
            if self._pending.empty():
                self._idle.set()

    def _none_waiting(self, last_event: int) -> bool:
        """Whether no nudge of this network waits for a worker; if so, this one is now
        marked as waiting. Without the flag (no Redis), every nudge goes out."""
        flags = _flags(self.broker_url)
        if flags is None:
            return True
        try:
            return bool(flags.set(_waiting_key(self.network), last_event, nx=True,
                                  ex=WAITING_AT_MOST_SECONDS))
        except Exception:  # publishing tells what is wrong with the broker
            return True
