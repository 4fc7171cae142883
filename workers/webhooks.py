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

import ipaddress
import logging
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

import certifi
import requests
import urllib3
from standardwebhooks import Webhook

from domain.application import ReferralNetwork
from domain.organisation import Organisation
from readmodel.store import ts
from readmodel.store import ViewStore

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=2)
# Pauses after the 1st, 2nd, … failed attempt, in multiples of the first pause (10 s by
# default: 10 s, 30 s, 2 min, 10 min, … up to a day); after the last it is given up, about
# six days after the change.
BACKOFF = (1, 3, 12, 60, 180, 360, 1080, 2160, 4320, 8640, 8640, 8640, 8640, 8640)


@dataclass(frozen=True)
class WebhookSettings:
    timeout: float = 10.0
    first_retry_seconds: float = 10.0
    user_agent: str = "Fallnetz-Webhooks/1"
    # Only https to public addresses unless the operators allow more (a closed municipal
    # network, the tests): a supervisor's subscription must not reach into the servers'
    # own network.
    allow_http: bool = False
    allow_private: bool = False

    def refusal(self, url: str) -> str | None:
        """Why an address may not be sent to now, or None."""
        return self.checked(url)[0]

    def checked(self, url: str) -> tuple[str | None, str | None]:
        """Why an address may not be sent to now (or None), and the IP address it was
        checked at, which the POST then connects to: a name that resolves to a public
        address for the check and to the servers' own network for the POST (DNS
        rebinding) reaches only the address checked. No pinning where private addresses
        are allowed anyway."""
        parts = urlsplit(url)
        if parts.scheme != "https" and not self.allow_http:
            return "plain http is not allowed (WEBHOOK_ALLOW_HTTP)", None
        if self.allow_private:
            return None, None
        try:
            addresses = [info[4][0] for info in socket.getaddrinfo(
                parts.hostname or "", parts.port or 443, proto=socket.IPPROTO_TCP)]
        except OSError:
            return None, None  # unresolvable: the POST fails and is retried
        for address in addresses:
            ip = ipaddress.ip_address(address.split("%")[0])
            if not ip.is_global:
                return f"{parts.hostname} is a private address (WEBHOOK_ALLOW_PRIVATE)", None
        return None, addresses[0] if addresses else None

    def pause_after(self, attempts: int) -> timedelta:
        return timedelta(seconds=self.first_retry_seconds * BACKOFF[attempts - 1])


def due_deliveries(store: ViewStore, now: datetime, limit: int) -> list[dict[str, Any]]:
    """Due deliveries that are the oldest still owed to their address: a later change never
    overtakes one that waits for a retry."""
    with store.reading() as cur:
        return cur.all(
            "SELECT * FROM {p}webhook_deliveries d WHERE ((d.status = 'pending' AND "
            "d.next_attempt_at <= ?) OR (d.status = 'sending' AND d.lease_until <= ?)) "
            "AND NOT EXISTS (SELECT 1 FROM {p}webhook_deliveries e WHERE "
            "e.organisation_id = d.organisation_id AND e.webhook_id = d.webhook_id AND "
            "e.position < d.position AND e.status IN ('pending', 'sending')) "
            "ORDER BY d.position LIMIT ?", (ts(now), ts(now), limit))


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


def deliver_due(application: ReferralNetwork, store: ViewStore, now: datetime,
                settings: WebhookSettings = WebhookSettings(), limit: int = 200,
                ) -> dict[str, int]:
    """Sends what is due, each address's changes in order, up to ``limit`` attempts."""
    counts = {"delivered": 0, "retry": 0, "failed": 0, "dropped": 0, "refused": 0}
    organisations: dict[str, Organisation | None] = {}
    attempts_left = limit
    with requests.Session() as session:
        session.headers["User-Agent"] = settings.user_agent
        while attempts_left > 0:
            # Each pass takes the oldest owed delivery of every address; one that went out
            # lets the address's next change come up in the next pass.
            rows = due_deliveries(store, now, attempts_left)
            progressed = False
            for row in rows:
                if not _claim(store, row, now):
                    continue  # another worker has it
                attempts_left -= 1
                outcome = _deliver(application, store, session, organisations, row, now,
                                   settings)
                counts[outcome] += 1
                progressed = progressed or outcome in ("delivered", "dropped")
            if not progressed:
                break
    return counts


