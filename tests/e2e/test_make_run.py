"""`make run` on the embedded default serves the demo network: the README's demo logins each
sign in and reach their working pages, as a new user would try it."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import http.cookiejar
import re
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from runtime.bootstrap import bootstrap
from domain.settings import PROJECT_ROOT, Settings
from testbed.processes import free_port, wait_until
from testbed.second_factor import codes
from readmodel.runner import ViewUpdater
from readmodel.store import ViewStore


def read_page(url: str, opener: urllib.request.OpenerDirector | None = None,
              data: dict[str, str] | None = None) -> str | None:
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    try:
        with (opener or urllib.request.build_opener()).open(url, body, timeout=10) as response:
            return response.read().decode()
    except OSError:
        return None


def demo_logins() -> list[str]:
    """The logins the README's table of demo logins names."""
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("| role | login |"):].split("\n\n")[0]
    return re.findall(r"^\| [^|]+ \| `([a-z.]+)` \|", table, re.M)


def demo_second_factor() -> str:
    """The demo's authenticator key, as the README publishes it."""
    key = re.search(r"authenticator key\s+`([A-Z2-7]{32})`",
                    (PROJECT_ROOT / "README.md").read_text(encoding="utf-8"))
    assert key, "the README gives no authenticator key of the demo"
    return key.group(1)


def sign_in(base: str, user: str, password: str) -> tuple[urllib.request.OpenerDirector, str]:
    """Password, then (supervisor, coordinator, admin, data protection) the app's code."""
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    form = read_page(f"{base}/anmelden", opener) or ""
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert token, "the sign-in page has no CSRF token"
    home = read_page(f"{base}/anmelden", opener, {"csrf_token": token.group(1),
                                                  "username": user, "password": password})
    for attempt, code in enumerate(codes(demo_second_factor())):
        if home is None or 'action="/anmelden/code"' not in home or attempt > 3:
            break
        token = re.search(r'name="csrf_token" value="([^"]+)"', home)
        assert token, "the code page has no CSRF token"
        body = urllib.parse.urlencode({"csrf_token": token.group(1), "code": code}).encode()
        try:
            with opener.open(f"{base}/anmelden/code", body, timeout=10) as response:
                home = response.read().decode()
        except urllib.error.HTTPError as refused:  # a code used already: the page again
            home = refused.read().decode()
    return opener, home or ""


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


def test_make_run_lets_every_demo_login_reach_its_pages(tmp_path: Path) -> None:
    project = fresh_copy(tmp_path / "project")
    port = free_port(5000)  # the README's port, unless something else holds it
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "NETWORK_DIR", "PERSISTENCE_MODULE")}
    process = subprocess.Popen(
        ["make", "run", f"PORT={port}"], cwd=project, env=env,
        stdout=(tmp_path / "out.log").open("w"), stderr=subprocess.STDOUT,
        start_new_session=True)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until(lambda: process.poll() is not None or read_page(base) is not None, 90,
                   "make run to serve the sign-in page", interval=0.3)
        assert process.poll() is None, "make run exited early"
        assert "Anmelden" in (read_page(base) or "")
        logins = demo_logins()
        assert len(logins) == 6, logins
        password = re.search(r"password\s+`([^`]+)`",
                             (PROJECT_ROOT / "README.md").read_text(encoding="utf-8"))
        assert password, "the README gives no demo password"
        for user in logins:
            opener, home = sign_in(base, user, password.group(1))
            assert "Abmelden" in home, f"{user} could not sign in"
            links = re.findall(r'<li><a href="(/[^"]*)"', home)
            assert links, f"{user} sees no navigation"
            for link in links:
                page = read_page(base + link, opener)
                assert page is not None and "Fehler" not in page, (user, link)
        database = project / "instance" / "fallnetz.sqlite3"
        assert database.exists()
        # The embedded worker (no broker server) projects the demo's events.
        settings = Settings(database_url=f"sqlite:///{database}",
                            instance_dir=str(database.parent))  # the copy's master key
        application = bootstrap(settings).application
        updater = ViewUpdater(application, ViewStore(settings))
        wait_until(lambda: updater.lag().behind == 0 and updater.position() > 0, 180,
                   "the embedded worker to catch the views up", interval=0.3)
        cases = read_page(base + "/faelle", sign_in(base, logins[0], password.group(1))[0])
        assert "CB-" in (cases or "")
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
    log = (tmp_path / "out.log").read_text()
    assert "Demo network loaded" in log
