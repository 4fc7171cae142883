"""Nudging the workers after a command (runtime.nudge): a request hands its nudge to the
process's nudging thread and answers at once; a CLI command waits until its nudges are out,
since its process ends right after it."""

from __future__ import annotations

from pathlib import Path

import pytest

from domain.network import NetworkConfig
from domain.settings import Settings
from runtime.nudge import Nudger
from testbed.processes import REDIS_URL
from testbed.web import give_passwords, sign_in, submit
from testbed.world import World


def test_a_request_does_not_wait_for_its_nudge_and_a_cli_command_does(
        tmp_path: Path, network: NetworkConfig, monkeypatch: pytest.MonkeyPatch) -> None:
    from web import create_app

    published: list[int] = []
    flushes: list[str] = []
    monkeypatch.setattr(Nudger, "__call__", lambda self, last_event: published.append(
        last_event))
    monkeypatch.setattr(Nudger, "flush", lambda self, timeout=10.0: flushes.append(
        self.network) or True)
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'events.sqlite3'}",
                              secret_key="test-secret", broker_url=REDIS_URL),
                     config={"TESTING": True})
    application = app.extensions["fallnetz.application"]
    world = World.build(application)
    give_passwords(application)
    anna = sign_in(app, "anna")
    case_id = world.open_case()
    before = len(published)
    answer = submit(anna, f"/faelle/{case_id}", f"/faelle/{case_id}/bedarfe",
                    need="language")
    assert answer.status_code == 302, answer.get_data(as_text=True)[:500]
    assert len(published) == before + 1  # nudged, and not waited for
    assert flushes == []
    result = app.test_cli_runner().invoke(args=[
        "set-password", "anna", "--password", "ein-neues-langes-Passwort-2026"])
    assert result.exit_code == 0, result.output
    assert len(published) == before + 2 and flushes  # the CLI waited for its nudge
    application.close()


def test_while_a_nudge_waits_for_a_worker_commands_publish_no_more(
        tmp_path: Path, network: NetworkConfig) -> None:
    import redis

    from runtime.bootstrap import bootstrap
    from runtime.nudge import nudge_taken

    broker = redis.Redis.from_url(REDIS_URL)
    broker.flushdb()
    system = bootstrap(Settings(database_url=f"sqlite:///{tmp_path / 'events.sqlite3'}",
                                broker_url=REDIS_URL), network=network)
    try:
        world = World.build(system.application)  # many commands, no worker to take them
        assert system.nudge.flush()
        assert broker.llen("celery") == 1
        nudge_taken(REDIS_URL, network.slug)  # as a worker does when it begins
        world.consent(world.open_case())
        assert system.nudge.flush()
        assert broker.llen("celery") == 2
        assert broker.ttl(f"fallnetz:nudge-waiting:{network.slug}") > 0  # outlives no loss
    finally:
        broker.flushdb()
        system.application.close()
