"""The embedded default's worker: the four jobs of :mod:`workers.jobs` in one loop of one
process, with no broker at all (``python -m workers.embedded``; ``make run`` starts it under
its supervisor).

Why no broker: the jobs already pull everything they do from the event store, so a broker
would only carry nudges. Instead of nudges, the loop looks at the notification log's last
id a few times a second (one indexed read) and catches the views up when it moved; the
escalation scan, mail and webhooks run on the beat intervals of the settings. Nothing is
held anywhere but in the database, so a crash or a kill loses nothing, and there is no
message file to be half-written or half-read. Production keeps Celery with Redis, where
workers on several hosts share the work.

Every network of the installation gets a loop of its own, in a thread of its own, so a slow
or broken network holds up none of the others; the registry is looked at every few seconds
and a network added or disabled gets or loses its loop without a restart."""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from domain.settings import Settings
from workers.jobs import Jobs
from runtime.logs import configure_logging

log = logging.getLogger("workers.embedded")

POLL_SECONDS = 0.5  # how often the notification log's last id is looked at
FAILURE_PAUSE_SECONDS = (1, 2, 5, 10, 30)  # a failing job waits longer each time


@dataclass
class Schedule:
    """One job's timetable: when it is due next and how often it failed in a row."""

    name: str
    interval: float
    run: Callable[[], Any]
    due: float = 0.0
    failures: int = 0


class EmbeddedWorker:
    def __init__(self, jobs: Jobs, poll_seconds: float = POLL_SECONDS) -> None:
        self.jobs = jobs
        self.poll_seconds = poll_seconds
        self.stopping = threading.Event()
        s = jobs.settings
        self.views = Schedule("views", s.catch_up_seconds, jobs.catch_up_views)
        self.scan = Schedule("escalation_scan", s.scan_seconds, jobs.scan_escalations)
        self.mail = Schedule("mail", s.mail_seconds, jobs.send_notifications)
        self.webhooks = Schedule("webhooks", s.webhook_seconds, jobs.deliver_webhooks)
        self.schedules = (self.views, self.scan, self.mail, self.webhooks)
        self.last_seen: int | None = None

    def run(self) -> None:
        log.info("embedded worker started (catch-up %ss, scan %ss, mail %ss, webhooks %ss)",
                 self.views.interval, self.scan.interval, self.mail.interval,
                 self.webhooks.interval)
        while not self.stopping.is_set():
            self.tick()
            self.stopping.wait(self.poll_seconds)
        log.info("embedded worker stopped")

    def tick(self) -> None:
        if self._log_moved():
            self.views.due = min(self.views.due, time.monotonic())
        for schedule in self.schedules:
            if self.stopping.is_set():
                return
            if time.monotonic() >= schedule.due:
                self._run(schedule)

    def _log_moved(self) -> bool:
        try:
            last = self.jobs.application.recorder.max_notification_id() or 0
        except Exception as error:  # the database is away: the jobs will say so too
            log.warning("cannot read the notification log (%s)", type(error).__name__)
            return False
        moved = last != self.last_seen
        self.last_seen = last
        return moved

    def _run(self, schedule: Schedule) -> None:
        started = time.monotonic()
        try:
            result = schedule.run()
        except Exception as error:
            pause = FAILURE_PAUSE_SECONDS[min(schedule.failures,
                                              len(FAILURE_PAUSE_SECONDS) - 1)]
            schedule.failures += 1
            schedule.due = time.monotonic() + pause
            # The error's type only: a message could quote stored data.
            log.error("%s failed (%s, %d in a row); next try in %ss", schedule.name,
                      type(error).__name__, schedule.failures, pause)
            return
        schedule.failures = 0
        schedule.due = started + schedule.interval
        self._follow_up(schedule, result)

    def _follow_up(self, schedule: Schedule, result: Any) -> None:
        """What the Celery tasks start by a message, started here by making it due now."""
        now = time.monotonic()
        if schedule is self.views and result:
            self.webhooks.due = min(self.webhooks.due, now)  # status changes to deliver
        elif schedule is self.scan and result:
            self.mail.due = min(self.mail.due, now)  # escalations to mail


class InstallationWorker:
    """A loop per enabled network (its jobs built on first success: a network whose store
    cannot be opened is tried again, with growing pauses, while the others run)."""

    def __init__(self, networks: Callable[[], list[str]],
                 jobs: Callable[[str], Jobs | None],
                 poll_seconds: float = POLL_SECONDS) -> None:
        self.networks = networks
        self.jobs = jobs
        self.poll_seconds = poll_seconds
        self.stopping = threading.Event()
        self.loops: dict[str, tuple[threading.Thread, threading.Event]] = {}

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                wanted = set(self.networks())
            except Exception as error:  # the installation's database is away
                log.warning("cannot read the registry of networks (%s)", type(error).__name__)
                wanted = set(self.loops)
            for slug in wanted - set(self.loops):
                stop = threading.Event()
                thread = threading.Thread(target=self._serve, args=(slug, stop),
                                          name=f"network-{slug}", daemon=True)
                self.loops[slug] = (thread, stop)
                thread.start()
            for slug in set(self.loops) - wanted:
                log.info("network %s: no longer served", slug)
                self.loops.pop(slug)[1].set()
            self.stopping.wait(2.0)
        for thread, stop in self.loops.values():
            stop.set()
        for thread, _stop in self.loops.values():
            thread.join(timeout=60)
        log.info("embedded worker stopped")

    def _serve(self, slug: str, stop: threading.Event) -> None:
        failures = 0
        while not (stop.is_set() or self.stopping.is_set()):
            try:
                jobs = self.jobs(slug)
            except Exception as error:  # its store cannot be opened: the others go on
                pause = FAILURE_PAUSE_SECONDS[min(failures, len(FAILURE_PAUSE_SECONDS) - 1)]
                failures += 1
                log.error("network %s: cannot be served (%s); next try in %ss", slug,
                          type(error).__name__, pause)
                stop.wait(pause)
                continue
            if jobs is None:
                return
            worker = EmbeddedWorker(jobs, self.poll_seconds)
            worker.stopping = self.stopping  # a signal stops every network's loop
            log.info("network %s: served", slug)
            while not (stop.is_set() or self.stopping.is_set()):
                worker.tick()
                stop.wait(self.poll_seconds)
            return


def main() -> None:
    from workers import context

    settings = Settings.from_env()
    configure_logging(settings.log_format, settings.log_level)
    worker = InstallationWorker(context.networks, context.jobs)
    log.info("embedded worker started (catch-up %ss, scan %ss, mail %ss, webhooks %ss)",
             settings.catch_up_seconds, settings.scan_seconds, settings.mail_seconds,
             settings.webhook_seconds)

    def stop(signum: int, _frame: Any) -> None:
        log.info("signal %s: stopping after the current job", signal.Signals(signum).name)
        worker.stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    worker.run()


if __name__ == "__main__":
    main()
