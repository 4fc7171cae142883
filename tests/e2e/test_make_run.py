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


NETWORK_OF = {"Döbeln": "doebeln", "Nordsachsen": "nordsachsen-land", "both": None}


def demo_logins() -> list[tuple[str | None, str]]:
    """(network, login) of every login the README's tables of demo logins name: the
    city's, then the Saxon networks' (None: a login of several networks)."""
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    city = readme[readme.index("| role | login |"):].split("\n\n")[0]
    found: list[tuple[str | None, str]] = [
        ("cottbus", login) for login in re.findall(r"^\| [^|]+ \| `([a-z.]+)` \|", city, re.M)]
    saxon = readme[readme.index("| network | role | login |"):].split("\n\n")[0]
    found += [(NETWORK_OF[network], login) for network, login in
              re.findall(r"^\| ([^|]+?) \| [^|]+ \| `([a-z.]+)` \|", saxon, re.M)]
    return found


def demo_second_factor() -> str:
    """The demo's authenticator key, as the README publishes it."""
    key = re.search(r"authenticator key\s+`([A-Z2-7]{32})`",
                    (PROJECT_ROOT / "README.md").read_text(encoding="utf-8"))
    assert key, "the README gives no authenticator key of the demo"
    return key.group(1)


def sign_in(base: str, user: str, password: str, network: str | None = None,
            ) -> tuple[urllib.request.OpenerDirector, str]:
    """At the start page, as people do: the password; the network chosen when the login
    belongs to several (``network``, else the first offered); then (supervisor,
    coordinator, admin, data protection) the app's code."""
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    form = read_page(f"{base}/", opener) or ""
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert token, "the start page has no CSRF token"
    home = read_page(f"{base}/anmelden", opener, {"csrf_token": token.group(1),
                                                  "username": user, "password": password})
    offered = re.findall(r'href="(/n/([a-z0-9-]+)/anmelden/weiter)"', home or "")
    if offered:  # the login belongs to several networks: the chooser
        chosen = [link for link, slug in offered if slug == network] or [offered[0][0]]
        home = read_page(base + chosen[0], opener)
    for attempt, code in enumerate(codes(demo_second_factor())):
        step = re.search(r'action="(/n/[a-z0-9-]+/anmelden/code)"', home or "")
        if step is None or attempt > 3:
            break
        token = re.search(r'name="csrf_token" value="([^"]+)"', home or "")
        assert token, "the code page has no CSRF token"
        body = urllib.parse.urlencode({"csrf_token": token.group(1), "code": code}).encode()
        try:
            with opener.open(base + step.group(1), body, timeout=10) as response:
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
        assert len(logins) == 19 and [n for n, _u in logins].count("cottbus") == 6, logins
        password = re.search(r"password\s+`([^`]+)`",
                             (PROJECT_ROOT / "README.md").read_text(encoding="utf-8"))
        assert password, "the README gives no demo password"
        for network, user in logins:
            opener, home = sign_in(base, user, password.group(1), network)
            assert "Abmelden" in home, f"{user} could not sign in"
            links = re.findall(r'<li><a href="(/[^"]*)"', home)
            assert links, f"{user} sees no navigation"
            assert all(link.startswith(f"/n/{network or ''}") for link in links), links
            for link in links:
                page = read_page(base + link, opener)
                assert page is not None and "Fehler" not in page, (user, link)
        instance = project / "instance"
        for network, prefix, user in (("cottbus", "CB-", "a.schulz"),
                                      ("doebeln", "DL-", "k.hempel"),
                                      ("nordsachsen-land", "NL-", "j.schubert")):
            database = instance / "networks" / f"{network}.sqlite3"
            assert database.exists()
            # The embedded worker (no broker server) projects each network's demo events.
            settings = Settings(database_url=f"sqlite:///{database}",
                                network_dir=f"networks/{network}",
                                instance_dir=str(instance))  # the copy's master key
            application = bootstrap(settings).application
            updater = ViewUpdater(application, ViewStore(settings))
            wait_until(lambda: updater.lag().behind == 0 and updater.position() > 0, 180,
                       f"the embedded worker to catch {network}'s views up", interval=0.3)
            cases = read_page(f"{base}/n/{network}/faelle",
                              sign_in(base, user, password.group(1))[0])
            assert prefix in (cases or ""), network
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
    log = (tmp_path / "out.log").read_text()
    assert log.count("demo loaded") == 3
