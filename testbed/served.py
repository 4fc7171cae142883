"""The web app of a test network served in a thread of the test, for the browser tests that
need no worker processes: a fresh SQLite store, the test world signed up, the views caught
up by the test itself."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flask import Flask
from werkzeug.serving import make_server

from domain.settings import Settings
from readmodel.runner import ViewUpdater
from readmodel.store import ViewStore
from testbed.processes import free_port
from testbed.web import web_world
from testbed.world import World
from web import create_app


@contextmanager
def served_world(tmp_path: Path, name: str) -> Iterator[tuple[Flask, World, ViewUpdater]]:
    """The app, its world and the views' updater, before serving (to set things up)."""
    settings = Settings(database_url=f"sqlite:///{tmp_path / f'{name}.sqlite3'}",
                        secret_key=f"{name}-" + "x" * 32,
                        erasure_ledger=str(tmp_path / "erasures.ledger"))
    app = create_app(settings, config={"NUDGE_WORKERS": False})
    world = web_world(app)
    try:
        yield app, world, ViewUpdater(world.application, ViewStore(settings))
    finally:
        world.application.close()


@contextmanager
def serving(app: Flask) -> Iterator[str]:
    """The app on a free port of this host, until the block ends; its base URL."""
    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
