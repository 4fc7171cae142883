"""Nudges the workers after a command: a message with the last event's id, nothing else.
A nudge that cannot be delivered is dropped; the beat's periodic catch-up covers it."""

from __future__ import annotations

import logging
import queue
import threading

log = logging.getLogger(__name__)

# Commands must not wait for the broker: nudges are handed to one background thread; when
# it is behind, newer nudges replace the queued ones (a catch-up covers every event anyway).
_pending: queue.Queue[int] = queue.Queue(maxsize=1)
_started = threading.Lock()
_thread: threading.Thread | None = None


def nudge_views(last_event: int) -> None:
    global _thread
    with _started:
        if _thread is None or not _thread.is_alive():
            _thread = threading.Thread(target=_publish, name="nudge", daemon=True)
            _thread.start()
    try:
        _pending.put_nowait(last_event)
    except queue.Full:
        pass  # a nudge is already waiting; it will catch up this event too


def _publish() -> None:
    from workers.tasks import catch_up_views

    while True:
        last_event = _pending.get()
        try:
            catch_up_views.apply_async(args=[last_event], retry=False)
        except Exception as error:  # the broker is down: the periodic catch-up will follow
            log.warning("nudge not delivered (%s); the next periodic catch-up follows",
                        type(error).__name__)
