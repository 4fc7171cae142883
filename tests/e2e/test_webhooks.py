"""Webhooks for referral status changes, delivered by a real Celery worker (with its beat)
through the webhook outbox, against PostgreSQL and Redis.

The receiving organisation's system is down (503) while a referral is sent, received and
accepted; when it comes back it gets every status change exactly once, in order, each with
a valid Standard Webhooks signature. The sending organisation's address, up all along,
gets them as they happen. Rebuilding the views sends nothing again."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import redis
from standardwebhooks import Webhook

from runtime.bootstrap import bootstrap
from domain.network import NetworkConfig
from domain.settings import Settings
from domain.stamp import Stamp
from tests.conftest import database_url
from testbed.processes import REDIS_URL, Worker, wait_until, worker_env
from testbed.world import World
from readmodel.runner import ViewUpdater
from readmodel.store import ViewStore

pytestmark = pytest.mark.postgres


class Receiver:
    """An organisation's system: answers 503 while down, else verifies and records."""

    def __init__(self) -> None:
        self.down = False
        self.secret = ""
        self.refused = 0
        self.received: list[dict[str, Any]] = []
        self.bad_signatures = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if receiver.down:
                    receiver.refused += 1
                    self.send_response(503)
                    self.end_headers()
                    return
                try:
                    payload = Webhook(receiver.secret).verify(body, dict(self.headers))
                except Exception:  # noqa: BLE001 (any verification failure counts)
                    receiver.bad_signatures += 1
                    self.send_response(400)
                    self.end_headers()
                    return
                receiver.received.append({"id": self.headers["webhook-id"], **payload})
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/fallnetz"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def statuses(self) -> list[str]:
        return [m["data"]["status"] for m in self.received]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receivers() -> Iterator[tuple[Receiver, Receiver]]:
    pair = (Receiver(), Receiver())
    yield pair
    for receiver in pair:
        receiver.close()


@pytest.fixture
def redis_db() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    yield client
    client.flushdb()


def test_a_receiver_that_was_down_gets_each_change_once(
        tmp_path: Path, request: pytest.FixtureRequest, network: NetworkConfig,
        receivers: tuple[Receiver, Receiver], redis_db: redis.Redis) -> None:
    url = database_url("postgres", tmp_path, request)
    settings = Settings(database_url=url)
    application = bootstrap(settings, network=network).application
    world = World.build(application)
    psz_system, fsa_system = receivers
    system = Stamp.system("test-setup")
    psz_system.secret = application.integrations.subscribe_webhook(system, world.org("psz"),
                                                 psz_system.url)["secret"]
    fsa_system.secret = application.integrations.subscribe_webhook(
        system, world.org("fsa-sachsendorf"), fsa_system.url
    )["secret"]
    (tmp_path / "instance").mkdir()
    worker = Worker(worker_env(url, tmp_path / "instance", VIEW_CATCH_UP_SECONDS="0.3",
                               WEBHOOK_SEND_SECONDS="0.3", WEBHOOK_RETRY_SECONDS="0.2",
                               WEBHOOK_ALLOW_HTTP="1", WEBHOOK_ALLOW_PRIVATE="1",
                               ESCALATION_SCAN_SECONDS="3600", MAIL_SEND_SECONDS="3600"),
                    tmp_path / "worker.log", beat=True)
    try:
        psz_system.down = True
        case_id = world.open_case()
        world.consent(case_id)
        referral_id = world.send(case_id)
        application.referrals.receive_referral(world.nadia, referral_id)
        application.referrals.accept_referral(world.nadia, referral_id)
        wait_until(lambda: len(fsa_system.received) == 3, 30, "the sender's three changes")
        wait_until(lambda: psz_system.refused >= 3, 30, "attempts while the receiver is down")
        assert psz_system.received == []

        psz_system.down = False
        application.referrals.start_referral(world.nadia, referral_id)
        wait_until(lambda: len(psz_system.received) == 4 and len(fsa_system.received) == 4,
                   60, "every change at both systems")
        store = ViewStore(settings)
        wait_until(lambda: _backlog(store) == 0, 30, "an empty webhook outbox")
    finally:
        worker.stop()
    log = (tmp_path / "worker.log").read_text()

    for receiver in (psz_system, fsa_system):
        assert receiver.bad_signatures == 0
        assert receiver.statuses() == ["requested", "received", "accepted", "in-progress"], log
        ids = [m["id"] for m in receiver.received]
        assert len(set(ids)) == len(ids), "each change exactly once"
        assert [m["data"]["version"] for m in receiver.received] == sorted(
            m["data"]["version"] for m in receiver.received)
        assert all(m["data"]["referral_id"] == str(referral_id) for m in receiver.received)
        assert all("reason" not in json.dumps(m) for m in receiver.received), \
            "ids and codes only, no case content"
    assert psz_system.refused >= 3

    # Rebuilding the views queues nothing again: the outbox remembers what went out.
    updater = ViewUpdater(application, ViewStore(settings))
    updater.rebuild()
    assert _backlog(updater.store) == 0
    updater.store.close()
    store.close()
    application.close()


def _backlog(store: ViewStore) -> int:
    from workers.webhooks import backlog

    return backlog(store)


def test_webhooks_go_to_public_https_addresses_unless_the_operators_allow_more() -> None:
    from workers.webhooks import WebhookSettings

    strict = WebhookSettings()
    assert "http" in (strict.refusal("http://93.184.216.34/hook") or "")
    assert "private" in (strict.refusal("https://127.0.0.1:8443/hook") or "")
    assert "private" in (strict.refusal("https://10.1.2.3/hook") or "")
    assert "private" in (strict.refusal("https://169.254.169.254/latest") or "")
    assert strict.refusal("https://93.184.216.34/hook") is None
    closed_network = WebhookSettings(allow_http=True, allow_private=True)
    assert closed_network.refusal("http://10.1.2.3/hook") is None
