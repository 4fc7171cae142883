"""PostgreSQL restarted while requests run. The production processes (deploy/start.sh:
gunicorn with two workers, a Celery worker, the beat) serve a PostgreSQL cluster of the
test's own, which is stopped and started again while a caseworker keeps sending referrals
and a receiver keeps reading the inbox.

During the outage every answer is a clear 503 (an error page, problem details under /api/,
health and readiness report it), never a 500 or a hung request; nothing is half-written
(every referral sent is on its case, every form sent again after a 503 recorded once, the
views equal their rebuild); and the same processes serve again once the database is back."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from uuid import UUID, uuid4

import pytest
import redis
import requests

from runtime.bootstrap import bootstrap
from domain.case import Case
from domain.network import NetworkConfig
from domain.referral import Referral
from domain.settings import Settings
from testbed.processes import REDIS_URL, PrivatePostgres, ProductionStack, wait_until, worker_env
from tests.e2e.test_operations_stack import Browser
from tests.e2e.test_worker_processes import rebuilt_dump
from testbed.web import give_passwords, hidden_fields
from testbed.world import World
from readmodel import queries
from readmodel.store import ViewStore

pytestmark = pytest.mark.postgres

OUTAGE_PAGE = "Die Datenbank ist im Moment nicht erreichbar."


@dataclass
class Answer:
    what: str
    status: int | None  # None: no answer at all (refused connection, timeout)
    content_type: str = ""
    body: str = ""
    key: str | None = None  # the idempotency key of a sent form


@dataclass
class Traffic:
    """A caseworker sending referrals and a receiver reading the inbox, in two threads,
    until told to stop; every answer kept."""
    anna: Browser
    nadia: Browser
    case_id: str
    receiver: str
    answers: list[Answer] = field(default_factory=list)
    forms: dict[str, dict[str, str]] = field(default_factory=dict)
    stopping: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        page = self.anna.get(f"/faelle/{self.case_id}/vermitteln?need=health.psychosocial"
                             "&urgency=routine&kind=service").text
        self.form = hidden_fields(page, f"/faelle/{self.case_id}/vermitteln")
        self.threads = [threading.Thread(target=self._send, daemon=True),
                        threading.Thread(target=self._read, daemon=True)]
        for thread in self.threads:
            thread.start()

    def _record(self, what: str, call: object, key: str | None = None) -> None:
        try:
            response = call()  # type: ignore[operator]
        except requests.RequestException as error:
            self.answers.append(Answer(what, None, body=type(error).__name__, key=key))
            return
        self.answers.append(Answer(what, response.status_code,
                                   response.headers.get("Content-Type", ""), response.text,
                                   key))

    def _send(self) -> None:
        while not self.stopping.is_set():
            key = uuid4().hex
            form = {**self.form, "idempotency_key": key, "need": "health.psychosocial",
                    "urgency": "routine", "kind": "service", "receiver": self.receiver,
                    "reason": "Bitte um ein Erstgespräch.",
                    "send_anyway": "on"}  # the same referral again and again, on purpose
            self.forms[key] = form
            self._record("send", lambda: self.anna.post(
                f"/faelle/{self.case_id}/vermitteln", form), key)

    def _read(self) -> None:
        while not self.stopping.is_set():
            self._record("inbox", lambda: self.nadia.get("/eingang"))
            self._record("api", lambda: self.nadia.get("/api/v1/cases"))

    def count(self, what: str, status: int) -> int:
        return sum(1 for a in list(self.answers) if a.what == what and a.status == status)

    def stop(self) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=120)


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    server = PrivatePostgres()
    try:
        yield server
    finally:
        server.remove()


@pytest.fixture
def flushed_redis() -> Iterator[None]:
    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    yield
    client.flushdb()


def referrals_in_store(application) -> set[UUID]:  # type: ignore[no-untyped-def]
    """Every referral the event store holds, read from its notification log."""
    found: set[UUID] = set()
    start = 1
    while batch := application.notification_log.select(start=start, limit=1000):
        found |= {n.originator_id for n in batch if n.topic.endswith("Referral.Created")}
        start = batch[-1].id + 1
    return found


def test_a_postgresql_restart_answers_503_writes_nothing_by_half_and_recovers(
        private_postgres: PrivatePostgres, flushed_redis: None, network: NetworkConfig,
        tmp_path: Path) -> None:
    # connect_timeout=1: a request caught in the outage gives up after about ten seconds
    # (ten attempts of the event store), well within gunicorn's thirty.
    url = f"{private_postgres.url}?connect_timeout=1"
    application = bootstrap(Settings(database_url=url), network=network).application
    world = World.build(application)
    give_passwords(application)
    case_id = world.open_case()
    world.consent(case_id)

    env = worker_env(url, tmp_path / "instance", SECRET_KEY="outage-secret-" + "x" * 32,
                     PYTHONWARNINGS="ignore::UserWarning", GUNICORN_WORKERS="2",
                     CELERY_CONCURRENCY="1", VIEW_CATCH_UP_SECONDS="1",
                     MAIL_SEND_SECONDS="3600")
    stack = ProductionStack(env, tmp_path / "stack.log")
    traffic = None
    try:
        stack.wait_ready()
        traffic = Traffic(Browser(stack.base, "anna"), Browser(stack.base, "nadia"),
                          str(case_id), f"{world.org('psz')}:beratung")
        wait_until(lambda: traffic.count("send", 302) >= 3, 60, "referrals sent")

        private_postgres.stop()
        wait_until(lambda: traffic.count("send", 503) >= 2 and traffic.count("inbox", 503)
                   >= 2 and traffic.count("api", 503) >= 2, 90, "503 answers")
        ready = requests.get(f"{stack.base}/health/ready", timeout=30)
        full = requests.get(f"{stack.base}/health", timeout=30)
        assert (ready.status_code, ready.json()["checks"]["database"]["ok"]) == (503, False)
        assert (full.status_code, full.json()["checks"]["database"]["ok"]) == (503, False)
        assert requests.get(f"{stack.base}/health/live", timeout=30).status_code == 200

        private_postgres.start()
        sent_before = traffic.count("send", 302)
        read_before = traffic.count("inbox", 200)
        wait_until(lambda: traffic.count("send", 302) >= sent_before + 5
                   and traffic.count("inbox", 200) >= read_before + 5, 90,
                   "the same processes to serve again")
        traffic.stop()
        # A form that met the outage, sent again: recorded once, as it was or as it is now.
        unsure = [a.key for a in traffic.answers if a.what == "send" and a.status == 503]
        again = [traffic.anna.post(f"/faelle/{case_id}/vermitteln", traffic.forms[key])
                 for key in unsure]
        assert {r.status_code for r in again} == {302}
        wait_until(lambda: requests.get(f"{stack.base}/health", timeout=30).status_code
                   == 200, 60, "the service to be healthy again")
        # Healthy allows a small lag; the comparison with a rebuild below needs none.
        views = ViewStore(Settings(database_url=url))
        try:
            wait_until(lambda: queries.position(views) ==
                       application.recorder.max_notification_id(), 60, "the views to catch up")
        finally:
            views.close()
        assert stack.process.poll() is None, "start.sh ended: a process died"
    finally:
        if traffic is not None:
            traffic.stop()
        stack.kill()
    log = stack.log.read_text()

    # Clear answers only: success or 503, never a 500, a hang or a dropped connection.
    answers = traffic.answers
    assert {(a.what, a.status) for a in answers} <= {
        ("send", 302), ("send", 503), ("inbox", 200), ("inbox", 503), ("api", 404),
        ("api", 200), ("api", 401), ("api", 403), ("api", 503)}, sorted(
        {(a.what, a.status, a.body[:80]) for a in answers} - set())
    for a in answers:
        if a.status == 503 and a.what == "api":
            assert a.content_type == "application/problem+json"
        elif a.status == 503:
            assert OUTAGE_PAGE in a.body and "Traceback" not in a.body
    assert "WORKER TIMEOUT" not in log
    # Fast 503s during the outage can bring a worker to its max_requests, a planned
    # restart; any other replacement means the outage killed one.
    assert log.count("Booting worker") - log.count("Autorestarting worker") == 2, \
        "a gunicorn worker was replaced"

    # Nothing half-written: each referral recorded is on its case and vice versa, each form
    # key recorded once; the views equal a rebuild from the events.
    recorded = referrals_in_store(application)
    case = application.repository.get(case_id)
    assert isinstance(case, Case)
    assert set(case.referral_ids) == recorded
    sent_keys = {a.key for a in answers if a.what == "send" and a.status in (302, 503)}
    assert len(recorded) == len(sent_keys)
    assert all(isinstance(application.repository.get(r), Referral) for r in recorded)
    store = ViewStore(Settings(database_url=url))
    try:
        assert queries.dump(store) == rebuilt_dump(application, url)
    finally:
        store.close()
    application.close()


def test_a_web_worker_started_while_postgresql_is_down_waits_for_it(
        private_postgres: PrivatePostgres, network: NetworkConfig, tmp_path: Path) -> None:
    """A worker starting during an outage (gunicorn replaces each after max_requests)
    waits for the database instead of failing its boot, which would stop the server."""
    import os
    import subprocess
    import sys

    from domain.settings import PROJECT_ROOT
    from testbed.processes import free_port, same_master_key

    url = f"{private_postgres.url}?connect_timeout=1"
    bootstrap(Settings(database_url=url), network=network).application.close()
    private_postgres.stop()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POSTGRES_", "SQLITE_"))}
    env.update(DATABASE_URL=url, SECRET_KEY="boot-" + "x" * 32, GUNICORN_WORKERS="1",
               GUNICORN_BIND=f"127.0.0.1:{port}", INSTANCE_DIR=str(tmp_path / "instance"),
               **same_master_key())
    log = tmp_path / "gunicorn.log"
    server = subprocess.Popen([str(Path(sys.executable).parent / "gunicorn"), "-c",
                               "deploy/gunicorn.conf.py", "web.wsgi:app"], cwd=PROJECT_ROOT,
                              env=env, start_new_session=True, stdout=log.open("w"),
                              stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: "database unreachable while starting" in log.read_text(), 60,
                   "the worker to wait for the database")
        assert server.poll() is None, log.read_text()[-3000:]
        private_postgres.start()

        def serving() -> bool:
            assert server.poll() is None, log.read_text()[-3000:]
            try:
                return requests.get(f"http://127.0.0.1:{port}/health/live",
                                    timeout=5).status_code == 200
            except requests.RequestException:
                return False
        wait_until(serving, 90, "the waiting worker to serve")
    finally:
        server.terminate()
        server.wait(timeout=30)
