"""`make run` on the embedded default serves the case list of the demo network."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import urllib.request
from pathlib import Path

from domain.bootstrap import bootstrap
from domain.settings import PROJECT_ROOT, Settings
from tests.processes import wait_until
from workers.views.runner import ViewUpdater
from workers.views.store import ViewStore


def free_port(preferred: int) -> int:
    for port in (preferred, 0):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return s.getsockname()[1]
    raise RuntimeError("no free port")


def read_page(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.read().decode()
    except OSError:
        return None


def fresh_copy(target: Path) -> Path:
    """The tracked files as a fresh clone has them (no instance/ database), sharing the
    already installed virtual environment; file times are kept so make installs nothing."""
    files = subprocess.run(["git", "ls-files", "-z"], cwd=PROJECT_ROOT, check=True,
                           capture_output=True).stdout.decode().split("\0")
    for name in filter(None, files):
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(PROJECT_ROOT / name, target / name)
    (target / ".venv").symlink_to(PROJECT_ROOT / ".venv")
    return target


def test_make_run_serves_the_case_list_on_the_embedded_default(tmp_path: Path) -> None:
    project = fresh_copy(tmp_path / "project")
    port = free_port(5000)  # the README's port, unless something else holds it
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "NETWORK_DIR", "PERSISTENCE_MODULE")}
    process = subprocess.Popen(
        ["make", "run", f"PORT={port}"], cwd=project, env=env,
        stdout=(tmp_path / "out.log").open("w"), stderr=subprocess.STDOUT,
        start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}/"
        wait_until(lambda: process.poll() is not None or read_page(url) is not None, 90,
                   "make run to serve the case list", interval=0.3)
        assert process.poll() is None, "make run exited early"
        page = read_page(url) or ""
        assert "Fälle" in page
        assert "CB-" in page
        database = project / "instance" / "fallnetz.sqlite3"
        assert database.exists()
        # The embedded worker (no broker server) projects the demo's events.
        settings = Settings(database_url=f"sqlite:///{database}")
        engine = bootstrap(settings)
        updater = ViewUpdater(engine, ViewStore(settings))
        wait_until(lambda: updater.lag().behind == 0 and updater.position() > 0, 60,
                   "the embedded worker to catch the views up", interval=0.3)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
    log = (tmp_path / "out.log").read_text()
    assert "Demo network loaded" in log
