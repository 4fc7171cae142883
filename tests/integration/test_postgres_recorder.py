"""The event store's recorder on PostgreSQL (runtime/postgres_recorder.py): a command's
events in one statement that still takes the library's table lock, so notification ids are
committed in the order they are given (the log's readers and the aggregate cache rely on
it)."""

from __future__ import annotations

import threading
from pathlib import Path

import psycopg
import pytest

from domain.network import NetworkConfig
from runtime.bootstrap import bootstrap
from runtime.postgres_recorder import OneTripRecorder
from domain.settings import Settings
from testbed.processes import wait_until
from testbed.world import World
from tests.conftest import POSTGRES_URL, database_url

pytestmark = pytest.mark.postgres


def test_a_save_waits_for_the_table_lock_another_writer_holds(
        tmp_path: Path, request: pytest.FixtureRequest, network: NetworkConfig) -> None:
    settings = Settings(database_url=database_url("postgres", tmp_path, request))
    application = bootstrap(settings, network=network).application
    try:
        assert isinstance(application.recorder, OneTripRecorder)
        world = World.build(application)
        schema = settings.persistence_env()["POSTGRES_SCHEMA"]
        table = application.recorder.events_table_name
        before = application.recorder.max_notification_id() or 0
        saved: list[object] = []
        with psycopg.connect(POSTGRES_URL.split("?")[0]) as holder:
            # Another writer's transaction holds the lock (as the library's inserts do).
            holder.execute(f'LOCK TABLE "{schema}"."{table}" IN EXCLUSIVE MODE')
            writer = threading.Thread(target=lambda: saved.append(world.open_case()))
            writer.start()
            waiting = ("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                       "AND query LIKE %s")
            with psycopg.connect(POSTGRES_URL.split("?")[0], autocommit=True) as watcher:
                wait_until(lambda: watcher.execute(
                    waiting, (f"%{table}_insert_in_order%",)).fetchone()[0] == 1, 60,
                    "the save to wait for the table lock")
            assert saved == [] and writer.is_alive()
            holder.commit()
        writer.join(60)
        assert len(saved) == 1
        assert (application.recorder.max_notification_id() or 0) > before
        # Its events are there, under ids handed out after the lock was released.
        from domain.case import Case

        assert application.find(Case, saved[0]) is not None  # type: ignore[arg-type]
    finally:
        application.close()


def test_a_conflicting_save_stores_nothing_and_is_refused_as_by_the_library(
        tmp_path: Path, request: pytest.FixtureRequest, network: NetworkConfig) -> None:
    from eventsourcing.persistence import IntegrityError, StoredEvent

    settings = Settings(database_url=database_url("postgres", tmp_path, request))
    application = bootstrap(settings, network=network).application
    try:
        recorder = application.recorder
        before = recorder.max_notification_id() or 0
        import uuid

        event = StoredEvent(originator_id=uuid.uuid4(), originator_version=1,
                            topic="test:Event", state=b"{}")
        ids = recorder.insert_events([event])
        assert ids and ids[0] > before
        with pytest.raises(IntegrityError):
            recorder.insert_events([StoredEvent(originator_id=uuid.uuid4(), originator_version=1,
                                                topic="test:Event", state=b"{}"), event])
        assert recorder.max_notification_id() == ids[0]
    finally:
        application.close()
