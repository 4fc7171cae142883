"""The web: requests/s and p50/p99 latency of the inbox page and of posting the referral
form, under gunicorn (deploy/gunicorn.conf.py) with 16 concurrent clients driven by wrk,
against a bare Flask app (bench/bare_web.py) under the same configuration."""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench import config
from runtime.bootstrap import bootstrap
from domain.settings import PROJECT_ROOT, Settings
from testbed.processes import debian_program, free_port, same_master_key, wait_until
from testbed.web import PASSWORD, give_passwords, hidden_fields
from testbed.world import World
from readmodel.runner import ViewUpdater
from readmodel.store import ViewStore

CLIENTS = 16
WRK_THREADS = 2
GUNICORN = str(Path(sys.executable).parent / "gunicorn")
LUA = str(Path(__file__).with_name("wrk.lua"))
INBOX_REFERRALS = 50  # open referrals in the measured inbox


def wrk_path() -> str:
    """Debian's wrk, installed when it is missing (as the browser test installs chromium)."""
    return debian_program("wrk")


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


@contextmanager
def gunicorn(app: str, env: dict[str, str], log: Path) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, **env, "GUNICORN_BIND": f"127.0.0.1:{port}",
           "GUNICORN_LOGLEVEL": "warning", "PYTHONPATH": str(PROJECT_ROOT)}
    process = subprocess.Popen([GUNICORN, "-c", "deploy/gunicorn.conf.py", app],
                               cwd=PROJECT_ROOT, env=env, stdout=log.open("w"),
                               stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: process.poll() is not None or _accepts(port), 60,
                   f"gunicorn to listen; see {log}")
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn did not start; see {log}")
        yield base
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=60)


def _wrk(url: str, paths: list[str], seconds: float, body: str = "",
         cookie: str = "") -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".paths", delete=False) as f:
        f.write("\n".join(paths) + "\n")
    env = {**os.environ, "BENCH_PATHS": f.name, "BENCH_BODY": body, "BENCH_COOKIE": cookie,
           "BENCH_THREADS": str(WRK_THREADS)}
    try:
        for duration in (max(1.0, seconds / 5), seconds):  # warm-up, then the measured run
            out = subprocess.run([wrk_path(), f"-t{WRK_THREADS}", f"-c{CLIENTS}",
                                  f"-d{duration:.0f}s", "--timeout", "10s", "-s", LUA, url],
                                 env=env, capture_output=True, text=True, check=True).stdout
    finally:
        os.unlink(f.name)
    figures = json.loads(out.strip().splitlines()[-1])
    if figures["status_errors"] or figures["socket_errors"] or not figures["requests"]:
        raise RuntimeError(f"wrk on {url}: failed requests: {figures}")
    return {"rps": figures["requests"] / (figures["duration_us"] / 1e6),
            "p50_ms": figures["p50_us"] / 1000, "p99_ms": figures["p99_us"] / 1000}


class Browser:
    """A signed-in session over HTTP, for reading pages and the session cookie."""

    def __init__(self, base: str, user: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        page = self.get("/anmelden")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert token, "no CSRF token on the sign-in page"
        data = urllib.parse.urlencode({"csrf_token": token.group(1), "username": user,
                                       "password": PASSWORD}).encode()
        self.opener.open(self.base + "/anmelden", data=data).read()

    def get(self, path: str) -> str:
        with self.opener.open(self.base + path) as response:
            return response.read().decode()

    @property
    def cookie(self) -> str:
        return "; ".join(f"{c.name}={c.value}" for c in self.jar)


def _prepare(url: str, post_cases: int) -> tuple[World, list[str]]:
    """The test network with passwords, cases with consent for the POSTs, and an inbox of
    open referrals at the PSZ, projected into the views."""
    settings = Settings(database_url=url)
    application = bootstrap(settings).application
    world = World.build(application)
    give_passwords(application)
    # Enough cases that a slow request is long answered before wrk comes round to its
    # case again: two sends of one case at once rightly conflict (409).
    cases = [world.open_case() for _ in range(max(post_cases, INBOX_REFERRALS, 8 * CLIENTS))]
    for case in cases:
        world.consent(case)
    for i in range(INBOX_REFERRALS):
        world.send(cases[i], urgency=("crisis", "urgent", "routine")[i % 3])
    ViewUpdater(application, ViewStore(settings)).catch_up()
    application.close()
    return world, [f"/faelle/{case}/vermitteln" for case in cases]


def measure(sizes: config.Sizes, logs: Path) -> dict[str, dict[str, float]]:
    seconds = sizes.web_seconds
    with config.scratch_schema("web") as schema:
        url = config.schema_url(schema)
        world, actions = _prepare(url, sizes.post_cases)
        env = {"DATABASE_URL": url, "SECRET_KEY": "bench-secret",
               "CELERY_BROKER_URL": config.REDIS_URL, "INSTANCE_DIR": str(logs / "instance"),
               **same_master_key()}
        with gunicorn("web.wsgi:app", env, logs / "gunicorn-engine.log") as base:
            receiver = Browser(base, "nadia")
            inbox_bytes = len(receiver.get("/eingang").encode())
            inbox = _wrk(base, ["/eingang"], seconds, cookie=receiver.cookie)
            sender = Browser(base, "anna")
            choice = "?need=health.psychosocial&urgency=urgent&kind=service"
            form = hidden_fields(sender.get(actions[0] + choice), actions[0])
            form.update(idempotency_key="IDEMPOTENCY", need="health.psychosocial",
                        urgency="urgent", kind="service",
                        receiver=f"{world.org('psz')}:beratung",
                        reason="Bitte um Erstgespräch.", crisis_override_reason="",
                        send_anyway="on")  # the same referral again and again, on purpose
            post = _wrk(base, actions, seconds, body=urllib.parse.urlencode(form),
                        cookie=sender.cookie)
        bare_env = {"BENCH_PAGE_BYTES": str(inbox_bytes)}
        with gunicorn("bench.bare_web:app", bare_env, logs / "gunicorn-bare.log") as base:
            bare_page = _wrk(base, ["/seite"], seconds)
            bare_post = _wrk(base, ["/formular"], seconds,
                             body=urllib.parse.urlencode(form))
    return {"inbox": {**inbox, "bare": bare_page["rps"], "bytes": inbox_bytes},
            "post": {**post, "bare": bare_post["rps"]}}
