"""Real worker processes for the tests: a Celery worker (optionally with its beat) started
with the project's own command line, against the real Redis and the test's database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from domain.settings import PROJECT_ROOT

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/9")
CELERY = str(Path(sys.executable).parent / "celery")


def worker_env(database_url: str, instance: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POSTGRES_", "SQLITE_"))}
    env.update(DATABASE_URL=database_url, CELERY_BROKER_URL=REDIS_URL,
               INSTANCE_DIR=str(instance), PYTHONUNBUFFERED="1", **extra)
    return env


class Worker:
    def __init__(self, env: dict[str, str], log: Path, beat: bool = False,
                 name: str = "w1") -> None:
        command = [CELERY, "-A", "workers", "worker", "--pool", "solo", "--loglevel", "INFO",
                   "--without-gossip", "--without-mingle", "--without-heartbeat",
                   "-n", f"{name}@%h"]
        if beat:
            command.append("--beat")
        self.log = log
        self.process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env,
                                        stdout=log.open("a"), stderr=subprocess.STDOUT,
                                        start_new_session=True)

    def kill(self) -> None:
        """SIGKILL: no chance to finish the batch or to acknowledge anything."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


def wait_until(condition: Callable[[], bool], timeout: float, what: str,
               interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")
