"""Health endpoints for the load balancer, the container runtime and monitoring.

- ``/health/live``: the process answers (200); restart it when this fails.
- ``/health/ready``: the database answers (200, else 503); send it requests only then.
- ``/health``: every check (database, broker, view lag and staleness, mail outbox backlog,
  the workers' jobs): 200 when all hold, 503 naming the failing ones with the reason. For
  monitoring; a web process stays ready while the workers lag, because it can still save
  commands. A stopped worker is found by time without progress: the views are stale when
  events wait and no catch-up succeeded for three intervals, a job is overdue when it has
  not succeeded for three of its intervals.

Each check opens its own short-lived connection with a short timeout, so a probe never
waits for the application's connection pool during an outage. The bodies hold counts and
states only."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from domain.settings import Settings
from readmodel import runs
from readmodel.rebuild import last_progress
from readmodel.queries import notifications_by_status
from readmodel.schema import create_tables
from readmodel.store import ViewStore, postgres_connection

try:
    from psycopg import Error as PostgresError
except ImportError:  # SQLite only: no PostgreSQL driver installed
    PostgresError = sqlite3.Error  # type: ignore[misc,assignment]

PROBE_TIMEOUT_SECONDS = 2
BACKLOG_STATUSES = ("pending", "retry", "sending")


def database_reachable(settings: Settings, timeout: int = PROBE_TIMEOUT_SECONDS) -> bool:
    env = settings.persistence_env()
    try:
        if env["PERSISTENCE_MODULE"].endswith("sqlite"):
            with sqlite3.connect(env["SQLITE_DBNAME"], timeout=timeout) as conn:
                conn.execute("SELECT 1")
            return True
        with postgres_connection(env, timeout) as conn:
            conn.execute("SELECT 1")
        return True
    except (OSError, sqlite3.Error, PostgresError):
        return False


_tables_made: set[str] = set()


def view_store(settings: Settings) -> ViewStore:
    """A store with a connection of its own (close it after use); on a fresh installation,
    before any worker ran, the view tables are made first, as the web does on first use."""
    store = ViewStore(settings)
    if settings.database_url not in _tables_made:
        create_tables(store)
        _tables_made.add(settings.database_url)
    return store


def broker_reachable(settings: Settings, timeout: int = PROBE_TIMEOUT_SECONDS) -> bool:
    if not settings.broker_url:
        return True  # the embedded worker needs no broker
    from kombu import Connection
    from kombu.exceptions import OperationalError

    try:
        with Connection(settings.broker_url, connect_timeout=timeout) as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, timeout=timeout)
    except (OperationalError, OSError):
        return False
    return True


def check(settings: Settings, last_event: Callable[[], int]) -> tuple[bool, dict[str, Any]]:
    """(all hold, the report)."""
    report: dict[str, Any] = {}
    database = database_reachable(settings)
    report["database"] = {"ok": database}
    report["broker"] = {"ok": broker_reachable(settings)}
    if database:
        store = view_store(settings)
        try:
            views = runs.freshness(store, last_event(), settings.catch_up_seconds)
            last_runs = runs.last_runs(store)
            rebuild = last_progress(store)
            statuses = notifications_by_status(store)
        finally:
            store.close()
        backlog = sum(statuses.get(s, 0) for s in BACKLOG_STATUSES)
        report["views"] = {"ok": views.behind <= settings.health_max_view_lag
                           and not views.stale,
                           "behind": views.behind, "limit": settings.health_max_view_lag}
        if views.stale:
            report["views"].update(
                stale_since=_time(views.stale_since),
                reason="the views have not been caught up since stale_since although events "
                       "are waiting: the background processing is not running")
        if rebuild is not None:  # the lists keep serving meanwhile: a fact, not a fault
            report["views"]["rebuild"] = rebuild.as_json()
        report["outbox"] = {"ok": backlog <= settings.health_max_outbox_backlog,
                            "backlog": backlog, "limit": settings.health_max_outbox_backlog,
                            **{s: statuses.get(s, 0) for s in BACKLOG_STATUSES},
                            # given up (never sendable as it stands): for an operator's look
                            "failed": statuses.get("failed", 0)}
        report["jobs"] = _jobs(settings, last_runs)
    else:  # nothing to count without the database
        report["views"] = {"ok": False, "behind": None}
        report["outbox"] = {"ok": False, "backlog": None}
    return all(part["ok"] for part in report.values()), report


def _jobs(settings: Settings, last_runs: dict[str, runs.Run]) -> dict[str, Any]:
    """Each worker job's last success and failure; a job overdue fails the check."""
    report: dict[str, Any] = {}
    for job, interval in runs.intervals(settings).items():
        run = last_runs[job]
        overdue = runs.overdue(run, interval)
        report[job] = {"last_success": _time(run.succeeded_at),
                       "last_failure": _time(run.failed_at), "failure": run.failure,
                       "overdue": overdue}
        if overdue:
            report[job]["reason"] = (f"no success for more than {runs.STALE_AFTER_INTERVALS} "
                                     f"intervals of {interval:g} s")
    return {"ok": not any(job["overdue"] for job in report.values()), **report}


