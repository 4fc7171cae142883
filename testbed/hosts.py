"""Hosts for the tests, made of Linux network namespaces: each host is a namespace with its
loopback and one address on a private LAN, a bridge in the first host (the hub) joined to
every other host by a veth pair. Nothing of the LAN is in the root namespace: the test
reaches a host only by running a command in it (``ip netns exec``), as an operator would
log in to it, so every connection between the processes crosses the LAN.

Needs root (``ip netns``); made and removed by the test itself. ``Lan.close()`` ends every
process in the hosts, deletes the namespaces and the run's folder (``Lan.folder``, where
the servers keep their files); a later run removes what a run killed before its cleanup
left behind (the names carry the owner's process id).

``python -m testbed.hosts smtp-sink ADDRESS PORT FOLDER`` is a mail server for a host:
every message it receives is written to FOLDER, one file each."""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from domain.settings import PROJECT_ROOT
from testbed.processes import CELERY, PG_BIN, PrivatePostgres, Worker, wait_until

PREFIX = "fn-"  # every namespace of these tests: fn-<host>-<owner pid>-<run>
NAME = re.compile(rf"^{PREFIX}[a-z0-9]+-(\d+)-[0-9a-f]+$")
FOLDER = re.compile(rf"^{PREFIX}(\d+)-[0-9a-f]+$")  # a run's folder: fn-<owner pid>-<run>
BRIDGE = "br0"
PYTHON = sys.executable


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], check=check, capture_output=True, text=True,
                          timeout=30)


def namespaces() -> list[str]:
    return [line.split()[0] for line in ip("netns", "list").stdout.splitlines() if line]


