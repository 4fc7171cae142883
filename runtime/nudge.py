"""Nudges Celery's workers after a command: a message naming the task, the network and the
last event's id, nothing else. A nudge that cannot be delivered is dropped; the beat's periodic catch-up
covers it. The task is named, not imported, so the web needs nothing of ``workers``."""

from __future__ import annotations

import logging
import queue
import threading
from typing import Any

log = logging.getLogger(__name__)

CATCH_UP_TASK = "fallnetz.catch_up_views"


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
            try:
                self._celery.send_task(CATCH_UP_TASK, args=[last_event],
                                         kwargs={"network": self.network}, retry=False)
            except Exception as error:  # the broker is down: the periodic catch-up follows
                log.warning("nudge not delivered (%s); the next periodic catch-up follows",
                            type(error).__name__)
            if self._pending.empty():
                self._idle.set()
