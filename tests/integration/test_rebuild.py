"""`views rebuild` builds new views beside the live ones and puts them in their place at once:
the receiver's inbox answers with its rows throughout (read in a second thread through the
web app, as a browser would), events recorded meanwhile are in the new views, the webhook
outbox holds every delivery once, an interrupted rebuild goes on where it stopped, and its
progress shows in /health and on the operators' page."""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any

import pytest

from domain.base import Stamp
from readmodel import queries
from readmodel.rebuild import (
    COPYING, DONE, FOLLOWING, PROJECTING, Progress, Rebuild, RebuildRunning, last_progress)
from readmodel.runner import ViewUpdater
from readmodel.schema import VIEW_TABLES
from readmodel.store import ViewStore, postgres_connection
from testbed.web import give_passwords, sign_in
from testbed.processes import wait_until
from testbed.world import World, backlog

REFERRAL_LINK = re.compile(r'href="/vermittlungen/[0-9a-f-]{36}"')


def new_referral(world: World) -> Any:
    case_id = world.open_case()
    world.consent(case_id)
    return world.send(case_id)


def shadow_tables(store: ViewStore) -> list[str]:
    with store.reading() as cur:
        if store.dialect == "sqlite":
            rows = cur.all("SELECT name FROM sqlite_master WHERE type = 'table' "
                           "AND substr(name, 1, 7) = 'shadow_'")
        else:
            rows = cur.all("SELECT table_name AS name FROM information_schema.tables "
                           "WHERE table_schema = current_schema() "
                           "AND substr(table_name, 1, 7) = 'shadow_'")
    return [row["name"] for row in rows]


def deliveries(store: ViewStore) -> list[str]:
    with store.reading() as cur:
        return sorted(row["delivery_id"] for row in
                      cur.all("SELECT delivery_id FROM {p}webhook_deliveries"))


def fresh_views(world: World, settings: Any) -> tuple[dict[str, Any], list[str]]:
    fresh = ViewUpdater(world.application, ViewStore(settings, prefix="compare_"))
    fresh.rebuild()
    return queries.dump(fresh.store), deliveries(fresh.store)


class InboxReader(threading.Thread):
    """The receiver's inbox, read again and again while the rebuild runs."""

    def __init__(self, web_app: Any, phase: list[str]) -> None:
        super().__init__(daemon=True)
        self.client = sign_in(web_app, "nadia")
        self.phase = phase
        self.reads: list[tuple[str, int, int]] = []  # (phase, status, referral rows)
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            phase = self.phase[0]
            try:
                response = self.client.get("/eingang")
                rows = len(REFERRAL_LINK.findall(response.get_data(as_text=True)))
                self.reads.append((phase, response.status_code, rows))
            except Exception as error:  # noqa: BLE001 — an error is what the test looks for
                self.reads.append((phase, 0, 0))
                self.error = error


def test_the_inbox_answers_with_its_rows_throughout_a_rebuild(
        world: World, web_app: Any, settings: Any, updater: ViewUpdater,
        tmp_path: Path) -> None:
    application = world.application
    give_passwords(application)
    application.integrations.subscribe_webhook(Stamp.system("test"), world.org("psz"),
                                               "https://kis.example.org/fallnetz")
    first = new_referral(world)
    backlog(world, 300)
    updater.catch_up()
    phase = ["before"]
    reader = InboxReader(web_app, phase)
    reader.start()
    while len(reader.reads) < 3:  # the inbox as it is, before the rebuild
        reader.join(0.05)
    rows_before = reader.reads[0][2]
    assert rows_before > 0

    sent_meanwhile = []

    def meanwhile(progress: Progress) -> None:
        phase[0] = progress.phase
        # Cases go on meanwhile; the workers follow them in the live views.
        if progress.phase == PROJECTING and len(sent_meanwhile) < 5:
            sent_meanwhile.append(new_referral(world))
            if len(sent_meanwhile) < 4:  # the last ones are for the shadow only
                updater.catch_up()

    rebuild = Rebuild(application, updater.store, tmp_path / "scratch", batch_size=100,
                      on_progress=meanwhile)
    rebuild.run()
    while len([r for r in reader.reads if r[0] == DONE]) < 3:  # and after it
        reader.join(0.05)
    reader.stop.set()
    reader.join(30)

    assert len(sent_meanwhile) == 5
    phases = {read[0] for read in reader.reads}
    assert {"before", PROJECTING, DONE} <= phases, phases
    failed = [read for read in reader.reads if read[1] != 200 or read[2] < rows_before]
    assert not failed, (failed[:5], len(reader.reads))

    updater.catch_up()
    views, outbox = fresh_views(world, settings)
    assert queries.dump(updater.store) == views
    assert deliveries(updater.store) == outbox  # each status change's delivery once
    assert str(first) in {row[0] for row in views["referrals"]}
    assert updater.lag().behind == 0
    assert shadow_tables(updater.store) == []
    assert list((tmp_path / "scratch").glob("*")) == []
    progress = last_progress(updater.store)
    assert progress is not None and progress.phase == DONE and progress.finished_at