class Host:
    """One namespace: a machine of the LAN with one address."""

    def __init__(self, role: str, namespace: str, address: str) -> None:
        self.role = role
        self.namespace = namespace
        self.address = address

    def __repr__(self) -> str:
        return f"<host {self.role} {self.address} ({self.namespace})>"

    def command(self, args: Sequence[str]) -> list[str]:
        return ["ip", "netns", "exec", self.namespace, *args]

    def run(self, args: Sequence[str], *, env: dict[str, str] | None = None,
            timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess[str]:
        """A command in this host, to its end; a failure says what the command wrote."""
        done = subprocess.run(self.command(args), cwd=PROJECT_ROOT, env=env, text=True,
                              capture_output=True, timeout=timeout)
        if check and done.returncode != 0:
            raise AssertionError(f"{self.role}: {' '.join(args)} exited {done.returncode}:\n"
                                 f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
        return done

    def spawn(self, args: Sequence[str], log: Path, *,
              env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        """A long-running process in this host, in a process group of its own (``ip netns
        exec`` execs the command, so the group's id is the process's)."""
        with log.open("ab") as out:
            return subprocess.Popen(self.command(args), cwd=PROJECT_ROOT, env=env,
                                    stdout=out, stderr=subprocess.STDOUT,
                                    start_new_session=True)

    def reaches(self, address: str, port: int) -> bool:
        """Whether a TCP connection from this host to ``address:port`` is accepted."""
        return self.run(["bash", "-c", f"exec 3<>/dev/tcp/{address}/{port}"], timeout=10,
                        check=False).returncode == 0

    def pids(self) -> list[int]:
        done = ip("netns", "pids", self.namespace, check=False)
        return [int(pid) for pid in done.stdout.split()]

    def kill_all(self, grace: float = 10) -> None:
        """Ends every process in this host: SIGTERM first (a PostgreSQL server then removes
        its shared memory), SIGKILL to what is left after ``grace`` seconds."""
        def signal_all(number: int) -> bool:
            pids = self.pids()
            for pid in pids:
                try:
                    os.kill(pid, number)
                except ProcessLookupError:
                    pass
            return not pids
        if signal_all(signal.SIGTERM):
            return
        try:
            wait_until(lambda: not self.pids(), grace, "SIGTERM to end them", interval=0.1)
        except AssertionError:
            wait_until(lambda: signal_all(signal.SIGKILL), 30,
                       f"the processes of {self.role} to end", interval=0.1)


class Lan:
    """Hosts on one private /24: the first (the hub) holds the bridge, every other one is
    joined to it by a veth pair. ``with Lan("db", "w1", "w2") as lan: lan["w1"].run(…)``."""

    def __init__(self, *roles: str) -> None:
        assert len(roles) >= 2 and all(re.fullmatch(r"[a-z0-9]+", r) for r in roles)
        if os.geteuid() != 0:
            raise RuntimeError("hosts of network namespaces need root (ip netns)")
        remove_stale()
        run = secrets.token_hex(3)
        # A subnet of its own per run, although the namespaces keep each run's LAN apart
        # anyway: a reader of `ip netns exec … ip addr` can tell two runs apart.
        self.subnet = f"10.213.{secrets.randbelow(250) + 1}"
        self.hosts = [Host(role, f"{PREFIX}{role}-{os.getpid()}-{run}",
                           f"{self.subnet}.{i + 1}") for i, role in enumerate(roles)]
        # Under /tmp, open to the servers' users (pytest's tmp_path is not).
        self.folder = Path(tempfile.gettempdir()) / f"{PREFIX}{os.getpid()}-{run}"
        self.folder.mkdir()
        self.folder.chmod(0o755)
        try:
            self._build()
        except BaseException:
            self.close()
            raise

    def __getitem__(self, role: str) -> Host:
        return next(host for host in self.hosts if host.role == role)

    def __enter__(self) -> Lan:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _build(self) -> None:
        hub, *others = self.hosts
        for host in self.hosts:
            ip("netns", "add", host.namespace)
            ip("-n", host.namespace, "link", "set", "lo", "up")
        ip("-n", hub.namespace, "link", "add", BRIDGE, "type", "bridge")
        ip("-n", hub.namespace, "addr", "add", f"{hub.address}/24", "dev", BRIDGE)
        ip("-n", hub.namespace, "link", "set", BRIDGE, "up")
        for host in others:
            # Made in the hub with its peer straight in the host: no end is ever in the
            # root namespace.
            port = f"to-{host.role}"
            ip("-n", hub.namespace, "link", "add", port, "type", "veth", "peer", "name",
               "eth0", "netns", host.namespace)
            ip("-n", hub.namespace, "link", "set", port, "master", BRIDGE, "up")
            ip("-n", host.namespace, "addr", "add", f"{host.address}/24", "dev", "eth0")
            ip("-n", host.namespace, "link", "set", "eth0", "up")
        for host in others:
            wait_until(lambda: _link_up(host), 30, f"{host.role}'s link to come up")

    def close(self) -> None:
        """Every process of every host ended, every namespace (with its veth ends and the
        bridge) deleted, the run's folder removed. Safe to call twice and after a half-made
        LAN."""
        errors = []
        for host in self.hosts:
            if host.namespace not in namespaces():
                continue
            try:
                host.kill_all()
            except AssertionError as error:
                errors.append(str(error))
            # Deleting a namespace destroys its interfaces, and with one end of a veth
            # pair the other.
            ip("netns", "delete", host.namespace, check=False)
        shutil.rmtree(self.folder, ignore_errors=True)
        left = [host.namespace for host in self.hosts if host.namespace in namespaces()]
        assert not left and not errors, f"hosts left behind: {left} {errors}"


def _link_up(host: Host) -> bool:
    return "LOWER_UP" in ip("-n", host.namespace, "-o", "link", "show", "eth0").stdout


def remove_stale() -> None:
    """The namespaces, with their processes, and the folders of runs whose process is gone
    (killed before their cleanup)."""
    for namespace in namespaces():
        found = NAME.match(namespace)
        if found and not _alive(int(found.group(1))):
            Host("stale", namespace, "").kill_all()
            ip("netns", "delete", namespace, check=False)
    for folder in Path(tempfile.gettempdir()).iterdir():
        found = FOLDER.match(folder.name)
        if found and folder.is_dir() and not _alive(int(found.group(1))):
            shutil.rmtree(folder, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


# -- servers and workers in a host ------------------------------------------------------------
PG_PORT = 5432  # each host has its own ports: the usual ones are free


class HostPostgres(PrivatePostgres):
    """:class:`testbed.processes.PrivatePostgres` run in a host, in ``folder`` (made here),
    listening on the host's LAN address and trusting the LAN (initdb trusts the loopback
    only)."""

    def __init__(self, host: Host, folder: Path) -> None:
        self.host = host
        self.folder = folder
        folder.mkdir()
        shutil.chown(folder, "postgres", "postgres")
        self.data = folder / "data"
        self.port = PG_PORT
        self.url = f"postgresql://postgres@{host.address}:{PG_PORT}/postgres"
        self._as_postgres([str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust",
                           "-U", "postgres", "--no-sync"])
        self.start()

    def _as_postgres(self, command: list[str]) -> None:
        subprocess.run(self.host.command(["runuser", "-u", "postgres", "--", *command]),
                       check=True, capture_output=True, cwd=self.folder, timeout=120)

    def start(self) -> None:
        hba = self.data / "pg_hba.conf"
        subnet = self.host.address.rsplit(".", 1)[0] + ".0/24"
        if subnet not in hba.read_text():
            with hba.open("a") as f:
                f.write(f"host all all {subnet} trust\n")
        self._ctl("-o", f"-p {PG_PORT} -k {self.folder} -c listen_addresses="
                        f"{self.host.address} -c fsync=off", "start")

    def psql(self, sql: str, from_host: Host | None = None) -> list[list[str]]:
        """The rows of ``sql`` (run by psql in ``from_host``, by default the server's),
        each a list of its columns as text."""
        done = (from_host or self.host).run(
            [str(PG_BIN / "psql"), "-h", self.host.address, "-p", str(PG_PORT), "-U",
             "postgres", "-d", "postgres", "-X", "-q", "-At", "-F", "\t", "-v",
             "ON_ERROR_STOP=1", "-c", sql], timeout=30)
        return [line.split("\t") for line in done.stdout.splitlines() if line]


class HostRedis:
    """A Redis server in a host, on its LAN address, keeping nothing on disk."""

    PORT = 6379

    def __init__(self, host: Host, folder: Path, log: Path) -> None:
        self.host = host
        self.url = f"redis://{host.address}:{self.PORT}/0"
        self.folder = folder
        folder.mkdir()
        self.process = host.spawn(
            [shutil.which("redis-server") or "redis-server", "--bind", host.address,
             "--port", str(self.PORT), "--protected-mode", "no", "--save", "",
             "--appendonly", "no", "--dir", str(self.folder)], log)
        wait_until(lambda: host.run(["redis-cli", "-h", host.address, "-p", str(self.PORT),
                                     "ping"], check=False).stdout.strip() == "PONG",
                   30, "Redis to answer")

    def remove(self) -> None:
        _end(self.process)
        shutil.rmtree(self.folder, ignore_errors=True)


class HostMailSink:
    """An SMTP server in a host that keeps every message as a file (``messages()``)."""

    PORT = 2525

    def __init__(self, host: Host, folder: Path, log: Path) -> None:
        self.host = host
        self.folder = folder
        folder.mkdir()
        self.process = host.spawn([PYTHON, "-m", "testbed.hosts", "smtp-sink", host.address,
                                   str(self.PORT), str(self.folder)], log)
        wait_until(lambda: (self.folder / "ready").exists() or self.process.poll() is not None,
                   60, "the mail sink to listen")
        assert self.process.poll() is None, log.read_text()

    def messages(self) -> list[bytes]:
        return [path.read_bytes() for path in sorted(self.folder.glob("*.eml"))]

    def remove(self) -> None:
        _end(self.process)
        shutil.rmtree(self.folder, ignore_errors=True)


class HostWorker(Worker):
    """:class:`testbed.processes.Worker` run in a host, without a beat (the installation's
    one beat is a process of its own: ``celery -A workers beat``)."""

    def __init__(self, host: Host, env: dict[str, str], log: Path, name: str) -> None:
        # The command line of Worker, which starts its process itself (in this namespace).
        self.host = host
        self.log = log
        self.process = host.spawn(
            [CELERY, "-A", "workers", "worker", "--pool", "solo", "--loglevel", "INFO",
             "--without-gossip", "--without-mingle", "--without-heartbeat", "-n",
             f"{name}@%h"], log, env=env)

    def wait_ready(self, timeout: float = 120) -> None:
        def ready() -> bool:
            assert self.process.poll() is None, self.log.read_text()[-3000:]
            return " ready." in self.log.read_text()
        wait_until(ready, timeout, f"the worker in {self.host.role} to be ready", interval=0.2)


def _end(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


# -- the mail sink's process ------------------------------------------------------------------
def _smtp_sink(address: str, port: int, folder: Path) -> None:
    import itertools
    import threading

    from aiosmtpd.controller import Controller

    numbers = itertools.count(1)

    class Keep:
        async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
            number = next(numbers)
            # Written aside, then renamed: a reader never sees half a message.
            part = folder / f"{number:06d}.part"
            part.write_bytes(envelope.content)
            part.rename(folder / f"{number:06d}.eml")
            return "250 OK"

    controller = Controller(Keep(), hostname=address, port=port)
    controller.start()
    (folder / "ready").touch()
    threading.Event().wait()  # until killed


if __name__ == "__main__":
    if sys.argv[1:2] == ["smtp-sink"] and len(sys.argv) == 5:
        _smtp_sink(sys.argv[2], int(sys.argv[3]), Path(sys.argv[4]))
    else:
        sys.exit("usage: python -m testbed.hosts smtp-sink ADDRESS PORT FOLDER")
