"""A database outage answers 503 at once, and the app takes up work again when the database
is back, without a restart of its own processes.

Without this, every request during an outage would wait for the event store's connection
pool (``eventsourcing`` tries ten times, each waiting up to ``connect_timeout``) and end in
a 500. Once one request has met the outage, the others are refused at once until a quick
probe (a fresh connection, at most one per second and process) finds the database again.
The pool replaces its dead connections by itself; the web's view connections (one per
thread) are dropped here when their server went away, so no request after the outage
trips over a connection of the time before it."""

from __future__ import annotations

import logging
import select
import threading
import time
from collections.abc import Callable
from typing import Any

from flask import Flask, g, render_template
from flask_babel import gettext as _

from web.api.problems import is_api_request, problem

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5
PROBE_INTERVAL_SECONDS = 1.0


def database_errors() -> tuple[type[BaseException], ...]:
    from eventsourcing.persistence import InterfaceError, OperationalError

    found: list[type[BaseException]] = [OperationalError, InterfaceError]
    try:
        import psycopg
    except ImportError:  # SQLite only: no PostgreSQL driver installed
        return tuple(found)
    return (*found, psycopg.OperationalError, psycopg.InterfaceError)


def is_lock_conflict(error: BaseException) -> bool:
    """A deadlock, a serialisation failure or a lock waited for too long: the server is
    there and this request lost to another one. Answered like an outage (try again in a
    moment), but the process does not refuse every other request meanwhile."""
    sqlstate = getattr(error, "sqlstate", None) or ""
    return sqlstate.startswith("40") or sqlstate == "55P03"


class DatabaseUnavailable(Exception):
    """Raised before a request reaches the database while it is known to be down."""


class Outage:
    """This process's knowledge of a database outage."""

    def __init__(self, probe: Callable[[], bool], interval: float = PROBE_INTERVAL_SECONDS,
                 ) -> None:
        self.probe = probe
        self.interval = interval
        self.down_since: float | None = None
        self.next_probe = 0.0
        self.lock = threading.Lock()

    def noticed(self, error: BaseException) -> None:
        with self.lock:
            if self.down_since is None:
                self.down_since = time.monotonic()
                self.next_probe = self.down_since + self.interval
                log.error("database unreachable (%s); answering 503 until it is back",
                          type(error).__name__)

    def available(self) -> bool:
        with self.lock:
            if self.down_since is None:
                return True
            now = time.monotonic()
            if now < self.next_probe:
                return False
            self.next_probe = now + self.interval
        if not self.probe():
            return False
        with self.lock:
            if self.down_since is not None:
                log.warning("database reachable again after %.1f s",
                            time.monotonic() - self.down_since)
                self.down_since = None
        return True


def unavailable_response() -> Any:
    """503 with a Retry-After: problem details under /api/, the error page otherwise."""
    detail = _("The database cannot be reached at the moment. Please try again in a few "
               "minutes; a form sent again is recorded only once.")
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS), "Cache-Control": "no-store"}
    if is_api_request():
        return problem(503, detail, code="database_unavailable", headers=headers)
    return render_template("error.html", status=503, message=detail), 503, headers


def drop_dead_view_connection() -> None:
    """The web keeps one view connection per thread; after a database restart it is dead,
    which the socket shows (the server said goodbye) before any query is sent."""
    store = _read_store()
    if store is None or store.dialect != "postgres":
        return
    conn = getattr(store._local, "conn", None)
    if conn is None:
        return
    if conn.closed or conn.broken or _has_unread_data(conn):
        store.close()


def _read_store() -> Any:
    system = g.get("system")
    return system.read_store if system is not None else None


def _has_unread_data(conn: Any) -> bool:
    # An idle connection has nothing to read unless the server closed it.
    try:
        readable, _w, _x = select.select([conn.fileno()], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


def network_outage(system: Any) -> Outage | None:
    """This process's knowledge of an outage of the request's network's database (each
    network's store may be on another server: one network down leaves the others served)."""
    if system is None:
        return None
    if system.outage is None:
        from web.operations.health import database_reachable

        system.outage = Outage(lambda: database_reachable(system.settings))
    return system.outage


def init_app(app: Flask) -> None:
    def refuse_while_down() -> None:
        outage = network_outage(g.get("system"))
        if outage is not None and not outage.available():
            raise DatabaseUnavailable
        drop_dead_view_connection()

    # First of all hooks but the choice of network: loading the signed-in user already
    # needs the database.
    app.before_request_funcs.setdefault(None, []).insert(0, refuse_while_down)

    def database_error(error: BaseException) -> Any:
        outage = network_outage(g.get("system"))
        if outage is not None and not is_lock_conflict(error):
            outage.noticed(error)
        store = _read_store()
        if store is not None:
            store.close()
        return unavailable_response()

    app.register_error_handler(DatabaseUnavailable, lambda _e: unavailable_response())
    for cls in database_errors():
        app.register_error_handler(cls, database_error)
