"""The production processes end to end: ``deploy/start.sh`` starts gunicorn (two workers),
a Celery worker and the beat against the real PostgreSQL and Redis, with JSON logs. A
caseworker sends a crisis referral over HTTP; the operators' escalation scan runs at a
moment past its deadline (``--now``); the worker sends one escalation mail to a local SMTP
server; SIGTERM stops all of it.

A second run plants a recognisable (fictional) name in a case, over the web forms, and looks
for it everywhere it must not be: the logs of every process, the Celery messages that went
through Redis (watched with MONITOR), the mails, every URL asked for or redirected to, and
the error pages."""

from __future__ import annotations

import base64
import io
import json
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from email.header import decode_header, make_header
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
import redis
import requests
from pypdf import PdfReader

from runtime.bootstrap import bootstrap
from domain.network import NetworkConfig
from domain.settings import PROJECT_ROOT, Settings
from tests.conftest import database_url
from testbed.processes import REDIS_URL, ProductionStack, wait_until, worker_env
from tests.smtp import Inbox, smtp_server
from testbed.web import PASSWORD, give_passwords, hidden_fields
from testbed.world import World
from readmodel import queries
from readmodel.store import ViewStore

pytestmark = pytest.mark.postgres

FLASK = str(Path(sys.executable).parent / "flask")


class Browser:
    """A user's HTTP session against the served app that keeps every URL it touched."""

    def __init__(self, base: str, user: str) -> None:
        self.base = base
        self.session = requests.Session()
        self.urls: list[str] = []
        self.pages: list[str] = []
        self.session.hooks["response"].append(self._keep)
        page = self.get("/anmelden").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert token, page
        signed_in = self.post("/anmelden", {"csrf_token": token.group(1), "username": user,
                                            "password": PASSWORD})
        assert signed_in.status_code == 302, signed_in.text

    def _keep(self, response: requests.Response, *_args: Any, **_kwargs: Any) -> None:
        self.urls.append(response.url)
        if "Location" in response.headers:
            self.urls.append(response.headers["Location"])

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.session.get(self.base + path, timeout=60, allow_redirects=False,
                                **kwargs)

    def post(self, path: str, data: dict[str, Any], **kwargs: Any) -> requests.Response:
        return self.session.post(self.base + path, data=data, timeout=60,
                                 allow_redirects=False, **kwargs)

    def submit(self, page: str, action: str, **fields: Any) -> requests.Response:
        """Posts the form of ``page`` that goes to ``action``, with its hidden fields."""
        return self.post(action, {**hidden_fields(self.get(page).text, action), **fields})

    def open_case(self, display_name: str) -> str:
        opened = self.submit("/faelle/neu", "/faelle/neu", display_name=display_name,
                             household_size="2", district="Sandow", housing_stage="own_flat",
                             residence_status="gestattung", needs="health.psychosocial")
        assert opened.status_code == 302, opened.text
        return opened.headers["Location"].rsplit("/", 1)[-1]

    def give_consent(self, case_id: str, expires_on: str) -> None:
        given = self.submit(f"/faelle/{case_id}", f"/faelle/{case_id}/einwilligungen",
                            sector="health", purposes="health", expires_on=expires_on)
        assert given.status_code == 302, given.text

    def send_referral(self, case_id: str, receiver: str, reason: str) -> requests.Response:
        return self.submit(f"/faelle/{case_id}/vermitteln?need=health.psychosocial&"
                           "urgency=crisis&kind=service", f"/faelle/{case_id}/vermitteln",
                           need="health.psychosocial", urgency="crisis", kind="service",
                           receiver=receiver, reason=reason, send_anyway="on")


@pytest.fixture
def seeded(tmp_path: Path, request: pytest.FixtureRequest,
           network: NetworkConfig) -> tuple[str, World]:
    """A fresh schema of the shared PostgreSQL with the test network and passwords."""
    url = database_url("postgres", tmp_path, request)
    application = bootstrap(Settings(database_url=url), network=network).application
    world = World.build(application)
    give_passwords(application)
    return url, world


@pytest.fixture
def mail() -> Iterator[tuple[Inbox, int]]:
    with smtp_server() as found:
        yield found


def stack_env(url: str, tmp_path: Path, smtp_port: int) -> dict[str, str]:
    # The tests run as root, which Celery warns about on stderr before any logging is set
    # up; production runs as its own user (deploy/systemd, the Dockerfile).
    return worker_env(url, tmp_path / "instance", SECRET_KEY="stack-secret-" + "x" * 32,
                      PYTHONWARNINGS="ignore::UserWarning",
                      LOG_FORMAT="json", GUNICORN_WORKERS="2", CELERY_CONCURRENCY="1",
                      SMTP_PORT=str(smtp_port), MAIL_SEND_SECONDS="1",
                      VIEW_CATCH_UP_SECONDS="1", ESCALATION_SCAN_SECONDS="2")


@pytest.fixture
def flushed_redis() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    yield client
    client.flushdb()


