"""End-to-end lag at a sustained 50 commands/s: from a command's commit to its event being
in the inbox view (the view's rows and its position are written in one transaction, so the
position passing the event's id is the moment it is visible). The path is the production
one: the engine's after-save nudge through Redis to a real Celery worker that catches the
views up. The library's ProjectionRunner (LISTEN/NOTIFY subscription, the trivial
projection of bench.rebuild) follows the same commands as the baseline."""

from __future__ import annotations

import os
import statistics
import threading
import time
from pathlib import Path
from typing import Any

import redis
from eventsourcing.postgres import PostgresTrackingRecorder
from eventsourcing.projection import ProjectionRunner

from bench import config
from bench.rebuild import CountEvents, RecordedNetwork
from runtime.bootstrap import bootstrap
from domain.settings import Settings
from testbed.processes import Worker, worker_env
from testbed.world import World
from readmodel.runner import ViewUpdater
from readmodel.store import ViewStore

RATE = 50.0  # commands per second
POLL = 0.002  # seconds between looks at the positions


class Watch:
    """Commit times of events, and when each became visible to each observer."""

    def __init__(self, observers: dict[str, Any]) -> None:
        self.observers = observers  # name -> () -> position
        self.committed: list[tuple[int, float]] = []
        self.lags: dict[str, list[float]] = {name: [] for name in observers}
        self._seen = {name: 0 for name in observers}
        self._lock = threading.Condition()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def commit(self, last_event: int) -> None:
        with self._lock:
            self.committed.append((last_event, time.perf_counter()))

    def _run(self) -> None:
        while not self._stop.is_set():
            for name, position in self.observers.items():
                now, reached = time.perf_counter(), position()
                with self._lock:
                    for event_id, at in self.committed[self._seen[name]:]:
                        if event_id > reached:
                            break
                        self.lags[name].append(now - at)
                        self._seen[name] += 1
                    self._lock.notify_all()
            self._stop.wait(POLL)  # the positions are only known by asking again

    def _all_seen(self) -> bool:
        return all(seen == len(self.committed) for seen in self._seen.values())

    def wait_all_seen(self, timeout: float, what: str) -> None:
        """Until every committed event is visible to every observer (told by _run)."""
        with self._lock:
            if not self._lock.wait_for(self._all_seen, timeout):
                raise RuntimeError(f"timed out after {timeout} s waiting for {what}")

    def reset(self) -> None:
        with self._lock:
            self.committed.clear()
            self._seen = {name: 0 for name in self.observers}
            self.lags = {name: [] for name in self.observers}

    def __enter__(self) -> Watch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _drive(world: World, cases: list[Any], seconds: float) -> None:
    """Sends a referral, then accepts it, and so on, at RATE commands per second."""
    started = time.perf_counter()
    pending = None
    for k in range(int(seconds * RATE)):
        delay = started + k / RATE - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        if pending is None:
            pending = world.send(cases[k % len(cases)])
        else:
            world.application.referrals.accept_referral(world.nadia, pending)
            pending = None


def _quantiles(values: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {"p50_ms": cuts[49] * 1000, "p99_ms": cuts[98] * 1000}


def measure(sizes: config.Sizes, logs: Path) -> dict[str, dict[str, float]]:
    with config.scratch_schema("lag") as schema:
        url = config.schema_url(schema)
        settings = Settings(database_url=url)
        # The engine's nudges go to Redis, as in the web.
        os.environ["CELERY_BROKER_URL"] = config.REDIS_URL
        from runtime.nudge import Nudger

        application = bootstrap(settings).application
        world = World.build(application)
        cases = [world.open_case() for _ in range(50)]
        for case in cases:
            world.consent(case)
        views = ViewStore(settings)
        updater = ViewUpdater(application, views)
        updater.catch_up()
        env = {**worker_env(url, logs / "instance"), "CELERY_BROKER_URL": config.REDIS_URL}
        worker = Worker(env, logs / "lag-worker.log", name="bench-lag")
        try:
            with ProjectionRunner(application_class=RecordedNetwork,
                                  projection_class=CountEvents,
                                  view_class=PostgresTrackingRecorder,
                                  env=settings.persistence_env()) as runner:
                watch = Watch({"engine": updater.position,
                               "library": lambda: runner.view.max_tracking_id(application.name)
                               or 0})
                application.after_save.extend([
                    watch.commit, Nudger(config.REDIS_URL, application.network.slug)])
                with watch:
                    _drive(world, cases, 2)  # warm-up: the worker has started and connected
                    watch.wait_all_seen(120, f"the worker to start; see {logs}/lag-worker.log")
                    watch.reset()
                    _drive(world, cases, sizes.lag_seconds)
                    watch.wait_all_seen(60, "the views after the last command")
        finally:
            application.after_save.clear()
            worker.stop()
            views.close()
            application.close()
            redis.Redis.from_url(config.REDIS_URL).flushdb()
        engine_lag, library_lag = _quantiles(watch.lags["engine"]), \
            _quantiles(watch.lags["library"])
        return {"lag": {**engine_lag, "bare": library_lag["p99_ms"],
                        "bare_p50_ms": library_lag["p50_ms"],
                        "commands": len(watch.lags["engine"])}}
