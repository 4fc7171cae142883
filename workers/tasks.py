"""The tasks. Each carries no data but a nudge: it reads what to do from the event store and
the views, so a lost or repeated message only delays or repeats idempotent work."""

from __future__ import annotations

from runtime.nudge import CATCH_UP_TASK
from workers import context
from workers.celery_app import create_celery

app = create_celery(context.settings())


@app.task(name=CATCH_UP_TASK)
def catch_up_views(last_event: int | None = None) -> int:
    applied = context.jobs().catch_up_views()
    if applied:
        deliver_webhooks.delay()  # new status changes may wait in the webhook outbox
    return applied


@app.task(name="fallnetz.scan_escalations")
def scan_escalations() -> int:
    recorded = context.jobs().scan_escalations()
    if recorded:
        send_notifications.delay()
    return recorded


@app.task(name="fallnetz.send_notifications")
def send_notifications() -> dict[str, int]:
    return context.jobs().send_notifications()


@app.task(name="fallnetz.deliver_webhooks")
def deliver_webhooks() -> dict[str, int]:
    return context.jobs().deliver_webhooks()
