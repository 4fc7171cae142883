"""Projections: catch-up rate and peak memory rebuilding every view from many events,
against the library's ProjectionRunner with a trivial projection over the same events; each
run in a process of its own (bench.rebuild), which reports its own peak RSS. Then the report
pages on the views just rebuilt (bench.reports)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from bench import config, reports
from bench.events import fill
from runtime.bootstrap import bootstrap
from domain.settings import PROJECT_ROOT, Settings
from testbed.web import give_passwords
from testbed.world import World


def _child(kind: str, url: str, events: int, log: Path) -> dict[str, float]:
    with log.open("w") as err:
        process = subprocess.Popen([sys.executable, "-m", "bench.rebuild", kind, url,
                                    str(events)], cwd=PROJECT_ROOT, stdout=subprocess.PIPE,
                                   stderr=err, env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)})
        assert process.stdout is not None
        out = process.stdout.read()
        status = process.wait()
    if status != 0:
        raise RuntimeError(f"bench.rebuild {kind} failed; see {log}")
    result = json.loads(out)
    return {"rate": result["events"] / result["seconds"], "events": result["events"],
            "seconds": result["seconds"], "rss_mb": result["rss_mb"]}


def measure(sizes: config.Sizes, logs: Path,
            progress: Callable[[str], None] = print) -> dict[str, dict[str, float]]:
    with config.scratch_schema("projections") as schema:
        url = config.schema_url(schema)
        application = bootstrap(Settings(database_url=url)).application
        last = fill(application, World.build(application), sizes.events)
        give_passwords(application)  # the report pages below are read as the coordinator
        application.close()
        progress(f"  {last:,} events recorded")
        library = _child("library", url, min(sizes.baseline_events, last),
                         logs / "rebuild-library.log")
        progress(f"  library runner: {library['rate']:,.0f} events/s")
        views = _child("engine", url, last, logs / "rebuild-application.log")
        progress(f"  views rebuilt: {views['rate']:,.0f} events/s")
        pages = reports.measure(url, sizes.repeats)
        progress(f"  report pages: {pages['engine']:.0f} ms ({pages['slowest']})")
    return {"projections": {"engine": views["rate"], "bare": library["rate"],
                            "rss_mb": views["rss_mb"], "bare_rss_mb": library["rss_mb"],
                            "events": views["events"], "bare_events": library["events"],
                            "seconds": views["seconds"]},
            "reports": {**pages, "events": views["events"]},
            "projections_sqlite": _embedded(sizes, logs, progress)}


def _embedded(sizes: config.Sizes, logs: Path,
              progress: Callable[[str], None]) -> dict[str, float]:
    """The same on the embedded default, a SQLite file (as many events as the library's
    baseline above: the embedded default is for a small network)."""
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/embedded.sqlite3"
        application = bootstrap(Settings(database_url=url)).application
        last = fill(application, World.build(application), sizes.baseline_events)
        application.close()
        library = _child("library", url, last, logs / "rebuild-library-sqlite.log")
        views = _child("engine", url, last, logs / "rebuild-application-sqlite.log")
    progress(f"  SQLite: views rebuilt {views['rate']:,.0f} events/s, library loop "
             f"{library['rate']:,.0f} events/s")
    return {"engine": views["rate"], "bare": library["rate"], "rss_mb": views["rss_mb"],
            "bare_rss_mb": library["rss_mb"], "events": views["events"],
            "bare_events": library["events"], "seconds": views["seconds"]}
