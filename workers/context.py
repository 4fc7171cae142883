"""The worker process's jobs (engine, view store, settings), built once per process from the
environment's settings."""

from __future__ import annotations

from functools import lru_cache

from domain.bootstrap import bootstrap
from domain.settings import Settings
from workers.jobs import Jobs
from readmodel.runner import ViewUpdater
from readmodel.store import ViewStore


@lru_cache(maxsize=1)
def settings() -> Settings:
    return Settings.from_env()


def build_jobs(settings: Settings) -> Jobs:
    engine = bootstrap(settings)
    updater = ViewUpdater(engine, ViewStore(settings), batch_size=settings.view_batch_size)
    return Jobs(engine, updater, settings)


@lru_cache(maxsize=1)
def jobs() -> Jobs:
    return build_jobs(settings())