class Interrupt(Exception):
    pass


def test_an_interrupted_rebuild_goes_on_where_it_stopped(
        world: World, web_app: Any, settings: Any, updater: ViewUpdater,
        tmp_path: Path) -> None:
    application = world.application
    give_passwords(application)
    backlog(world, 150)
    updater.catch_up()
    last = application.recorder.max_notification_id()

    def stop_halfway(progress: Progress) -> None:
        if progress.phase == PROJECTING and progress.done > last // 2:
            raise Interrupt

    with pytest.raises(Interrupt):
        Rebuild(application, updater.store, tmp_path, batch_size=50,
                on_progress=stop_halfway).run()
    stopped = last_progress(updater.store)
    assert stopped is not None and stopped.phase == PROJECTING and not stopped.finished_at
    assert last // 2 < stopped.done < last

    # What the operators see meanwhile: the phase, how far, and once it is quiet, that it
    # stopped (the lists still show the old views).
    health = web_app.test_client().get("/health").get_json()
    assert health["checks"]["views"]["rebuild"]["phase"] == PROJECTING
    assert health["checks"]["views"]["rebuild"]["done"] == stopped.done
    assert health["checks"]["views"]["rebuild"]["total"] == last
    admin = sign_in(web_app, "katrin").get("/koordination/eskalationen").get_data(as_text=True)
    assert "Neuaufbau der Übersichten" in admin and "<progress" in admin, admin[-3000:]

    resumed: list[Progress] = []
    applied = Rebuild(application, updater.store, tmp_path, batch_size=50,
                      on_progress=resumed.append).run()
    assert resumed[0].phase == PROJECTING and resumed[0].done >= stopped.done
    assert applied <= last - stopped.done + 50  # what was projected before is not again
    views, _ = fresh_views(world, settings)
    assert queries.dump(updater.store) == views
    assert shadow_tables(updater.store) == []

    done = web_app.test_client().get("/health").get_json()["checks"]["views"]["rebuild"]
    assert done["phase"] == DONE and done["finished_at"] and not done["interrupted"]


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_on_postgresql_a_rebuild_stopped_after_its_copy_goes_on_from_the_copy(
        world: World, settings: Any, updater: ViewUpdater, tmp_path: Path) -> None:
    application = world.application
    backlog(world, 100)
    updater.catch_up()

    def stop_after_copy(progress: Progress) -> None:
        if progress.phase == FOLLOWING:
            raise Interrupt

    with pytest.raises(Interrupt):
        Rebuild(application, updater.store, tmp_path, on_progress=stop_after_copy).run()
    assert len(shadow_tables(updater.store)) > 5  # the copy is there, not yet swapped in
    backlog(world, 10)  # recorded meanwhile
    phases: list[str] = []
    Rebuild(application, updater.store, tmp_path,
            on_progress=lambda p: phases.append(p.phase)).run()
    assert PROJECTING not in phases and COPYING not in phases
    assert phases[0] == FOLLOWING and phases[-1] == DONE
    views, _ = fresh_views(world, settings)
    updater.catch_up()
    assert queries.dump(updater.store) == views
    assert list(tmp_path.glob("*.sqlite3")) == []


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_a_scratch_file_that_is_no_database_is_started_again(
        world: World, settings: Any, updater: ViewUpdater, tmp_path: Path) -> None:
    backlog(world, 25)
    rebuild = Rebuild(world.application, updater.store, tmp_path)
    scratch = rebuild.scratch_path(tmp_path)
    scratch.write_bytes(b"not a database, a crash's leftover" * 100)
    rebuild.run()
    views, _ = fresh_views(world, settings)
    assert queries.dump(updater.store) == views
    assert not scratch.exists()


def test_one_rebuild_of_the_views_at_a_time(world: World, updater: ViewUpdater,
                                            tmp_path: Path) -> None:
    first = Rebuild(world.application, updater.store, tmp_path)
    with first._alone():  # another rebuild holds the views (here: the same process)
        with pytest.raises(RebuildRunning):
            Rebuild(world.application, updater.store, tmp_path).run()
    assert last_progress(updater.store) is None  # the refused one recorded nothing
    first.run()
    assert last_progress(updater.store).phase == DONE  # type: ignore[union-attr]


