"""A DB-API connection to the event store's database for the view tables, SQLite or
PostgreSQL, with SQL written once (``?`` placeholders, ``{p}`` for the table prefix)."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from operator import itemgetter
from typing import Any

from domain.settings import Settings


def postgres_connection(env: dict[str, str], connect_timeout: int) -> Any:
    """A connection to the event store's PostgreSQL database, from the persistence settings
    (:meth:`domain.settings.Settings.persistence_env`)."""
    import psycopg

    # TCP keepalives: a connection to a server that vanished (a host off the network) is
    # found dead within a minute instead of the kernel's two hours.
    return psycopg.connect(
        host=env["POSTGRES_HOST"], port=env["POSTGRES_PORT"], user=env["POSTGRES_USER"],
        password=env["POSTGRES_PASSWORD"] or None, dbname=env["POSTGRES_DBNAME"],
        connect_timeout=connect_timeout, keepalives=1, keepalives_idle=30,
        keepalives_interval=10, keepalives_count=3)


STATEMENTS_KEPT = 2000  # statements built from values (none should be) stay uncached past it


class ViewStore:
    def __init__(self, settings: Settings | None, prefix: str = "view_",
                 env: dict[str, str] | None = None) -> None:
        self.env = env if env is not None else settings.persistence_env()  # type: ignore[union-attr]
        self.dialect = "sqlite" if self.env["PERSISTENCE_MODULE"].endswith("sqlite") \
            else "postgres"
        if self.dialect == "sqlite" and self.env["SQLITE_DBNAME"] == ":memory:":
            raise ValueError("Views need a database file or PostgreSQL, not :memory:.")
        self.prefix = prefix
        self.scratch = False
        self._local = threading.local()
        # Each statement's text in this store's dialect, by its text as written (a few
        # hundred; a projection runs each of them millions of times in a rebuild).
        self._statements: dict[str, str] = {}

    @classmethod
    def sqlite_file(cls, path: str, prefix: str) -> ViewStore:
        """Views in a SQLite file of their own (a rebuild's scratch copy)."""
        store = cls(None, prefix, env={"PERSISTENCE_MODULE": "eventsourcing.sqlite",
                                       "SQLITE_DBNAME": path})
        store.scratch = True
        return store

    # -- connections --------------------------------------------------------------------------
    def _connect(self) -> Any:
        if self.dialect == "sqlite":
            conn = sqlite3.connect(self.env["SQLITE_DBNAME"], timeout=30,
                                   isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            if self.scratch:
                # Thrown away after use: no flush to disk per commit (a crash loses the
                # last batches, not the file), and pages kept in memory (64 MB at most).
                conn.execute("PRAGMA synchronous=NORMAL")
                conn.execute("PRAGMA cache_size=-65536")
            return conn
        env = self.env
        conn = postgres_connection(env, int(env.get("POSTGRES_CONNECT_TIMEOUT", "5")))
        if env.get("POSTGRES_SCHEMA"):
            conn.execute(f'SET search_path TO "{env["POSTGRES_SCHEMA"]}"')
        # A worker host that drops off the network mid-catch-up must not keep its lock on
        # the views' position (every other worker's catch-up of that network waits on it):
        # the server ends its idle transaction after a minute, notices the dead client by
        # keepalives, and a catch-up waits at most half a minute for a lock, then fails
        # and is tried again.
        conn.execute("SET idle_in_transaction_session_timeout = '60s'")
        conn.execute("SET lock_timeout = '30s'")
        conn.execute("SET tcp_keepalives_idle = 30")
        conn.execute("SET tcp_keepalives_interval = 10")
        conn.execute("SET tcp_keepalives_count = 3")
        conn.commit()
        # A read is its own transaction, ended by the server with the statement: no round
        # trip to end it, and no lock on a view held past it (a page's ten reads would
        # otherwise hold their tables until the last, in the way of a rebuild's swap).
        # Writes open theirs explicitly (``transaction``).
        conn.autocommit = True
        return conn

    def connection(self) -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect()
        return conn

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def sql(self, text: str) -> str:
        statement = self._statements.get(text)
        if statement is None:
            statement = text.replace("{p}", self.prefix)
            if self.dialect == "postgres":
                statement = statement.replace("?", "%s")
            if len(self._statements) < STATEMENTS_KEPT:
                self._statements[text] = statement
        return statement

    @contextmanager
    def transaction(self) -> Iterator[Cursor]:
        """One write transaction; on SQLite it takes the write lock at once, so two
        projectors queue instead of both working on the same batch."""
        conn = self.connection()
        try:
            if self.dialect == "sqlite":
                conn.execute("BEGIN IMMEDIATE")
            else:
                conn.execute("BEGIN")
            cursor = Cursor(self, conn.cursor())
            yield cursor
            conn.execute("COMMIT")
        except BaseException:
            try:
                conn.execute("ROLLBACK")
            except Exception:  # the connection itself may be gone; it is replaced below
                self._local.conn = None
            raise

    @contextmanager
    def reading(self) -> Iterator[Cursor]:
        yield Cursor(self, self.connection().cursor())


# PostgreSQL's SQLSTATE for a transaction ended to break a deadlock.
DEADLOCK_DETECTED = "40P01"
READ_ATTEMPTS = 3


def lost_a_deadlock(error: BaseException) -> bool:
    """The server ended this transaction to break a deadlock (the other one goes on)."""
    return getattr(error, "sqlstate", None) == DEADLOCK_DETECTED


class Cursor:
    """A cursor that speaks the store's SQL dialect."""

    def __init__(self, store: ViewStore, cursor: Any) -> None:
        self.store = store
        self.cursor = cursor

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        statement = self.store.sql(sql)
        try:
            self.cursor.execute(statement, tuple(params))
        except Exception as error:
            if not self._read_may_run_again(error):
                raise
            self._run_again(statement, tuple(params))
        return self

    def _run_again(self, statement: str, params: tuple[Any, ...]) -> None:
        for attempt in range(2, READ_ATTEMPTS + 1):
            try:
                self.cursor.execute(statement, params)
                return
            except Exception as error:
                if attempt == READ_ATTEMPTS or not self._read_may_run_again(error):
                    raise

    def _read_may_run_again(self, error: Exception) -> bool:
        """A read that was its own transaction and lost a deadlock: a rebuild's swap drops
        the live tables one by one, and a read of two of them may hold the one the swap
        wants next while waiting for one it has. The server ends the read; run again, it
        waits behind the swap and reads the new tables. Inside a transaction the caller
        must start over, so the error goes on."""
        if not lost_a_deadlock(error):
            return False
        from psycopg import pq

        return self.cursor.connection.info.transaction_status == pq.TransactionStatus.IDLE

    @property
    def rowcount(self) -> int:
        return self.cursor.rowcount

    def one(self, sql: str, params: Sequence[Any] = ()) -> dict[str, Any] | None:
        self.execute(sql, params)
        row = self.cursor.fetchone()
        return None if row is None else dict(zip(self._names(), row, strict=True))

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        self.execute(sql, params)
        rows = self.cursor.fetchall()
        if not rows:
            return []
        # psycopg builds a new description (and its column objects) on every access, which
        # was a quarter of a page's time when done per row; the names are the query's.
        names = self._names()
        return [dict(zip(names, row, strict=True)) for row in rows]

    def _names(self) -> tuple[str, ...]:
        return tuple(map(itemgetter(0), self.cursor.description))


# Times are ISO 8601 text in UTC with microseconds, so they sort as text (schema.py).
def ts(moment: datetime | None) -> str | None:
    global _last_ts
    if moment is None:
        return None
    last = _last_ts
    if last[0] is moment:  # an event's projectors write its timestamp several times
        return last[1]
    text = moment.astimezone(timezone.utc).isoformat(timespec="microseconds")
    _last_ts = (moment, text)  # one tuple: threads see the pair whole or not at all
    return text


_last_ts: tuple[datetime | None, str] = (None, "")


def parse(text: str) -> datetime:
    return datetime.fromisoformat(text)


def as_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str, ensure_ascii=False)