@pytest.fixture
def stack(seeded: tuple[str, World], mail: tuple[Inbox, int], tmp_path: Path,
          flushed_redis: redis.Redis) -> Iterator[ProductionStack]:
    url, _world = seeded
    served = ProductionStack(stack_env(url, tmp_path, mail[1]), tmp_path / "stack.log")
    try:
        served.wait_ready()
        yield served
    finally:
        served.kill()


def scan_at(url: str, tmp_path: Path, moment: datetime) -> str:
    """The operators' escalation scan at a moment of their choosing."""
    env = worker_env(url, tmp_path / "instance", SECRET_KEY="stack-secret-" + "x" * 32,
                     LOG_FORMAT="json")
    done = subprocess.run([FLASK, "--app", "web", "escalations", "scan", "--now",
                           moment.isoformat(timespec="minutes")], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout + done.stderr


def notification_statuses(url: str) -> dict[str, int]:
    store = ViewStore(Settings(database_url=url))
    try:
        return queries.notifications_by_status(store)
    finally:
        store.close()


def subject(message: Message) -> str:
    return str(make_header(decode_header(message["Subject"])))


def mail_text(message: Message) -> str:
    """Headers and every part's decoded content, a PDF's as its text: an encoding must not
    hide anything."""
    parts = [f"{k}: {make_header(decode_header(v))}" for k, v in message.items()]
    for part in message.walk():
        payload = part.get_payload(decode=True)
        if payload and part.get_content_type() == "application/pdf":
            parts += [page.extract_text() for page in PdfReader(io.BytesIO(payload)).pages]
        elif payload:
            parts.append(payload.decode(part.get_content_charset() or "utf-8"))
    return "\n".join(parts)


def metric(text: str, name: str, **labels: str) -> float:
    from prometheus_client.parser import text_string_to_metric_families

    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v
                                           for k, v in labels.items()):
                return sample.value
    raise AssertionError(f"{name} {labels} not in the metrics")


def escalate_over_http(stack: ProductionStack, world: World, url: str, tmp_path: Path,
                       inbox: Inbox, display_name: str, reason: str,
                       ) -> tuple[Browser, str, str]:
    """A caseworker opens a case, records consent and sends a crisis referral over HTTP;
    the scan runs five hours later (receipt was due within four); the worker mails.
    Returns the browser, the case id and the scan's output."""
    anna = Browser(stack.base, "anna")
    case_id = anna.open_case(display_name)
    anna.give_consent(case_id, (world.application.today() + timedelta(days=90)).isoformat())
    sent = anna.send_referral(case_id, f"{world.org('psz')}:beratung", reason)
    assert sent.status_code == 302, sent.text
    assert "/vermittlungen/" in sent.headers["Location"]

    scanned = scan_at(url, tmp_path, datetime.now(timezone.utc) + timedelta(hours=5))
    assert "1 escalation(s)" in scanned, scanned
    # The escalation's mail, and last month's report, which the first mail run queued.
    wait_until(lambda: len(inbox.messages) >= 2, 60, "the escalation mail and the report")
    wait_until(lambda: notification_statuses(url).get("delivered") == 2, 60,
               "the deliveries to be recorded")
    return anna, case_id, scanned


def test_a_referral_past_its_deadline_escalates_by_one_mail_from_the_production_processes(
        stack: ProductionStack, seeded: tuple[str, World], mail: tuple[Inbox, int],
        tmp_path: Path) -> None:
    url, world = seeded
    inbox, _port = mail
    anna, _case, _out = escalate_over_http(stack, world, url, tmp_path, inbox, "Familie S.",
                                           "Akute Krise, bitte heute Kontakt.")

    assert len(inbox.messages) == 2
    [message] = [m for m in inbox.messages if "Frist" in subject(m)]
    assert subject(message) == ("[Fallnetz] Frist überschritten: Eingangsbestätigung "
                                "(Eskalationsstufe 1)")
    assert "psz@test.invalid" in message["To"]
    [report] = [m for m in inbox.messages if "Monatsbericht" in subject(m)]
    [pdf] = [part for part in report.walk() if part.get_content_type() == "application/pdf"]
    assert pdf.get_payload(decode=True).startswith(b"%PDF")
    assert notification_statuses(url) == {"delivered": 2}

    # The metrics of both gunicorn workers and of the store, from whichever worker answers.
    exposed = requests.get(f"{stack.base}/metrics", timeout=30).text
    assert metric(exposed, "fallnetz_commands_total", command="cases.send_referral",
                  outcome="done") == 1
    assert metric(exposed, "fallnetz_http_requests_total", method="POST",
                  route="/faelle/<uuid:case_id>/vermitteln", status="302") == 1
    assert metric(exposed, "fallnetz_escalations_total", stage="receive", level="1") == 1
    assert metric(exposed, "fallnetz_mails_sent_total") == 2
    assert metric(exposed, "fallnetz_outbox_backlog") == 0
    wait_until(lambda: requests.get(f"{stack.base}/health", timeout=30).status_code == 200,
               30, "the full health check to pass once the views caught up")

    assert stack.stop() == 0, stack.log.read_text()[-3000:]
    assert not stack.group_alive()


