"""Delivers the webhook outbox: each referral status change, POSTed to every address the
sending or receiving organisation subscribed, signed after Standard Webhooks
(``webhook-id``, ``webhook-timestamp``, ``webhook-signature``).

A delivery is claimed with a lease before it is sent, so two workers never send it at the
same time; an answer other than 2xx (or none) puts it back with a growing pause, and the
address's later deliveries wait behind it, so a receiver that was down gets the changes
in order when it is back. A worker that dies between sending and recording leaves the lease
to run out and the delivery is sent again with the same ``webhook-id``, by which receivers
recognise a repeat (the standard's rule)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any
from uuid import UUID

import requests
from standardwebhooks import Webhook

from domain.application import ReferralNetwork
from domain.organisation import Organisation
from workers.views.projector import ts
from workers.views.store import ViewStore

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=2)
# Pauses after the 1st, 2nd, … failed attempt, in multiples of the first pause (10 s by
# default: 10 s, 30 s, 2 min, 10 min, … up to a day); after the last it is given up, about
# four days after the change.
BACKOFF = (1, 3, 12, 60, 180, 360, 1080, 2160, 4320, 8640, 8640, 8640, 8640, 8640)


@dataclass(frozen=True)
class WebhookSettings:
    timeout: float = 10.0
    first_retry_seconds: float = 10.0
    user_agent: str = "Fallnetz-Webhooks/1"

    def pause_after(self, attempts: int) -> timedelta:
        return timedelta(seconds=self.first_retry_seconds * BACKOFF[attempts - 1])


def due_deliveries(store: ViewStore, now: datetime, limit: int) -> list[dict[str, Any]]:
    with store.reading() as cur:
        return cur.all(
            "SELECT * FROM {p}webhook_deliveries WHERE (status = 'pending' AND "
            "next_attempt_at <= ?) OR (status = 'sending' AND lease_until <= ?) "
            "ORDER BY position LIMIT ?", (ts(now), ts(now), limit))


def backlog(store: ViewStore) -> int:
    with store.reading() as cur:
        row = cur.one("SELECT COUNT(*) AS n FROM {p}webhook_deliveries "
                      "WHERE status IN ('pending', 'sending')")
    return int(row["n"]) if row else 0


def _claim(store: ViewStore, row: dict[str, Any], now: datetime) -> bool:
    with store.transaction() as cur:
        return cur.execute(
            "UPDATE {p}webhook_deliveries SET status = 'sending', lease_until = ?, "
            "attempts = attempts + 1 WHERE delivery_id = ? AND attempts = ? AND "
            "((status = 'pending' AND next_attempt_at <= ?) OR "
            "(status = 'sending' AND lease_until <= ?))",
            (ts(now + LEASE), row["delivery_id"], row["attempts"], ts(now), ts(now)),
        ).rowcount == 1


def _settle(store: ViewStore, delivery_id: str, status: str, now: datetime,
            next_attempt_at: datetime | None = None, error: str | None = None) -> None:
    with store.transaction() as cur:
        cur.execute(
            "UPDATE {p}webhook_deliveries SET status = ?, lease_until = NULL, "
            "next_attempt_at = COALESCE(?, next_attempt_at), last_error = ?, "
            "delivered_at = ? WHERE delivery_id = ?",
            (status, ts(next_attempt_at), error,
             ts(now) if status == "delivered" else None, delivery_id))


def deliver_due(engine: ReferralNetwork, store: ViewStore, now: datetime,
                settings: WebhookSettings = WebhookSettings(), limit: int = 200,
                ) -> dict[str, int]:
    counts = {"delivered": 0, "retry": 0, "failed": 0, "dropped": 0}
    waiting: set[tuple[str, str]] = set()  # addresses with an earlier delivery still owed
    organisations: dict[str, Organisation | None] = {}
    with requests.Session() as session:
        session.headers["User-Agent"] = settings.user_agent
        for row in due_deliveries(store, now, limit):
            address = (row["organisation_id"], row["webhook_id"])
            if address in waiting or not _claim(store, row, now):
                continue
            if row["organisation_id"] not in organisations:
                organisations[row["organisation_id"]] = engine._find(
                    Organisation, UUID(row["organisation_id"]))
            organisation = organisations[row["organisation_id"]]
            hook = organisation.webhooks.get(row["webhook_id"]) if organisation else None
            if hook is None:  # unsubscribed meanwhile
                _settle(store, row["delivery_id"], "dropped", now)
                counts["dropped"] += 1
                continue
            error = _post(session, hook, row, settings)
            if error is None:
                _settle(store, row["delivery_id"], "delivered", now)
                counts["delivered"] += 1
                continue
            waiting.add(address)
            attempts = row["attempts"] + 1
            if attempts > len(BACKOFF):
                _settle(store, row["delivery_id"], "failed", now, error=error)
                counts["failed"] += 1
                log.warning("webhook delivery %s given up after %d attempts: %s",
                            row["delivery_id"], attempts, error)
            else:
                _settle(store, row["delivery_id"], "pending", now,
                        next_attempt_at=now + settings.pause_after(attempts), error=error)
                counts["retry"] += 1
    return counts


def _post(session: requests.Session, hook: dict[str, Any], row: dict[str, Any],
          settings: WebhookSettings) -> str | None:
    """Sends one delivery; None when the receiver took it (2xx), else why not."""
    body = row["payload"]
    sent_at = datetime.now(timezone.utc)  # the receiver's clock check needs real time
    signature = Webhook(hook["secret"]).sign(row["message_id"], sent_at, body)
    headers = {"Content-Type": "application/json", "webhook-id": row["message_id"],
               "webhook-timestamp": str(int(sent_at.timestamp())),
               "webhook-signature": signature}
    try:
        response = session.post(hook["url"], data=body.encode(), headers=headers,
                                timeout=settings.timeout, allow_redirects=False)
    except requests.RequestException as error:
        return type(error).__name__
    if 200 <= response.status_code < 300:
        return None
    return f"HTTP {response.status_code}"
