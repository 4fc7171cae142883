"""The tasks. Each carries no data but a nudge and the network's slug: it reads what to do
from that network's event store and views, so a lost or repeated message only delays or
repeats idempotent work. The beat sends each task without a network once per interval for
the installation; that message fans out into one task per network, so a slow or broken
network holds up none of the others (each runs, fails and is retried on its own)."""

from __future__ import annotations

import logging
from typing import Any

from runtime.nudge import CATCH_UP_TASK, nudge_taken
from workers import context
from workers.jobs import Jobs
from workers.celery_app import create_celery

log = logging.getLogger(__name__)
app = create_celery(context.settings())


def _fan_out(task: Any) -> int:
    for slug in context.networks():
        task.delay(network=slug)
    return 0


def _jobs(network: str) -> Jobs | None:
    found = context.jobs(network)
    if found is None:
        log.info("network %s is not served (not registered or disabled)", network)
    return found


@app.task(name=CATCH_UP_TASK)
def catch_up_views(last_event: int | None = None, network: str | None = None) -> int:
    if network is None:
        return _fan_out(catch_up_views)
    # Before the log is read: a command committed from now on nudges again.
    nudge_taken(app.conf.broker_url or "", network)
    jobs = _jobs(network)
    applied = jobs.catch_up_views() if jobs else 0
    if applied:
        deliver_webhooks.delay(network=network)  # new status changes may wait
    return applied


@app.task(name="fallnetz.scan_escalations")
def scan_escalations(network: str | None = None) -> int:
    if network is None:
        return _fan_out(scan_escalations)
    jobs = _jobs(network)
    recorded = jobs.scan_escalations() if jobs else 0
    if recorded:
        send_notifications.delay(network=network)
    return recorded


@app.task(name="fallnetz.send_notifications")
def send_notifications(network: str | None = None) -> dict[str, int]:
    if network is None:
        _fan_out(send_notifications)
        return {}
    jobs = _jobs(network)
    return jobs.send_notifications() if jobs else {}


@app.task(name="fallnetz.deliver_webhooks")
def deliver_webhooks(network: str | None = None) -> dict[str, int]:
    if network is None:
        _fan_out(deliver_webhooks)
        return {}
    jobs = _jobs(network)
    return jobs.deliver_webhooks() if jobs else {}
