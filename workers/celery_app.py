"""The Celery application: JSON only, late acknowledgement for the idempotent tasks, an
explicit visibility timeout, and the beat schedule of the catch-up, scan and mail tasks."""

from __future__ import annotations

from typing import Any

from celery import Celery, signals

from domain.settings import Settings
from runtime.nudge import CATCH_UP_TASK
from runtime.logs import configure_logging, correlation_id

VISIBILITY_TIMEOUT = 3600  # seconds; no task is scheduled further ahead than this


def broker_options(settings: Settings) -> tuple[str, dict]:
    """The broker and its transport options. Celery runs only with a broker server
    (``CELERY_BROKER_URL``); the embedded default runs the same jobs without one
    (:mod:`workers.embedded`), so without a URL nothing here connects anywhere."""
    if not settings.broker_url:
        return "memory://", {}
    return settings.broker_url, {"visibility_timeout": VISIBILITY_TIMEOUT}


def create_celery(settings: Settings | None = None) -> Celery:
    settings = settings or Settings.from_env()
    broker, transport_options = broker_options(settings)
    celery = Celery("fallnetz", include=["workers.tasks"])
    if settings.log_format == "json":
        _log_as_json(settings)
    if not settings.broker_url:
        signals.worker_init.connect(_refuse_without_broker, weak=False)
        signals.beat_init.connect(_refuse_without_broker, weak=False)
    celery.conf.update(
        broker_url=broker,
        broker_transport_options=transport_options,
        broker_connection_timeout=3,
        broker_connection_retry_on_startup=True,
        task_serializer="json",
        accept_content=["json"],
        result_serializer="json",
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        timezone="UTC",
        # The schedule is a few intervals of seconds: nothing worth a file that a killed
        # beat could leave half-written.
        beat_scheduler="celery.beat:Scheduler",
        beat_schedule={
            "catch-up-views": {"task": CATCH_UP_TASK,
                               "schedule": settings.catch_up_seconds},
            "scan-escalations": {"task": "fallnetz.scan_escalations",
                                 "schedule": settings.scan_seconds},
            "send-notifications": {"task": "fallnetz.send_notifications",
                                   "schedule": settings.mail_seconds},
            "deliver-webhooks": {"task": "fallnetz.deliver_webhooks",
                                 "schedule": settings.webhook_seconds},
        },
    )
    return celery


def _refuse_without_broker(**_kwargs: Any) -> None:
    raise SystemExit("CELERY_BROKER_URL is not set. Celery needs a broker server (e.g. "
                     "redis://127.0.0.1:6379/0); without one, run the embedded worker: "
                     "python -m workers.embedded")


def _log_as_json(settings: Settings) -> None:
    """Celery leaves the logging to us once someone listens to ``setup_logging``; every line
    of a task then carries the task's id as its correlation id."""

    def setup(**_kwargs: Any) -> None:
        configure_logging("json", settings.log_level)

    def task_started(task_id: str | None = None, **_kwargs: Any) -> None:
        correlation_id.set(task_id)

    def task_done(**_kwargs: Any) -> None:
        correlation_id.set(None)

    signals.setup_logging.connect(setup, weak=False)
    signals.task_prerun.connect(task_started, weak=False)
    signals.task_postrun.connect(task_done, weak=False)