def _time(moment: Any) -> str | None:
    return moment.isoformat(timespec="seconds") if moment is not None else None


def _last_event(installation: Any, slug: str | None) -> Callable[[], int]:
    def last() -> int:
        system = installation.root() if slug is None else installation.system(slug)
        return system.application.recorder.max_notification_id() or 0
    return last


def check_networks(installation: Any) -> tuple[bool, dict[str, Any]]:
    """Every network's checks, each on its own store; a network whose database is down is
    reported here (and skipped by the workers) while the others go on. Disabled networks
    are listed without checks."""
    report: dict[str, Any] = {}
    for entry in installation.entries():
        if entry.disabled:
            report[entry.slug] = {"ok": True, "disabled": True}
            continue
        try:
            ok, checks = check(entry.settings(installation.settings),
                               _last_event(installation, entry.slug))
        except Exception as error:  # noqa: BLE001 — one network's trouble, reported
            ok, checks = False, {"error": {"ok": False, "reason": type(error).__name__}}
        report[entry.slug] = {"ok": ok, "checks": checks}
    return all(part["ok"] for part in report.values()), report


class HealthApp:
    """A WSGI app mounted at ``/health``, outside the Flask app: probes need no session,
    no sign-in, no CSRF token and no throttling, and record nothing."""

    urls = Map([Rule("/", endpoint="full"), Rule("/live", endpoint="live"),
                Rule("/ready", endpoint="ready")], strict_slashes=False)

    def __init__(self, installation: Any) -> None:
        self.installation = installation
        self.settings = installation.settings

    def __call__(self, environ: dict[str, Any],
                 start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        adapter = self.urls.bind_to_environ(environ)
        try:
            endpoint, _args = adapter.match(request.path or "/")
        except Exception:
            response = self._json(404, {"status": "unknown", "endpoints":
                                        ["/health", "/health/live", "/health/ready"]})
            return response(environ, start_response)
        if endpoint == "live":
            response = self._json(200, {"status": "ok"})
        elif endpoint == "ready":
            # With several networks the installation's own database (the registry): a
            # web process serves the other networks while one network's database is down.
            ok = database_reachable(self.settings)
            response = self._json(200 if ok else 503, {
                "status": "ok" if ok else "unavailable", "checks": {"database": {"ok": ok}}})
        elif not self.installation.several:
            ok, report = check(self.settings, _last_event(self.installation, None))
            response = self._json(200 if ok else 503, {
                "status": "ok" if ok else "failing", "checks": report})
        else:
            ok, report = check_networks(self.installation)
            response = self._json(200 if ok else 503, {
                "status": "ok" if ok else "failing", "networks": report})
        return response(environ, start_response)

    @staticmethod
    def _json(status: int, body: dict[str, Any]) -> Response:
        return Response(json.dumps(body), status=status, mimetype="application/json",
                        headers={"Cache-Control": "no-store"})
