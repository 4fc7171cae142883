"""Tamper evidence (issue 17): the workers link every stored event into a keyed hash chain;
``flask --app web verify-store`` finds the store intact, and names the first event that was
altered, removed or put in afterwards."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from domain.settings import Settings
from readmodel.store import ViewStore
from runtime.bootstrap import bootstrap
from runtime.event_chain import EventChain
from testbed.world import World
from tests.conftest import database_url
from web import create_app


@pytest.fixture
def stored(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Any:
    settings = Settings(database_url=database_url(backend, tmp_path, request),
                        secret_key="test", erasure_ledger=str(tmp_path / "ledger"))
    application = bootstrap(settings).application
    world = World.build(application)
    case_id = world.open_case()
    world.consent(case_id)
    world.send(case_id)
    chain = EventChain(application, settings)
    assert chain.extend() == application.recorder.max_notification_id()
    yield settings, application, chain, world
    application.close()


def verify(settings: Settings) -> Any:
    app = create_app(settings, config={"TESTING": True, "NUDGE_WORKERS": False})
    return app.test_cli_runner().invoke(args=["verify-store"])


def sql(settings: Settings, statement: str, params: tuple[Any, ...] = ()) -> None:
    store = ViewStore(settings, prefix="")
    with store.transaction() as cur:
        cur.execute(statement, params)
    store.close()


def position_column(settings: Settings) -> str:
    return "rowid" if settings.database_url.startswith("sqlite") else "notification_id"


def test_an_intact_store_verifies_and_new_events_are_linked_later(stored: Any) -> None:
    settings, application, chain, world = stored
    result = verify(settings)
    assert result.exit_code == 0 and "Intact:" in result.output, result.output
    assert "not linked yet" not in result.output
    world.open_case()  # stored, not linked until the workers' next catch-up
    result = verify(settings)
    assert result.exit_code == 0 and "newer ones not linked yet" in result.output
    assert chain.extend() > 0 and chain.extend() == 0
    assert "not linked yet" not in verify(settings).output


def test_an_altered_event_is_named(stored: Any) -> None:
    settings, application, _chain, _world = stored
    table = application.recorder.events_table_name
    column = position_column(settings)
    sql(settings, f"UPDATE {table} SET state = ? WHERE {column} = 7", (b"{}",))
    result = verify(settings)
    assert result.exit_code == 1
    assert "event 7 (" in result.output and "was altered" in result.output, result.output


def test_a_removed_event_is_named(stored: Any) -> None:
    settings, application, _chain, _world = stored
    table = application.recorder.events_table_name
    sql(settings, f"DELETE FROM {table} WHERE {position_column(settings)} = 5")
    result = verify(settings)
    assert result.exit_code == 1 and "event 5 is missing" in result.output, result.output


def test_the_workers_catch_up_links_the_new_events(stored: Any) -> None:
    from readmodel.runner import ViewUpdater
    from workers.jobs import Jobs

    settings, application, chain, world = stored
    jobs = Jobs(application, ViewUpdater(application, ViewStore(settings)), settings,
                chain=chain)
    world.open_case()
    jobs.catch_up_views()
    assert chain.extend() == 0  # the job linked them already
    assert "not linked yet" not in verify(settings).output
