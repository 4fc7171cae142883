"""Real Celery worker processes with the real Redis broker and PostgreSQL: a worker killed
with SIGKILL while catching up, a Redis flushed while events keep coming."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import redis

from domain.application import ReferralNetwork
from runtime.bootstrap import bootstrap
from domain.network import NetworkConfig
from domain.settings import Settings
from tests.conftest import database_url
from testbed.processes import REDIS_URL, Worker, wait_until, worker_env
from testbed.world import World, backlog
from workers.celery_app import create_celery
from readmodel import queries
from readmodel.runner import ViewUpdater
from readmodel.store import ViewStore

pytestmark = pytest.mark.postgres


@pytest.fixture
def redis_db() -> redis.Redis:
    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    yield client
    client.flushdb()


@pytest.fixture
def stack(tmp_path: Path, request: pytest.FixtureRequest, network: NetworkConfig):  # type: ignore[no-untyped-def]
    url = database_url("postgres", tmp_path, request)
    settings = Settings(database_url=url)
    application = bootstrap(settings, network=network).application
    updater = ViewUpdater(application, ViewStore(settings))
    yield url, application, updater
    updater.store.close()
    application.close()


def nudge() -> None:
    create_celery(Settings(broker_url=REDIS_URL)).send_task("fallnetz.catch_up_views")


def rebuilt_dump(application: ReferralNetwork, url: str) -> dict:
    fresh = ViewUpdater(application, ViewStore(Settings(database_url=url), prefix="rebuild_"))
    fresh.rebuild()
    return queries.dump(fresh.store)


def test_a_worker_killed_while_catching_up_10000_events_resumes_exactly(
        stack, redis_db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    url, application, updater = stack
    world = World.build(application)
    last = backlog(world, 2000)
    assert last >= 10_000

    env = worker_env(url, tmp_path, VIEW_BATCH_SIZE="200")
    worker = Worker(env, tmp_path / "worker.log")
    try:
        nudge()
        wait_until(lambda: updater.position() >= 1000, 120, "the worker to start projecting")
        worker.kill()
    finally:
        worker.stop()
    killed_at = updater.position()
    assert 0 < killed_at < last, "the worker was not killed in the middle of catching up"

    restarted = Worker(env, tmp_path / "worker.log", name="w2")
    try:
        nudge()
        wait_until(lambda: updater.position() == last, 300, "the restarted worker")
    finally:
        restarted.stop()
    views = queries.dump(updater.store)
    assert views == rebuilt_dump(application, url)
    assert len(views["referrals"]) == 2000
    assert len(views["timeline"]) == len(set(views["timeline"]))
    assert updater.lag().behind == 0


def test_a_flushed_redis_delays_but_loses_nothing(stack, redis_db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    url, application, updater = stack
    world = World.build(application)
    env = worker_env(url, tmp_path, VIEW_CATCH_UP_SECONDS="1", ESCALATION_SCAN_SECONDS="1",
                     MAIL_SEND_SECONDS="3600")
    worker = Worker(env, tmp_path / "worker.log", beat=True)
    overdue = []
    try:
        for round_ in range(12):
            # A referral sent three weeks ago: every receipt escalation is due.
            original = application.clock
            application.clock = lambda: datetime.now(timezone.utc) - timedelta(days=21)
            try:
                case_id = world.open_case()
                world.consent(case_id)
                overdue.append(world.send(case_id, urgency="routine"))
            finally:
                application.clock = original
            nudge()
            if round_ % 3 == 1:
                redis_db.flushdb()  # queued nudges and scheduled tasks are gone
        last = application.recorder.max_notification_id()
        wait_until(lambda: updater.position() >= last, 60, "the views to catch up")

        def all_escalated() -> bool:
            return all(
                sum(type(e).__name__ == "Escalated" for e in application.events.get(r)) == 3
                for r in overdue)
        wait_until(all_escalated, 90, "every due escalation", interval=0.5)
    finally:
        worker.stop()
    for referral_id in overdue:
        levels = [e.level for e in application.events.get(referral_id)
                  if type(e).__name__ == "Escalated"]
        assert levels == [1, 2, 3]


def test_every_command_after_a_catch_up_nudges_the_worker_again(
        tmp_path: Path, request: pytest.FixtureRequest, network: NetworkConfig,
        redis_db: redis.Redis) -> None:
    """One nudge waits at a time (runtime.nudge): the worker clears the flag as it begins,
    so each later command publishes again, and no beat is needed to see it."""
    url = database_url("postgres", tmp_path, request)
    settings = Settings(database_url=url, broker_url=REDIS_URL)
    application = bootstrap(settings, network=network).application
    updater = ViewUpdater(application, ViewStore(settings))
    world = World.build(application)
    worker = Worker(worker_env(url, tmp_path, VIEW_CATCH_UP_SECONDS="3600"),
                    tmp_path / "worker.log")
    try:
        for _ in range(5):
            case_id = world.open_case()
            world.consent(case_id)
            last = application.recorder.max_notification_id()
            wait_until(lambda: updater.position() >= last, 120,
                       "the worker, nudged by the command alone, to catch up")
    finally:
        worker.stop()
        updater.store.close()
        application.close()
