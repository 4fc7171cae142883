"""Fixtures: the network configuration, an application per database backend, and the Flask
``app``, ``client`` and ``runner``."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from domain.application import ReferralNetwork
from runtime.bootstrap import bootstrap
from domain.network import NetworkConfig, load_network
from domain.settings import PROJECT_ROOT, Settings
from testbed.world import World
from readmodel.runner import ViewUpdater
from readmodel.store import ViewStore

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture(scope="session")
def network() -> NetworkConfig:
    return load_network(PROJECT_ROOT / "networks" / "cottbus")


@pytest.fixture
def postgres_schema() -> Iterator[str]:
    """A fresh schema in the test database, dropped afterwards."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_URL.split("?")[0], autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    yield schema
    with psycopg.connect(POSTGRES_URL.split("?")[0], autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def database_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest,
                 **options: str) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'events.sqlite3'}"
    schema = request.getfixturevalue("postgres_schema")
    query = "&".join(f"{k}={v}" for k, v in {"schema": schema, **options}.items())
    return f"{POSTGRES_URL}?{query}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def application(backend: str, tmp_path: Path, request: pytest.FixtureRequest,
           network: NetworkConfig) -> Iterator[ReferralNetwork]:
    application = bootstrap(Settings(database_url=database_url(backend, tmp_path, request)),
                    network=network).application
    yield application
    application.close()


@pytest.fixture
def world(application: ReferralNetwork) -> World:
    return World.build(application)


@pytest.fixture
def app(tmp_path: Path, network: NetworkConfig):  # type: ignore[no-untyped-def]
    from web import create_app

    settings = Settings(database_url=f"sqlite:///{tmp_path / 'web.sqlite3'}",
                        secret_key="test-secret")
    flask_app = create_app(settings, config={"TESTING": True, "NUDGE_WORKERS": False})
    yield flask_app
    flask_app.extensions["fallnetz.application"].close()


@pytest.fixture
def web_app(application: ReferralNetwork, settings: Settings):  # type: ignore[no-untyped-def]
    """The web app on the ``application`` of each database backend."""
    from web import create_app

    return create_app(Settings(database_url=settings.database_url, secret_key="test-secret"),
                      application=application, config={"TESTING": True, "NUDGE_WORKERS": False})


@pytest.fixture
def client(app):  # type: ignore[no-untyped-def]
    return app.test_client()


@pytest.fixture
def runner(app):  # type: ignore[no-untyped-def]
    return app.test_cli_runner()


@pytest.fixture
def settings(application: ReferralNetwork) -> Settings:
    env = application.env
    if env["PERSISTENCE_MODULE"].endswith("sqlite"):
        return Settings(database_url=f"sqlite:///{env['SQLITE_DBNAME']}")
    return Settings(database_url=f"postgresql://{env['POSTGRES_USER']}@{env['POSTGRES_HOST']}:"
                                 f"{env['POSTGRES_PORT']}/{env['POSTGRES_DBNAME']}"
                                 f"?schema={env['POSTGRES_SCHEMA']}")


@pytest.fixture
def updater(application: ReferralNetwork, settings: Settings) -> ViewUpdater:
    return ViewUpdater(application, ViewStore(settings), batch_size=50)


# -- the checkout stays clean ----------------------------------------------------------------
# Every file a run makes belongs under instance/ (or a test's tmp_path); `make test` fails when
# the suite left anything that `git status` would show.

def _git_status() -> set[str] | None:
    import subprocess

    try:
        done = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"],
                              cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return set(done.stdout.splitlines()) if done.returncode == 0 else None


def pytest_sessionstart(session: pytest.Session) -> None:
    session.config.stash[_STATUS_BEFORE] = _git_status()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    before = session.config.stash.get(_STATUS_BEFORE, None)
    after = _git_status()
    if before is None or after is None or getattr(session.config, "workerinput", None):
        return  # not a git checkout
    left = sorted(after - before)
    if left:
        session.config.stash[_LEFT_BEHIND] = left
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # type: ignore[no-untyped-def]
    left = config.stash.get(_LEFT_BEHIND, None)
    if left:
        terminalreporter.section("the suite left files in the checkout", red=True)
        for line in left:
            terminalreporter.line(line)


_STATUS_BEFORE = pytest.StashKey[set[str] | None]()
_LEFT_BEHIND = pytest.StashKey[list[str]]()
