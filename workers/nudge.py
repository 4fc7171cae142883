"""Nudges the workers after a command: a message with the last event's id, nothing else.
A nudge that cannot be delivered is dropped; the beat's periodic catch-up covers it."""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


def nudge_views(last_event: int) -> None:
    from workers.tasks import catch_up_views

    try:
        catch_up_views.apply_async(args=[last_event], retry=False)
    except Exception as error:  # the broker is down: the periodic catch-up will follow
        log.warning("nudge not delivered (%s); the next periodic catch-up follows",
                    type(error).__name__)
