"""The tasks. Each carries no data but a nudge: it reads what to do from the event store and
the views, so a lost or repeated message only delays or repeats idempotent work."""

from __future__ import annotations

import logging

from workers import context
from workers.celery_app import create_celery
from workers.escalation import scan
from workers.mail import send_due
from workers.webhooks import deliver_due

log = logging.getLogger(__name__)
app = create_celery(context.settings())


@app.task(name="fallnetz.catch_up_views")
def catch_up_views(last_event: int | None = None) -> int:
    applied = context.updater().catch_up()
    if applied:
        log.info("views caught up by %d events", applied)
        deliver_webhooks.delay()  # new status changes may wait in the webhook outbox
    return applied


@app.task(name="fallnetz.scan_escalations")
def scan_escalations() -> int:
    updater = context.updater()
    updater.catch_up()
    recorded = [e for e in scan(context.engine(), updater.store, context.now()) if e.recorded]
    if recorded:
        log.info("%d escalations recorded", len(recorded))
        updater.catch_up()
        send_notifications.delay()
    return len(recorded)


@app.task(name="fallnetz.send_notifications")
def send_notifications() -> dict[str, int]:
    updater = context.updater()
    updater.catch_up()
    counts = send_due(context.engine(), updater.store, context.mail_settings(), context.now())
    if any(counts.values()):
        log.info("notifications: %s", counts)
        updater.catch_up()
    return counts


@app.task(name="fallnetz.deliver_webhooks")
def deliver_webhooks() -> dict[str, int]:
    counts = deliver_due(context.engine(), context.updater().store, context.now(),
                         context.webhook_settings())
    if any(counts.values()):
        log.info("webhooks: %s", counts)
    return counts
