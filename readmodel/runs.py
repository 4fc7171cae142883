"""When each worker job last succeeded and failed, and what follows for the lists: fresh,
being updated, or stale because the background processing does not run.

A job that runs records its success even when it found nothing to do, so "no progress" is
told apart from "nothing to progress on": the views are stale when events are waiting and
no catch-up has succeeded for three of its intervals."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from domain.settings import Settings
from readmodel.store import ViewStore

# The jobs, by the names the runs table, /health and the operators' pages use.
VIEWS, ESCALATION_SCAN, MAIL, WEBHOOKS = "views", "escalation_scan", "mail", "webhooks"
JOBS = (VIEWS, ESCALATION_SCAN, MAIL, WEBHOOKS)
STALE_AFTER_INTERVALS = 3
FAILURE_LENGTH = 200


def intervals(settings: Settings) -> dict[str, float]:
    """How often each job runs (the beat's intervals), which is what "overdue" counts in."""
    return {VIEWS: settings.catch_up_seconds, ESCALATION_SCAN: settings.scan_seconds,
            MAIL: settings.mail_seconds, WEBHOOKS: settings.webhook_seconds}


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _text(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds")


def record_success(store: ViewStore, job: str, at: datetime | None = None) -> None:
    with store.transaction() as cur:
        cur.execute("INSERT INTO {p}runs (job, succeeded_at) VALUES (?, ?) ON CONFLICT (job) "
                    "DO UPDATE SET succeeded_at = excluded.succeeded_at",
                    (job, _text(at or _now())))


def record_failure(store: ViewStore, job: str, error: BaseException,
                   at: datetime | None = None) -> None:
    # The error's type only: a database's or mail server's message can quote stored data.
    failure = type(error).__name__
    with store.transaction() as cur:
        cur.execute("INSERT INTO {p}runs (job, failed_at, failure) VALUES (?, ?, ?) "
                    "ON CONFLICT (job) DO UPDATE SET failed_at = excluded.failed_at, "
                    "failure = excluded.failure",
                    (job, _text(at or _now()), failure[:FAILURE_LENGTH]))


@dataclass(frozen=True)
class Run:
    job: str
    succeeded_at: datetime | None
    failed_at: datetime | None
    failure: str | None


def last_runs(store: ViewStore) -> dict[str, Run]:
    """Every job's last success and failure; jobs that never ran have neither."""
    with store.reading() as cur:
        rows = cur.all("SELECT job, succeeded_at, failed_at, failure FROM {p}runs")
    found = {row["job"]: Run(row["job"], _parse(row["succeeded_at"]),
                             _parse(row["failed_at"]), row["failure"]) for row in rows}
    return {job: found.get(job, Run(job, None, None, None)) for job in JOBS} | found


def _parse(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


@dataclass(frozen=True)
class Freshness:
    """How current a list read from the views is."""

    behind: int  # events the views have still to take in
    stale_since: datetime | None  # the last catch-up, when the views stopped following

    @property
    def stale(self) -> bool:
        return self.stale_since is not None


def freshness(store: ViewStore, last_event: int, catch_up_seconds: float,
              now: datetime | None = None) -> Freshness:
    with store.reading() as cur:
        row = cur.one("SELECT (SELECT position FROM {p}positions "
                      "WHERE projection = 'handoff_views') AS position, "
                      "(SELECT succeeded_at FROM {p}runs WHERE job = 'views') AS caught_up_at")
    position = int(row["position"] or 0) if row else 0
    behind = max(0, last_event - position)
    caught_up_at = _parse(row["caught_up_at"]) if row else None
    if not behind or caught_up_at is None:
        return Freshness(behind, None)
    limit = timedelta(seconds=STALE_AFTER_INTERVALS * catch_up_seconds)
    stale = (now or _now()) - caught_up_at > limit
    return Freshness(behind, caught_up_at if stale else None)


def overdue(run: Run, interval_seconds: float, now: datetime | None = None) -> bool:
    """A periodic job has not succeeded for three of its intervals."""
    if run.succeeded_at is None:
        return False  # never ran here (e.g. no worker configured yet): nothing to compare
    limit = timedelta(seconds=STALE_AFTER_INTERVALS * interval_seconds)
    return (now or _now()) - run.succeeded_at > limit
