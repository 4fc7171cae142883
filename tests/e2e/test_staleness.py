"""A stopped worker is said, never hidden: with the embedded worker stopped (not restarted)
and events waiting, the inbox says since when it is not updated and /health answers 503 with
the reason after three catch-up intervals; once the worker runs again, the normal page is
back. The worker is the real process (`python -m workers.embedded`)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

from flask import Flask

from domain.settings import PROJECT_ROOT, Settings
from testbed.processes import wait_until
from testbed.web import sign_in, web_world

CATCH_UP_SECONDS = 1.0
STALE = "nicht aktualisiert – die Hintergrundverarbeitung läuft nicht"
BEING_UPDATED = "wird gerade aktualisiert"


class EmbeddedWorker:
    def __init__(self, database_url: str, log: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("POSTGRES_", "SQLITE_"))}
        # The app of the test keeps its files (and the store's master key) beside the log.
        env.update(DATABASE_URL=database_url, INSTANCE_DIR=str(log.parent),
                   VIEW_CATCH_UP_SECONDS=str(CATCH_UP_SECONDS),
                   MAIL_SEND_SECONDS="3600", PYTHONUNBUFFERED="1", SMTP_PORT="1")
        self.process = subprocess.Popen([sys.executable, "-m", "workers.embedded"],
                                        cwd=PROJECT_ROOT, env=env, stdout=log.open("a"),
                                        stderr=subprocess.STDOUT, start_new_session=True)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=30)


def test_a_stopped_worker_shows_as_stale_on_the_inbox_and_in_health(tmp_path: Path) -> None:
    from web import create_app

    url = f"sqlite:///{tmp_path / 'events.sqlite3'}"
    app: Flask = create_app(Settings(database_url=url, secret_key="stale-" + "x" * 32,
                                     catch_up_seconds=CATCH_UP_SECONDS,
                                     instance_dir=str(tmp_path)),
                            config={"TESTING": True, "NUDGE_WORKERS": False})
    world = web_world(app)
    application = app.extensions["fallnetz.application"]
    nadia = sign_in(app, "nadia")
    health = app.test_client()

    def inbox() -> str:
        return nadia.get("/eingang").get_data(as_text=True)

    def caught_up() -> bool:
        page = inbox()
        return STALE not in page and BEING_UPDATED not in page

    worker = EmbeddedWorker(url, tmp_path / "worker.log")
    try:
        wait_until(caught_up, 60, "the worker to catch the views up", interval=0.2)
        assert health.get("/health").status_code == 200
    finally:
        worker.stop()

    # Events wait while no worker runs: "being updated" at first, stale after 3 intervals.
    case_id = world.open_case()
    world.consent(case_id)
    world.send(case_id, urgency="crisis")
    wait_until(lambda: STALE in inbox(), 30, "the inbox to say the views are stale",
               interval=0.2)
    page = inbox()
    since = re.search(r"seit (\d\d\.\d\d\.\d{4} \d\d:\d\d) nicht aktualisiert", page)
    assert since, page
    assert "Bitte die Administration informieren" in page and BEING_UPDATED not in page
    full = health.get("/health")
    assert full.status_code == 503
    views = full.json["checks"]["views"]
    assert views["ok"] is False and views["behind"] > 0
    assert "background processing is not running" in views["reason"]
    assert views["stale_since"]
    assert full.json["checks"]["jobs"]["views"]["overdue"] is True
    api = nadia.get("/api/v1/inbox")
    assert api.headers["X-Views-Stale-Since"] and int(api.headers["X-Views-Behind"]) > 0
    coordinator = sign_in(app, "katrin")
    directory = coordinator.get("/koordination/eskalationen").get_data(as_text=True)
    assert "Hintergrundverarbeitung" in directory and "läuft nicht" in directory

    # The worker runs again: the normal page and a healthy /health are back.
    worker = EmbeddedWorker(url, tmp_path / "worker.log")
    try:
        wait_until(caught_up, 60, "the restarted worker to catch up", interval=0.2)
        assert application.recorder.max_notification_id()
        wait_until(lambda: health.get("/health").status_code == 200, 30,
                   "/health to answer 200 again", interval=0.2)
    finally:
        worker.stop()
    log = (tmp_path / "worker.log").read_text()
    assert log.count("embedded worker started") == 2
    assert log.count("embedded worker stopped") == 2
