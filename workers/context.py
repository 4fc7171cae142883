"""The worker process's jobs, built once per process by the composition root from the
environment's settings; the Celery app (workers/tasks.py) is configured from the same
settings object."""

from __future__ import annotations

from functools import lru_cache

from domain.settings import Settings
from readmodel.runner import ViewUpdater
from runtime.bootstrap import bootstrap
from workers.jobs import Jobs


@lru_cache(maxsize=1)
def settings() -> Settings:
    return Settings.from_env()


def build_jobs(settings: Settings) -> Jobs:
    # No nudge: a worker catches the views up itself after the commands it issues.
    system = bootstrap(settings, nudge=None)
    updater = ViewUpdater(system.application, system.read_store,
                          batch_size=settings.view_batch_size)
    return Jobs(system.application, updater, settings)


@lru_cache(maxsize=1)
def jobs() -> Jobs:
    return build_jobs(settings())