def test_after_a_restore_of_an_older_store_the_views_follow_the_store(
        world: World, settings: Any, updater: ViewUpdater, tmp_path: Path) -> None:
    """Live views ahead of the event store (restored from an older backup) are wrong past
    its last event: the rebuild's views hold what the store holds, and the deliveries still
    pending of events no longer there are gone."""
    backlog(world, 20)
    updater.catch_up()
    last = world.application.recorder.max_notification_id()
    with updater.store.transaction() as cur:
        cur.execute("UPDATE {p}positions SET position = ? WHERE projection = 'handoff_views'",
                    (last + 100,))
        cur.execute("INSERT INTO {p}webhook_deliveries VALUES (?, ?, 'o', 'w', 'm', '{}', "
                    "'pending', 0, '2026-01-01', NULL, NULL, '2026-01-01', NULL)",
                    (f"{last + 50}:w", last + 50))
    Rebuild(world.application, updater.store, tmp_path).run()
    assert updater.position() == last
    assert f"{last + 50}:w" not in deliveries(updater.store)
    views, _ = fresh_views(world, settings)
    assert queries.dump(updater.store) == views


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_a_rebuild_whose_lock_was_lost_stops_before_it_replaces_anything(
        world: World, updater: ViewUpdater, tmp_path: Path) -> None:
    backlog(world, 20)
    updater.catch_up()
    before = queries.dump(updater.store)

    def lose_the_lock(progress: Progress) -> None:
        if progress.phase == PROJECTING and rebuild._lock_connection is not None:
            pid = rebuild._lock_connection.info.backend_pid
            with updater.store.transaction() as cur:  # as a server or network would
                cur.execute("SELECT pg_terminate_backend(?)", (pid,))

    rebuild = Rebuild(world.application, updater.store, tmp_path, on_progress=lose_the_lock)
    with pytest.raises(RebuildRunning, match="lost"):
        rebuild.run()
    assert queries.dump(updater.store) == before  # the live views as they were
    assert len(shadow_tables(updater.store)) == 0  # nothing was copied


def _session(store: ViewStore) -> Any:
    """A connection of its own to the views' schema, as another process would have."""
    conn = postgres_connection(store.env, 5)
    conn.execute(f'SET search_path TO "{store.env["POSTGRES_SCHEMA"]}"')
    conn.commit()
    return conn


def wait_for_a_lock_wait(store: ViewStore, statement_start: str) -> None:
    """Until another session's statement beginning so waits for a lock."""
    with _session(store) as watcher:
        watcher.autocommit = True
        wait_until(lambda: watcher.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND query LIKE %s", (statement_start + "%",)).fetchone()[0] == 1, 120,
            f"{statement_start} … to wait for a lock")


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_a_read_that_loses_a_deadlock_to_a_swap_runs_again_and_reads_the_new_tables(
        updater: ViewUpdater) -> None:
    """A page's read of two views holds the first while it waits for the second, which a
    swap has dropped; the swap then wants the first. The server ends the read (it waited
    first); the read runs again, waits for the swap and reads what the swap put in place."""
    store = ViewStore(None, prefix="pair_", env=updater.store.env)
    with store.transaction() as cur:
        for prefix, value in (("pair_", "old"), ("shadow_pair_", "new")):
            cur.execute(f"CREATE TABLE {prefix}first (id INT PRIMARY KEY, value TEXT)")
            cur.execute(f"CREATE TABLE {prefix}second (id INT PRIMARY KEY, value TEXT)")
            cur.execute(f"INSERT INTO {prefix}first VALUES (1, '{value}')")
            cur.execute(f"INSERT INTO {prefix}second VALUES (1, '{value}')")
    swap = _session(store)
    swap.execute("DROP TABLE pair_second")  # the swap's first table: the read must wait
    read: list[Any] = []

    def page() -> None:
        try:
            with store.reading() as cur:
                read.extend(cur.all("SELECT f.value AS first, s.value AS second "
                                    "FROM {p}first f JOIN {p}second s ON s.id = f.id"))
        except Exception as error:  # noqa: BLE001 — what the test looks for
            read.append(error)

    reader = threading.Thread(target=page)
    reader.start()
    wait_for_a_lock_wait(store, "SELECT f.value")
    swap.execute("DROP TABLE pair_first")  # waits for the read: a deadlock
    swap.execute("ALTER TABLE shadow_pair_first RENAME TO pair_first")
    swap.execute("ALTER TABLE shadow_pair_second RENAME TO pair_second")
    swap.commit()
    reader.join(60)
    assert read == [{"first": "new", "second": "new"}]
    swap.close()


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_a_swap_that_loses_a_deadlock_runs_again(
        world: World, settings: Any, updater: ViewUpdater, tmp_path: Path) -> None:
    """Seldom the swap waits first and the server ends it: it is undone and runs again."""
    backlog(world, 20)
    updater.catch_up()
    first, last = VIEW_TABLES[0], VIEW_TABLES[-1]
    reader = _session(updater.store)
    reader.execute(f"SELECT count(*) FROM view_{last}")  # holds it until its commit
    outcome: list[Any] = []

    def rebuild() -> None:
        try:
            outcome.append(Rebuild(world.application, updater.store, tmp_path).run())
        except Exception as error:  # noqa: BLE001 — what the test looks for
            outcome.append(error)

    rebuilding = threading.Thread(target=rebuild)
    rebuilding.start()
    wait_for_a_lock_wait(updater.store, f"DROP TABLE IF EXISTS view_{last}")
    reader.execute(f"SELECT count(*) FROM view_{first}")  # dropped by the swap: a deadlock
    reader.commit()
    rebuilding.join(120)
    assert len(outcome) == 1 and isinstance(outcome[0], int), outcome
    assert last_progress(updater.store).phase == DONE  # type: ignore[union-attr]
    views, _ = fresh_views(world, settings)
    assert queries.dump(updater.store) == views
    reader.close()
