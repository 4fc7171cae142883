"""Rebuilds the views without taking them away (``flask views rebuild``).

Every event is projected again into shadow tables while the live views keep serving the
lists and following new events; then, in one transaction, the shadow tables take the live
ones' place. A list shows the old rows or the new ones, never none.

A projector waits for PostgreSQL's answer to every statement, about eight per event, so
projecting over the network is bound by round trips, not by the database. On PostgreSQL the
events are therefore projected into a scratch SQLite file beside the process (a statement
costs microseconds there), its tables are then copied in with COPY in one transaction, and
only the events recorded meanwhile are projected over the network. On the embedded default
the shadow tables are in the store's own SQLite file.

Interrupted (Ctrl-C, a crash), a rebuild goes on where it stopped when started again: the
scratch file and the shadow tables keep their position; the copy is all or nothing.
Its progress is kept in the live store (``rebuild_progress``), where ``/health`` and the
operators' page read it."""

from __future__ import annotations

import fcntl
import hashlib
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from domain.application import ReferralNetwork
from readmodel.runner import PROJECTION, ViewUpdater
from readmodel.schema import (
    SCHEMA_VERSION, VIEW_INDEXES, VIEW_TABLES, create_shadow_tables, create_view_indexes,
    drop_shadow_tables, shadow_schema)
from readmodel.store import Cursor, ViewStore, lost_a_deadlock, postgres_connection

SHADOW = "shadow_"
# The phases, in order, by the names /health and the operators' page show.
PROJECTING, COPYING, FOLLOWING, SWAPPING, DONE = (
    "projecting", "copying", "following", "swapping", "done")
# Progress is written at most this often (it is one small transaction in the live store).
REPORT_EVERY_SECONDS = 1.0
# A swap that lost a deadlock to a read runs again, this often at most.
SWAP_ATTEMPTS = 5
# A rebuild that has not reported for this long was interrupted.
ABANDONED_AFTER_SECONDS = 120


@dataclass(frozen=True)
class Progress:
    """How far a rebuild is: ``done`` of ``total`` in its phase (events, or rows copied)."""

    phase: str
    done: int
    total: int
    phase_started_at: datetime
    phase_started_with: int  # ``done`` when this run's phase began (a resumed run has some)
    updated_at: datetime
    finished_at: datetime | None = None

    @property
    def rate(self) -> float | None:
        """Per second in this phase, since this run began it."""
        seconds = (self.updated_at - self.phase_started_at).total_seconds()
        work = self.done - self.phase_started_with
        return work / seconds if seconds > 0 and work > 0 else None

    @property
    def seconds_left(self) -> float | None:
        rate = self.rate
        return max(0, self.total - self.done) / rate if rate else None

    def abandoned(self, now: datetime | None = None) -> bool:
        if self.finished_at is not None:
            return False
        age = ((now or _now()) - self.updated_at).total_seconds()
        return age > ABANDONED_AFTER_SECONDS

    def as_json(self, now: datetime | None = None) -> dict[str, Any]:
        return {"phase": self.phase, "done": self.done, "total": self.total,
                "per_second": round(self.rate, 1) if self.rate else None,
                "seconds_left": round(self.seconds_left) if self.seconds_left is not None
                else None,
                "updated_at": self.updated_at.isoformat(timespec="seconds"),
                "finished_at": self.finished_at.isoformat(timespec="seconds")
                if self.finished_at else None,
                "interrupted": self.abandoned(now)}


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _text(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="microseconds") if moment else None


def last_progress(store: ViewStore) -> Progress | None:
    """The last rebuild's progress as recorded in the live store; None: none ever ran."""
    with store.reading() as cur:
        row = cur.one("SELECT * FROM {p}rebuild_progress WHERE projection = ?",
                      (PROJECTION,))
    if row is None:
        return None
    return Progress(row["phase"], int(row["done"]), int(row["total"]),
                    datetime.fromisoformat(row["phase_started_at"]),
                    int(row["phase_started_with"]), datetime.fromisoformat(row["updated_at"]),
                    datetime.fromisoformat(row["finished_at"]) if row["finished_at"]
                    else None)


class RebuildRunning(Exception):
    """Another rebuild of the same views runs (on this machine or another)."""


