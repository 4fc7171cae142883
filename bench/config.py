"""Where a benchmark run measures (database, Redis) and how big it is."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg

DATABASE_URL = os.environ.get("BENCH_DATABASE_URL",
                              "postgresql://postgres@127.0.0.1:5432/test")
# Celery workers of a run use their own Redis database, flushed by nobody else.
REDIS_URL = os.environ.get("BENCH_REDIS_URL",
                           os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/11"))


@dataclass(frozen=True)
class Sizes:
    name: str
    referrals_per_writer: int  # command path: referrals sent and accepted by each writer
    web_seconds: float  # per load run under wrk, after a warm-up of a fifth of it
    post_cases: int  # cases the form POSTs take turns over
    events: int  # projections: events rebuilt
    baseline_events: int  # of them, replayed by the library's runner
    lag_seconds: float  # at 50 commands/s
    open_referrals: tuple[int, int]  # escalation scan: large and small deadline tables
    audit_events: int  # events of the audited case
    repeats: int  # repetitions of the single-request timings, their median counts
    network_events: int  # many networks: events caught up (one network, or ten's tenths)


FULL = Sizes("full", referrals_per_writer=300, web_seconds=10, post_cases=200, events=1_000_000,
             baseline_events=200_000, lag_seconds=30, open_referrals=(1_000_000, 10_000),
             audit_events=1_000, repeats=30, network_events=50_000)
QUICK = Sizes("quick", referrals_per_writer=20, web_seconds=2, post_cases=40, events=3_000,
              baseline_events=1_000, lag_seconds=3, open_referrals=(20_000, 2_000),
              audit_events=100, repeats=5, network_events=2_000)


def base_url() -> str:
    return DATABASE_URL.split("?")[0]


def schema_url(schema: str, **options: str) -> str:
    query = "&".join(f"{k}={v}" for k, v in {"schema": schema, **options}.items())
    return f"{base_url()}?{query}"


@contextmanager
def scratch_schema(purpose: str) -> Iterator[str]:
    """A fresh schema for one measurement's data, dropped afterwards."""
    schema = f"bench_{purpose}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(base_url(), autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield schema
    finally:
        with psycopg.connect(base_url(), autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def settle(limit: float = 120.0) -> None:
    """Before each step: the previous step's writes flushed (CHECKPOINT) and no autovacuum of
    its tables at work, so that a step measures itself and not the cleanup of the one before
    (in one full run the pages, measured right after the command path, ran 7 % slower than
    alone). Waits at most `limit` seconds, then measures anyway; a role that may not
    checkpoint only waits."""
    with psycopg.connect(base_url(), autocommit=True) as conn:
        try:
            conn.execute("CHECKPOINT")
        except psycopg.errors.InsufficientPrivilege:
            pass
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline and conn.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE backend_type = 'autovacuum worker'").fetchone()[0]:
            time.sleep(0.5)