# -- no personal data where it does not belong -------------------------------------------------
PLANTED = "Zarathustra Quellenberg"  # fictional, and in no word list


class RedisWatch:
    """Every command sent to the test's Redis database while the test runs (MONITOR), with
    the bodies of Celery's messages decoded."""

    def __init__(self) -> None:
        self.client = redis.Redis.from_url(REDIS_URL)
        self.db = self.client.connection_pool.connection_kwargs.get("db", 0)
        self.commands: list[str] = []
        self.monitor = self.client.monitor()
        self.monitor.__enter__()
        self.thread = threading.Thread(target=self._listen, daemon=True)
        self.thread.start()

    def _listen(self) -> None:
        try:
            while True:
                found = self.monitor.next_command()
                if int(found.get("db", -1)) == self.db:
                    self.commands.append(found["command"])
        except (redis.ConnectionError, OSError, ValueError, AttributeError):
            return  # the watch was closed

    def close(self) -> None:
        self.monitor.connection.disconnect()
        self.thread.join(timeout=10)

    def celery_messages(self) -> list[dict[str, Any]]:
        """What was pushed onto Celery's queues (kombu: LPUSH queue message)."""
        messages = []
        for command in self.commands:
            name, _queue, message = (command.split(" ", 2) + ["", ""])[:3]
            if name.upper() == "LPUSH" and message.startswith("{"):
                messages.append(json.loads(message))
        return messages


def decoded(envelope: dict[str, Any]) -> str:
    body = envelope["body"]
    if envelope.get("properties", {}).get("body_encoding") == "base64":
        body = base64.b64decode(body).decode()
    return json.dumps(envelope["headers"]) + body


def test_a_planted_name_is_in_no_log_celery_message_mail_url_or_error_page(
        stack: ProductionStack, seeded: tuple[str, World], mail: tuple[Inbox, int],
        tmp_path: Path) -> None:
    url, world = seeded
    inbox, _port = mail
    watch = RedisWatch()
    try:
        anna, case_id, scan_output = escalate_over_http(
            stack, world, url, tmp_path, inbox, PLANTED,
            f"{PLANTED} braucht heute ein Gespräch.")
        # The name was stored and is shown to those who may see it: the test can see it.
        assert PLANTED in anna.get(f"/faelle/{case_id}").text

        error_pages = [
            anna.get("/faelle/00000000-0000-4000-8000-000000000000"),          # 404
            anna.post(f"/faelle/{case_id}/bedarfe", {"need": "health.general"}),  # no CSRF
            anna.get(f"/faelle/{case_id}/bedarfe"),              # a form's address: its page
            Browser(stack.base, "claudia").get(f"/faelle/{case_id}"),           # not hers
            requests.get(f"{stack.base}/faelle/{case_id}", timeout=30,          # signed out
                         allow_redirects=True),
        ]
        assert [p.status_code for p in error_pages] == [404, 400, 302, 404, 200]
        assert error_pages[2].headers["Location"] == f"/faelle/{case_id}"
        wait_until(lambda: any("fallnetz.send_notifications" in decoded(m)
                               for m in watch.celery_messages()), 30,
                   "Celery messages to pass through Redis")
    finally:
        watch.close()
    assert stack.stop() == 0

    messages = watch.celery_messages()
    logs = stack.log.read_text() + scan_output
    places = {
        "logs": logs,
        "Celery messages": "\n".join(decoded(m) for m in messages),
        "Redis commands": "\n".join(watch.commands),
        "mail subjects": "\n".join(subject(m) for m in inbox.messages),
        "mails": "\n".join(mail_text(m) for m in inbox.messages),
        "URLs": "\n".join(anna.urls),
        "error pages": "\n".join(p.text for p in error_pages),
    }
    for where, text in places.items():
        for word in PLANTED.lower().split():
            assert word not in text.lower(), f"{word!r} found in the {where}"

    assert messages and inbox.messages
    # The logs are JSON lines with correlation ids, the requests' lines naming route rules.
    # Celery prints its shutdown notice itself, past the logging.
    written = stack.log.read_text().splitlines()
    assert {line for line in written if not line.startswith("{")} <= {
        "", "worker: Warm shutdown (MainProcess)"}
    lines = [json.loads(line) for line in written if line.startswith("{")]
    requests_logged = [line for line in lines if line["logger"] == "fallnetz.requests"]
    assert {"route": "/faelle/<uuid:case_id>/vermitteln", "method": "POST",
            "status": 302} in [{k: r[k] for k in ("route", "method", "status")}
                               for r in requests_logged]
    assert all(re.fullmatch(r"[0-9a-f]{16}", r["correlation_id"]) for r in requests_logged)
    assert any(line["logger"].startswith("celery") for line in lines)