class Rebuild:
    """One rebuild of a network's views. ``on_progress`` hears every change (the CLI's
    progress bar); the live store hears it once a second."""

    def __init__(self, application: ReferralNetwork, live: ViewStore, scratch_dir: Path,
                 batch_size: int = 1000,
                 on_progress: Callable[[Progress], None] | None = None) -> None:
        self.application = application
        self.live = live
        self.batch_size = batch_size
        self.on_progress = on_progress
        self.live_updater = ViewUpdater(application, live, batch_size)
        self.shadow = ViewStore(None, SHADOW, env=live.env)  # beside the live views
        self.scratch = self.shadow if live.dialect == "sqlite" else \
            ViewStore.sqlite_file(str(self.scratch_path(scratch_dir)), SHADOW)
        self._phase: tuple[str, datetime, int] | None = None
        self._lock_connection: Any = None  # PostgreSQL: the session holding the lock
        self._reported = 0.0
        self._last: tuple[int, int] = (0, 0)  # (done, total) last heard

    def scratch_path(self, scratch_dir: Path) -> Path:
        """One scratch file per store, named by where the store is (no name of it shown)."""
        env = self.live.env
        where = "/".join(env.get(k, "") for k in ("POSTGRES_HOST", "POSTGRES_PORT",
                                                  "POSTGRES_DBNAME", "POSTGRES_SCHEMA"))
        # What the views say (staff, subjects, timelines) is for this machine's operators
        # only, as the store's own files are.
        scratch_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(scratch_dir, 0o700)
        path = scratch_dir / f"views-{hashlib.sha256(where.encode()).hexdigest()[:16]}.sqlite3"
        path.touch(mode=0o600)
        os.chmod(path, 0o600)
        return path

    # -- the run ------------------------------------------------------------------------------
    def run(self, restart: bool = False) -> int:
        """Rebuilds the views; returns the events projected into the new ones. Raises
        :class:`RebuildRunning` when another rebuild of the same views runs."""
        with self._alone():
            return self._run(restart)

    @contextmanager
    def _alone(self) -> Iterator[None]:
        """Holds the views' rebuild lock: PostgreSQL's advisory lock (a rebuild on another
        machine), or a lock on a file beside the SQLite store."""
        if self.live.dialect == "postgres":
            conn = postgres_connection(self.live.env, 5)
            try:
                if self.live.env.get("POSTGRES_SCHEMA"):
                    conn.execute(f'SET search_path TO "{self.live.env["POSTGRES_SCHEMA"]}"')
                key = f"fallnetz views rebuild {conn.execute('SELECT current_schema()').fetchone()[0]}"
                held = conn.execute("SELECT pg_try_advisory_lock(hashtext(%s))",
                                    (key,)).fetchone()[0]
                conn.commit()
                if not held:
                    raise RebuildRunning
                # The lock lasts as long as this idle session: the server must not end it.
                conn.execute("SELECT set_config('idle_session_timeout', '0', false)")
                conn.commit()
                self._lock_connection = conn
                yield
            finally:
                self._lock_connection = None
                conn.close()
            return
        lock = Path(self.live.env["SQLITE_DBNAME"] + ".rebuild-lock")
        with lock.open("a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise RebuildRunning from None
            yield

    def _still_alone(self) -> None:
        """Before the steps that replace tables: the lock is still this run's (a session
        lost to the network would have let another rebuild start)."""
        conn = self._lock_connection
        if conn is None:
            return
        try:
            held = conn.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                                "AND pid = pg_backend_pid() AND granted").fetchone()[0]
            conn.commit()
        except Exception:  # noqa: BLE001 — the connection is gone, and the lock with it
            held = 0
        if not held:
            raise RebuildRunning("the rebuild's lock was lost")

    def _run(self, restart: bool) -> int:
        try:
            projected = 0
            copied = self.scratch is not self.shadow and not restart and \
                self._resumable(self.shadow)
            if not copied:  # else an interrupted run had copied its scratch tables already
                if restart or not self._resumable(self.scratch):
                    self._start_scratch()
                projected += self._project(self.scratch, PROJECTING)
                if self.scratch is not self.shadow:
                    self._still_alone()
                    self._copy()
            projected += self._project(self.shadow, FOLLOWING)
            self._still_alone()
            projected += self._swap()
        except BaseException:
            # Interrupted: the operators see how far it came (reports are once a second).
            if self._phase is not None:
                self._record_interruption()
            raise
        finally:
            self.scratch.close()
            self.shadow.close()
        if self.scratch is not self.shadow:
            self._discard_scratch()
        return projected

    def _resumable(self, store: ViewStore) -> bool:
        """Shadow (or scratch) tables of this schema, not ahead of the event store (not of
        a store since replaced), are gone on from."""
        try:
            schema = shadow_schema(store)
        except Exception:  # a scratch file that is no database (a crash mid-write)
            return False
        return schema == SCHEMA_VERSION and self._position(store) <= self._last_event()

    def _start_scratch(self) -> None:
        if self.scratch is not self.shadow:
            drop_shadow_tables(self.shadow)  # an older shadow copy is of no use now
            self.scratch.close()
            self._discard_scratch()  # a new file (an old one may be anything)
            Path(self.scratch.env["SQLITE_DBNAME"]).touch(mode=0o600)
        with self.scratch.transaction() as cur:
            create_shadow_tables(cur)

    def _project(self, store: ViewStore, phase: str) -> int:
        """Projects into the shadow (or scratch) tables up to the store's last event."""
        updater = ViewUpdater(self.application, store, self.batch_size, create=False)
        done = self._position(store)
        target = max(done, self._last_event())
        self._enter(phase, done, target)
        applied = 0

        def step(count: int) -> None:
            nonlocal applied, done
            applied += count
            done += count
            self._report(done, target)

        # Events keep coming while it runs; the last few are left to the swap.
        while True:
            updater.catch_up(progress=step, until=target)
            newest = self._last_event()
            if newest - target < self.batch_size:
                return applied
            target = newest

    def _copy(self) -> None:
        """Copies the scratch tables into shadow tables in PostgreSQL: one transaction, so
        an interrupted copy leaves nothing half done."""
        source = self.scratch.connection()
        copied_tables = ("positions", "webhook_deliveries", *VIEW_TABLES)
        counts = {name: source.execute(f"SELECT count(*) FROM {SHADOW}{name}").fetchone()[0]
                  for name in copied_tables}
        total = sum(counts.values())
        self._enter(COPYING, 0, total)
        copied = 0
        with self.shadow.transaction() as cur:
            create_shadow_tables(cur, indexes=False)
            cur.execute(f"DELETE FROM {SHADOW}positions")
            for name in copied_tables:
                columns = [row[1] for row in
                           source.execute(f"PRAGMA table_info({SHADOW}{name})")]
                listed = ", ".join(columns)
                rows = source.execute(f"SELECT {listed} FROM {SHADOW}{name}")
                with cur.cursor.copy(f"COPY {SHADOW}{name} ({listed}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
                        copied += 1
                        if not copied % 10_000:
                            self._report(copied, total)
            self._report(copied, total, force=True)
            create_view_indexes(cur)
            self._report(copied, total, force=True)  # still alive (indexes take a while)
            # Autovacuum analyses the new tables in its own time; the lists need the
            # figures now, or PostgreSQL plans the first queries as if they were empty.
            for name in VIEW_TABLES:
                cur.execute(f"ANALYZE {SHADOW}{name}")

    def _swap(self) -> int:
        """Takes the live views' place in one transaction. The live views' lock is held,
        so their position cannot move: the shadow takes in the events they have and it has
        not; the webhook deliveries of the events it has and they have not join the live
        outbox (which outlives every rebuild)."""
        for attempt in range(1, SWAP_ATTEMPTS + 1):
            self._enter(SWAPPING, 0, 1)
            try:
                tail = self._swap_once()
                break
            except Exception as error:
                # A read of two live tables may hold the one the swap drops next while
                # waiting for one it dropped; the server ends one of the two, mostly the
                # read (which runs again, readmodel.store), seldom the swap: all of it was
                # undone, so it runs again.
                if attempt == SWAP_ATTEMPTS or not lost_a_deadlock(error):
                    raise
        if self.on_progress is not None:
            now = _now()
            self.on_progress(Progress(DONE, 1, 1, now, 1, now, finished_at=now))
        return tail

    def _swap_once(self) -> int:
        with self.live.transaction() as cur:
            if self.live.dialect == "postgres":
                # Tables are dropped and renamed: no process may create the live views'
                # tables meanwhile (readmodel.schema takes the same lock first).
                cur.execute("SELECT pg_advisory_xact_lock(4242001)")
            live_at = self.live_updater._locked_position(cur)
            shadow = Cursor(self.shadow, cur.cursor)  # the same transaction, its tables
            shadow_at = int(shadow.one("SELECT position FROM {p}positions "
                                       "WHERE projection = ?", (PROJECTION,))["position"])
            # Live views ahead of the event store (a restore of an older store) are wrong
            # there: the new views' position is what they hold.
            end = min(live_at, self._last_event())
            tail = self._project_tail(shadow, shadow_at, end)
            if live_at > end:  # deliveries still pending of events no longer in the store
                cur.execute("DELETE FROM {p}webhook_deliveries WHERE position > ? "
                            "AND status = 'pending'", (end,))
            cur.execute(f"INSERT INTO {{p}}webhook_deliveries SELECT * FROM "
                        f"{SHADOW}webhook_deliveries WHERE position > ? "
                        f"ON CONFLICT (delivery_id) DO NOTHING", (end,))
            self._replace(cur)
            cur.execute("UPDATE {p}positions SET position = ? WHERE projection = ?",
                        (max(end, shadow_at), PROJECTION))
            cur.execute("UPDATE {p}positions SET position = ? WHERE projection = 'schema'",
                        (SCHEMA_VERSION,))
            for name in ("positions", "webhook_deliveries"):
                cur.execute(f"DROP TABLE {SHADOW}{name}")
            self._phase = (DONE, _now(), 1)
            self._record(cur, DONE, 1, 1, finished=True)
        return tail

    def _project_tail(self, shadow: Cursor, start: int, end: int) -> int:
        updater = ViewUpdater(self.application, self.shadow, self.batch_size, create=False)
        applied = 0
        while start < end:
            notifications = self.application.notification_log.select(
                start=start + 1, limit=self.batch_size, stop=end)
            if not notifications:
                break
            updater.project(shadow, notifications)
            applied += len(notifications)
            start = notifications[-1].id
        return applied

    def _replace(self, cur: Cursor) -> None:
        live, dialect = self.live.prefix, self.live.dialect
        for name in VIEW_TABLES:
            cur.execute(f"DROP TABLE IF EXISTS {live}{name}")
            cur.execute(f"ALTER TABLE {SHADOW}{name} RENAME TO {live}{name}")
            if dialect == "postgres":  # the primary key's index keeps the table's old name
                cur.execute(f"ALTER INDEX IF EXISTS {SHADOW}{name}_pkey "
                            f"RENAME TO {live}{name}_pkey")
        for name in VIEW_INDEXES:
            if dialect == "postgres":
                cur.execute(f"ALTER INDEX {SHADOW}ix_{name} RENAME TO {live}ix_{name}")
            else:  # SQLite renames no index: made again under the live name
                cur.execute(f"DROP INDEX {SHADOW}ix_{name}")
        if dialect == "sqlite":
            create_view_indexes(cur)

    def _discard_scratch(self) -> None:
        path = Path(self.scratch.env["SQLITE_DBNAME"])
        for leftover in (path, path.with_name(path.name + "-wal"),
                         path.with_name(path.name + "-shm")):
            leftover.unlink(missing_ok=True)

    # -- positions and progress ---------------------------------------------------------------
    def _position(self, store: ViewStore) -> int:
        with store.reading() as cur:
            row = cur.one("SELECT position FROM {p}positions WHERE projection = ?",
                          (PROJECTION,))
        return int(row["position"]) if row else 0

    def _last_event(self) -> int:
        return self.application.recorder.max_notification_id() or 0

    def _enter(self, phase: str, done: int, total: int) -> None:
        self._phase = (phase, _now(), done)
        self._report(done, total, force=True)

    def _report(self, done: int, total: int, force: bool = False) -> None:
        assert self._phase is not None
        phase, started_at, started_with = self._phase
        progress = Progress(phase, done, max(total, done), started_at, started_with, _now())
        self._last = (done, max(total, done))
        if self.on_progress is not None:
            self.on_progress(progress)
        if force or time.monotonic() - self._reported >= REPORT_EVERY_SECONDS:
            self._reported = time.monotonic()
            with self.live.transaction() as cur:
                self._record(cur, phase, done, max(total, done))

    def _record_interruption(self) -> None:
        try:
            with self.live.transaction() as cur:
                self._record(cur, self._phase[0], *self._last)  # type: ignore[index]
        except Exception:  # noqa: BLE001 — the store may be what failed; the cause is raised
            pass

    def _record(self, cur: Cursor, phase: str, done: int, total: int,
                finished: bool = False) -> None:
        assert self._phase is not None
        _, started_at, started_with = self._phase
        now = _now()
        cur.execute("INSERT INTO {p}rebuild_progress VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (projection) DO UPDATE SET phase = excluded.phase, "
                    "done = excluded.done, total = excluded.total, "
                    "phase_started_at = excluded.phase_started_at, "
                    "phase_started_with = excluded.phase_started_with, "
                    "updated_at = excluded.updated_at, finished_at = excluded.finished_at",
                    (PROJECTION, phase, done, total, _text(started_at), started_with,
                     _text(now), _text(now) if finished else None))