def _deliver(application: ReferralNetwork, store: ViewStore, session: requests.Session,
             organisations: dict[str, Organisation | None], row: dict[str, Any],
             now: datetime, settings: WebhookSettings) -> str:
    if row["organisation_id"] not in organisations:
        organisations[row["organisation_id"]] = application.find(
            Organisation, UUID(row["organisation_id"]))
    organisation = organisations[row["organisation_id"]]
    hook = organisation.webhooks.get(row["webhook_id"]) if organisation else None
    if hook is None or not organisation.active:  # unsubscribed or deactivated meanwhile
        _settle(store, row["delivery_id"], "dropped", now)
        return "dropped"
    refusal, address = settings.checked(hook["url"])
    if refusal is not None:
        _settle(store, row["delivery_id"], "failed", now, error=refusal)
        log.warning("webhook delivery %s refused: %s", row["delivery_id"], refusal)
        return "refused"
    error = _post(session, hook, row, settings, address)
    if error is None:
        _settle(store, row["delivery_id"], "delivered", now)
        return "delivered"
    attempts = row["attempts"] + 1
    if attempts > len(BACKOFF):
        _settle(store, row["delivery_id"], "failed", now, error=error)
        log.warning("webhook delivery %s given up after %d attempts: %s",
                    row["delivery_id"], attempts, error)
        return "failed"
    _settle(store, row["delivery_id"], "pending", now,
            next_attempt_at=now + settings.pause_after(attempts), error=error)
    return "retry"


def _post(session: requests.Session, hook: dict[str, Any], row: dict[str, Any],
          settings: WebhookSettings, address: str | None = None) -> str | None:
    """Sends one delivery (to ``address`` when the check pinned one); None when the
    receiver took it (2xx), else why not."""
    body = row["payload"]
    sent_at = datetime.now(timezone.utc)  # the receiver's clock check needs real time
    signature = Webhook(hook["secret"]).sign(row["message_id"], sent_at, body)
    headers = {"Content-Type": "application/json", "webhook-id": row["message_id"],
               "webhook-timestamp": str(int(sent_at.timestamp())),
               "webhook-signature": signature}
    if address is not None:
        status = _post_pinned(hook["url"], address, body.encode(),
                              {**headers, "User-Agent": settings.user_agent}, settings.timeout)
        if isinstance(status, str):
            return status
    else:
        try:
            status = session.post(hook["url"], data=body.encode(), headers=headers,
                                  timeout=settings.timeout, allow_redirects=False).status_code
        except requests.RequestException as error:
            return type(error).__name__
    return None if 200 <= status < 300 else f"HTTP {status}"


def _post_pinned(url: str, address: str, body: bytes, headers: dict[str, str],
                 timeout: float) -> int | str:
    """POSTs to ``url`` over a connection to ``address``: the name stays in the Host
    header and in TLS (server name and certificate check). The status, or why none."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    host = parts.hostname or ""
    pool: urllib3.HTTPConnectionPool
    if parts.scheme == "https":
        pool = urllib3.HTTPSConnectionPool(
            address, port, timeout=timeout, retries=False, server_hostname=host,
            assert_hostname=host, cert_reqs="CERT_REQUIRED", ca_certs=certifi.where())
    else:
        pool = urllib3.HTTPConnectionPool(address, port, timeout=timeout, retries=False)
    try:
        with pool:
            response = pool.urlopen("POST", target, body=body, redirect=False, retries=False,
                                    headers={**headers, "Host": parts.netloc.rsplit("@")[-1]})
    except urllib3.exceptions.HTTPError as error:
        return type(error).__name__
    return response.status
