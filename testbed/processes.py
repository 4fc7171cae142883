"""Real worker processes for the tests: a Celery worker (optionally with its beat) started
with the project's own command line, against the real Redis and the test's database."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from domain.settings import PROJECT_ROOT, Settings

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/9")
CELERY = str(Path(sys.executable).parent / "celery")


def same_master_key() -> dict[str, str]:
    """For a process with an instance folder of its own that reads a store this process
    wrote: the master key this process used (the checkout's instance/master.key)."""
    settings = Settings()
    settings.derived_key("event store")  # made on first use
    return {"MASTER_KEY_FILE": str(settings.instance_path / "master.key")}


def worker_env(database_url: str, instance: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POSTGRES_", "SQLITE_"))}
    env.update(DATABASE_URL=database_url, CELERY_BROKER_URL=REDIS_URL,
               INSTANCE_DIR=str(instance), PYTHONUNBUFFERED="1", **same_master_key(),
               **extra)
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


def debian_program(program: str) -> str:
    """A program from Debian's packages, which the Makefile installs for `make test` and
    `make bench` (a test never installs anything)."""
    found = shutil.which(program)
    if not found:
        raise RuntimeError(f"{program} is missing: `make test` installs it from Debian's "
                           f"packages (apt-get install {program})")
    return found


def wait_until(condition: Callable[[], bool], timeout: float, what: str,
               interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


PG_BIN = Path("/usr/lib/postgresql/15/bin")
START_SCRIPT = PROJECT_ROOT / "deploy" / "start.sh"


def free_port(preferred: int = 0) -> int:
    """``preferred`` if it is free (e.g. the README's port), else any free one."""
    import socket

    for port in (preferred, 0) if preferred else (0,):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return s.getsockname()[1]
    raise RuntimeError("no free port")


class PrivatePostgres:
    """A PostgreSQL cluster of the test's own, to stop and start without disturbing the
    shared server. PostgreSQL refuses to run as root, so it runs as the ``postgres`` user in
    a folder of its own under /tmp (pytest's tmp_path is closed to other users)."""

    def __init__(self) -> None:
        import shutil
        import tempfile

        self.folder = Path(tempfile.mkdtemp(prefix="fallnetz-pg-"))
        shutil.chown(self.folder, "postgres", "postgres")
        self.data = self.folder / "data"
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self._as_postgres([str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust",
                           "-U", "postgres", "--no-sync"])
        self.start()

    def _as_postgres(self, command: list[str]) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", *command], check=True,
                       capture_output=True, cwd=self.folder)

    def _ctl(self, *args: str) -> None:
        self._as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-w",
                           "-l", str(self.folder / "server.log"), *args])

    def start(self) -> None:
        self._ctl("-o", f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 "
                        "-c fsync=off", "start")

    def stop(self, mode: str = "fast") -> None:
        """``fast``: the server ends every session, as on an operator's restart."""
        self._ctl("-m", mode, "stop")

    def remove(self) -> None:
        import shutil

        try:
            self.stop("immediate")
        except subprocess.CalledProcessError:
            pass  # already stopped
        shutil.rmtree(self.folder, ignore_errors=True)


@contextmanager
def gunicorn(env: dict[str, str], log: Path) -> Iterator[str]:
    """The web under gunicorn with the production configuration on a free port of its own;
    yields its base URL once it serves, and stops it afterwards."""
    import urllib.request

    port = free_port()
    env = {**env, "GUNICORN_BIND": f"127.0.0.1:{port}"}
    server = subprocess.Popen([str(Path(sys.executable).parent / "gunicorn"), "-c",
                               "deploy/gunicorn.conf.py", "web.wsgi:app"], cwd=PROJECT_ROOT,
                              env=env, start_new_session=True, stdout=log.open("w"),
                              stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"

    def serving() -> bool:
        assert server.poll() is None, log.read_text()
        try:
            with urllib.request.urlopen(base + "/health/live", timeout=5):
                return True
        except OSError:
            return False
    try:
        wait_until(serving, 60, "gunicorn to serve", interval=0.2)
        yield base
    finally:
        if server.poll() is None:
            server.terminate()
        server.wait(timeout=30)


class ProductionStack:
    """``deploy/start.sh``: gunicorn, a Celery worker and the beat, as in production, all in
    one process group of their own."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log
        env = {**env, "GUNICORN_BIND": f"127.0.0.1:{self.port}",
               "FALLNETZ_BIN": str(Path(sys.executable).parent)}
        self.process = subprocess.Popen([str(START_SCRIPT)], cwd=PROJECT_ROOT, env=env,
                                        stdout=log.open("a"), stderr=subprocess.STDOUT,
                                        start_new_session=True)

    def wait_ready(self, timeout: float = 60) -> None:
        import urllib.request

        def ready() -> bool:
            assert self.process.poll() is None, self.log.read_text()
            try:
                with urllib.request.urlopen(f"{self.base}/health/ready", timeout=5) as r:
                    return r.status == 200
            except OSError:
                return False
        wait_until(ready, timeout, "the web to be ready")

    def stop(self, timeout: float = 60) -> int:
        """SIGTERM to the script, which stops its three processes; their exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        finally:
            wait_until(lambda: not self.group_alive(), timeout, "every process to end")

    def group_alive(self) -> bool:
        try:
            os.killpg(self.process.pid, 0)
        except ProcessLookupError:
            return False
        return True

    def kill(self) -> None:
        if self.group_alive():
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
