"""The escalation scan's search for the due set (``scan(..., dry_run=True)``: the indexed
query and the parsing of its rows) among many open referrals and among few, against the
same SQL through a bare psycopg connection. The deadline rows are written straight into the
view table with COPY, shaped like a row the projector wrote for a real referral: projecting
a million referrals first would take far longer than the scan it prepares."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import psycopg

from bench import config
from bench.timing import medians_in_turns
from runtime.bootstrap import bootstrap
from domain.settings import Settings
from testbed.world import World
from workers.escalation import scan
from readmodel.store import as_json, parse, ts
from readmodel.runner import ViewUpdater
from readmodel.store import ViewStore

DUE = 100  # referrals due at the scan; the rest fall due over the next 30 days
# A scan takes under a millisecond, so the machine's jitter is as large as the difference
# measured: many more turns than the pages' timings, taken in turns with the bare query.
TURNS_PER_REPEAT = 10
SQL = ("SELECT * FROM view_deadlines WHERE next_escalation_at <= %s "
       "ORDER BY next_escalation_at LIMIT %s")


def _template(settings: Settings) -> dict[str, Any]:
    """The deadline row of one real referral, projected by the workers."""
    application = bootstrap(settings).application
    world = World.build(application)
    case = world.open_case()
    world.consent(case)
    world.send(case)
    ViewUpdater(application, ViewStore(settings)).catch_up()
    application.close()
    with psycopg.connect(config.base_url()) as conn:
        conn.execute(f"SET search_path TO {settings.persistence_env()['POSTGRES_SCHEMA']}")
        cur = conn.execute("SELECT * FROM view_deadlines")
        names = [d[0] for d in cur.description or ()]
        return dict(zip(names, cur.fetchone() or (), strict=True))


def _fill(conn: psycopg.Connection, template: dict[str, Any], count: int,
          now: datetime) -> None:
    conn.execute("TRUNCATE view_deadlines")
    # The template's escalation levels, moved so that the first falls at each row's time.
    times = [parse(t) for t in json.loads(template["escalation_times"])]
    offsets = [t - times[0] for t in times]
    with conn.cursor() as cur, cur.copy(
            "COPY view_deadlines (referral_id, stage, due_at, next_level, "
            "next_escalation_at, escalation_times) FROM STDIN") as copy:
        for i in range(count):
            at = now - timedelta(minutes=i + 1) if i < DUE \
                else now + timedelta(seconds=30 * 24 * 3600 * i / count + 60)
            copy.write_row((str(uuid.uuid4()), template["stage"], ts(at), 1, ts(at),
                            as_json([ts(at + offset) for offset in offsets])))
    conn.execute("ANALYZE view_deadlines")
    conn.commit()


def measure(sizes: config.Sizes) -> dict[str, dict[str, float]]:
    results = {}
    now = datetime.now(timezone.utc)
    with config.scratch_schema("scan") as schema:
        settings = Settings(database_url=config.schema_url(schema))
        template = _template(settings)
        store = ViewStore(settings)
        with psycopg.connect(config.base_url()) as conn:
            conn.execute(f"SET search_path TO {schema}")
            for label, count in zip(("large", "small"), sizes.open_referrals, strict=True):
                _fill(conn, template, count, now)

                def engine_scan() -> None:
                    # A dry run issues no commands, so it needs no application.
                    found = scan(None, store, now, dry_run=True)  # type: ignore[arg-type]
                    assert len(found) == DUE, len(found)

                def bare_scan() -> None:
                    rows = conn.execute(SQL, (ts(now), 500)).fetchall()
                    conn.rollback()
                    assert len(rows) == DUE, len(rows)

                engine, bare = medians_in_turns(
                    [engine_scan, bare_scan], sizes.repeats * TURNS_PER_REPEAT)
                results[f"scan_{label}"] = {"engine": engine, "bare": bare, "open": count}
        store.close()
    return results
