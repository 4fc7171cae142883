"""One projection run in a process of its own, so its peak memory is its own:
``python -m bench.rebuild engine|library DATABASE_URL EVENTS`` prints the events applied and
the seconds taken and its peak memory as JSON. ``engine`` rebuilds every view as
``views rebuild`` does (readmodel/rebuild.py: shadow tables, then the swap); ``library``
runs the eventsourcing library's ProjectionRunner with a trivial projection (a tracking
record per event, nothing else) over the first EVENTS events. On SQLite, whose recorder has
no subscriptions for the runner, ``library`` is the same loop by hand: read the log in
sections, make each event, record its tracking."""

from __future__ import annotations

import json
import re
import resource
import sys
import time
from pathlib import Path
from typing import Any

import tempfile

from eventsourcing.persistence import Tracking
from eventsourcing.postgres import PostgresTrackingRecorder
from eventsourcing.projection import Projection, ProjectionRunner
from eventsourcing.sqlite import SQLiteDatastore, SQLiteTrackingRecorder

from domain.application import ReferralNetwork
from domain.network import load_network
from domain.settings import Settings
from readmodel.rebuild import Rebuild
from readmodel.store import ViewStore


class RecordedNetwork(ReferralNetwork):
    """The engine's application as the runner builds it: from an environment alone."""

    name = ReferralNetwork.name

    def __init__(self, env: Any = None) -> None:
        super().__init__(load_network(Settings().network_path), env=env)


class CountEvents(Projection[PostgresTrackingRecorder]):
    name = "bench_count"

    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        self.view.insert_tracking(tracking)


def engine_rebuild(settings: Settings, events: int) -> tuple[int, float]:
    engine = RecordedNetwork(settings.persistence_env())
    with tempfile.TemporaryDirectory() as scratch:
        rebuild = Rebuild(engine, ViewStore(settings), Path(scratch), batch_size=1000)
        started = time.perf_counter()
        applied = rebuild.run(restart=True)
        return applied, time.perf_counter() - started


def library_run(settings: Settings, events: int) -> tuple[int, float]:
    env = settings.persistence_env()
    if env["PERSISTENCE_MODULE"].endswith("sqlite"):
        return library_sqlite_run(env, events)
    started = time.perf_counter()
    with ProjectionRunner(application_class=RecordedNetwork, projection_class=CountEvents,
                          view_class=PostgresTrackingRecorder, env=env) as runner:
        runner.wait(events, timeout=24 * 3600)
        seconds = time.perf_counter() - started
        applied = runner.view.max_tracking_id(runner.app_name) or 0
    return applied, seconds


def library_sqlite_run(env: dict[str, str], events: int) -> tuple[int, float]:
    app = RecordedNetwork(env)
    tracking = SQLiteTrackingRecorder(SQLiteDatastore(env["SQLITE_DBNAME"]))
    tracking.create_table()
    started = time.perf_counter()
    applied, start = 0, 1
    while applied < events:
        section = app.notification_log.select(start=start, limit=app.log_section_size)
        if not section:
            break
        for notification in section[:events - applied]:
            app.mapper.to_domain_event(notification)
            tracking.insert_tracking(Tracking(app.name, notification.id))
            applied += 1
        start = section[-1].id + 1
    return applied, time.perf_counter() - started


def peak_rss_mb() -> float:
    """This process's peak resident set. Read from /proc, because the kernel's rusage of a
    process started by a big parent still counts the parent's peak from before the exec."""
    status = Path("/proc/self/status")
    if status.exists():
        found = re.search(r"VmHWM:\s+(\d+) kB", status.read_text())
        if found:
            return int(found.group(1)) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(kind: str, database_url: str, events: int) -> None:
    settings = Settings(database_url=database_url)
    run = engine_rebuild if kind == "engine" else library_run
    applied, seconds = run(settings, events)
    print(json.dumps({"events": applied, "seconds": seconds, "rss_mb": peak_rss_mb()}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
