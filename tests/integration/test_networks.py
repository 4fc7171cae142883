"""The installation's networks as operators and people meet them: added, listed, checked,
disabled and enabled from the CLI and the web without a restart; each network's deadlines
by its own Land's holidays in one installation; signing in once at the start page and
choosing the network; a network whose database is down reported in /health while the
others are served."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from domain.deadlines import BERLIN
from domain.settings import PROJECT_ROOT, Settings
from domain.stamp import Stamp
from runtime.installation import NetworkError
from testbed.web import csrf_token
from testbed.world import World

NETWORKS = PROJECT_ROOT / "networks"
DEMO_PASSWORD = "fallnetz-demo"


def installation_app(tmp_path: Path, **settings: Any) -> Flask:
    from web import create_app

    instance = tmp_path / "instance"
    return create_app(Settings(database_url=f"sqlite:///{instance / 'installation.sqlite3'}",
                               instance_dir=str(instance), secret_key="test-secret",
                               **settings),
                      config={"TESTING": True, "NUDGE_WORKERS": False})


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    flask_app = installation_app(tmp_path)
    yield flask_app
    flask_app.extensions["fallnetz.installation"].close()


def server_gone(app: Flask, slug: str) -> None:
    """The network's store moves to a server that does not answer (as when its database
    server goes away after the network was registered)."""
    import sqlite3

    with sqlite3.connect(app.extensions["fallnetz.settings"].instance_path /
                         "installation.sqlite3") as conn:
        conn.execute("UPDATE fallnetz_networks SET database_url = ? WHERE slug = ?",
                     ("postgresql://postgres@127.0.0.1:1/nowhere?connect_timeout=1", slug))
    app.extensions["fallnetz.installation"].entries(fresh=True)


def test_operators_add_list_check_disable_and_enable_networks_from_the_cli(
        app: Flask) -> None:
    runner = app.test_cli_runner()
    listed = runner.invoke(args=["networks", "list"])
    assert "served at the root (no network registered)" in listed.output
    added = runner.invoke(args=["networks", "add", "networks/cottbus", "networks/doebeln"])
    assert added.exit_code == 0, added.output
    assert "added cottbus" in added.output and "added doebeln" in added.output
    again = runner.invoke(args=["networks", "add", "networks/doebeln"])
    assert again.exit_code == 1 and "registered already" in again.output
    assert runner.invoke(args=["networks", "add", "--if-missing", "networks/doebeln"]
                         ).exit_code == 0
    nowhere = runner.invoke(args=["networks", "add", "networks/nowhere"])
    assert nowhere.exit_code == 1 and "networks/nowhere" in nowhere.output
    listed = runner.invoke(args=["networks", "list"]).output.splitlines()
    assert [line.split("\t")[:2] for line in listed] == [["cottbus", "enabled"],
                                                         ["doebeln", "enabled"]]
    checked = runner.invoke(args=["networks", "check"])
    assert checked.exit_code == 0, checked.output
    assert checked.output.count('"ok": true}') >= 2
    # each network has a store of its own
    instance = Path(app.extensions["fallnetz.settings"].instance_dir)
    assert sorted(p.name for p in (instance / "networks").glob("*.sqlite3")) == [
        "cottbus.sqlite3", "doebeln.sqlite3"]
    assert runner.invoke(args=["networks", "disable", "doebeln"]).exit_code == 0
    client = app.test_client()
    assert client.get("/n/doebeln/anmelden").status_code == 404
    assert client.get("/n/cottbus/anmelden").status_code == 200
    assert runner.invoke(args=["networks", "enable", "doebeln"]).exit_code == 0
    assert client.get("/n/doebeln/anmelden").status_code == 200
    assert runner.invoke(args=["networks", "disable", "nowhere"]).exit_code == 1


def test_a_network_added_by_another_process_is_served_without_a_restart(
        app: Flask, tmp_path: Path) -> None:
    client = app.test_client()
    app.extensions["fallnetz.installation"].add("networks/cottbus")
    assert client.get("/n/cottbus/anmelden").status_code == 200
    assert client.get("/n/doebeln/anmelden").status_code == 404
    # another process (the CLI, another gunicorn worker) adds a network
    other = installation_app(tmp_path)
    other.extensions["fallnetz.installation"].add("networks/doebeln")
    other.extensions["fallnetz.installation"].close()
    from testbed.processes import wait_until

    wait_until(lambda: client.get("/n/doebeln/anmelden").status_code == 200, 30,
               "the running app to serve the network added elsewhere")
    assert "Döbeln" in client.get("/").get_data(as_text=True)


def test_deadlines_follow_each_networks_holidays_in_one_installation(app: Flask) -> None:
    """A routine referral sent on Monday 16 November 2026 in each network of the one
    installation: due for receipt on Thursday in Cottbus (Brandenburg), on Friday in Döbeln
    (Saxony: Wednesday is Buß- und Bettag)."""
    installation = app.extensions["fallnetz.installation"]
    sent = datetime(2026, 11, 16, 10, 0, tzinfo=BERLIN)
    due = {}
    for slug in ("cottbus", "doebeln"):
        installation.add(f"networks/{slug}")
        application = installation.system(slug).application
        application.clock = lambda: sent
        world = World.build(application)
        case_id = world.open_case(person={
            "display_name": "Familie T.", "household_size": 4,
            "district": application.network.districts[0]})
        world.consent(case_id)
        referral = world.referral(world.send(case_id, urgency="routine"))
        deadline = application.escalations.deadline_of(referral, "receive")
        due[slug] = deadline.due_at.astimezone(BERLIN).strftime("%A %d")
    assert due == {"cottbus": "Thursday 19", "doebeln": "Friday 20"}


def test_signing_in_once_at_the_start_page_and_choosing_the_network(app: Flask) -> None:
    installation = app.extensions["fallnetz.installation"]
    for slug in ("cottbus", "doebeln", "nordsachsen-land"):
        installation.add(f"networks/{slug}")
    from domain.demo import load_demo

    for slug in ("doebeln", "nordsachsen-land"):
        application = installation.system(slug).application
        load_demo(application, NETWORKS / slug / "demo")
    client = app.test_client()
    start = client.get("/").get_data(as_text=True)
    for name in ("Cottbus", "Döbeln", "Nordsachsen"):
        assert name in start
    wrong = client.post("/anmelden", data={"csrf_token": csrf_token(client, "/"),
                                           "username": "s.becker", "password": "wrong"})
    assert wrong.status_code == 401 and 'class="error-summary"' in wrong.get_data(as_text=True)
    # s.becker works in both Saxon networks: the start page offers both
    signed = client.post("/anmelden", data={"csrf_token": csrf_token(client, "/"),
                                            "username": "s.becker", "password": DEMO_PASSWORD})
    assert signed.status_code == 302 and signed.headers["Location"] == "/"
    chooser = client.get("/")  # the choice is a page of its own: Back and reload work
    page = chooser.get_data(as_text=True)
    assert chooser.status_code == 200
    assert "/n/doebeln/anmelden/weiter" in page and "/n/nordsachsen-land/anmelden/weiter" in page
    assert "/n/cottbus/anmelden/weiter" not in page
    opened = client.get("/n/nordsachsen-land/anmelden/weiter")
    assert opened.status_code == 302 and opened.headers["Location"].startswith(
        "/n/nordsachsen-land/")
    assert client.get("/n/nordsachsen-land/faelle").status_code == 200
    # ... and not the network never proved
    assert client.get("/n/cottbus/anmelden/weiter").headers["Location"].endswith("/anmelden")
    # the header offers the other network; the start page is the choice again
    assert "Anderes Netzwerk" in client.get("/n/nordsachsen-land/faelle").get_data(
        as_text=True)
    assert "/n/doebeln/anmelden/weiter" in client.get("/").get_data(as_text=True)
    assert client.get("/n/doebeln/anmelden/weiter").status_code == 302
    assert client.get("/n/doebeln/faelle").status_code == 200
    copied = client.get_cookie("session")  # the start page's proof, as a thief copies it
    assert copied is not None
    # signing out ends the start page's proof and every network's session in this browser
    out = client.post("/n/nordsachsen-land/abmelden", data={
        "csrf_token": csrf_token(client, "/n/nordsachsen-land/faelle")})
    assert out.status_code == 302
    assert client.get("/n/doebeln/faelle").status_code == 302
    again = client.get("/n/doebeln/anmelden/weiter")
    assert again.headers["Location"].endswith("/n/doebeln/anmelden")
    # ... and a copy of the proof taken before is void in the network signed out of
    client.set_cookie("session", copied.value)
    void = client.get("/n/nordsachsen-land/anmelden/weiter")
    assert void.headers["Location"].endswith("/n/nordsachsen-land/anmelden")


def test_a_second_person_signing_in_at_the_start_page_replaces_the_first(app: Flask) -> None:
    installation = app.extensions["fallnetz.installation"]
    installation.add("networks/doebeln")
    from domain.demo import load_demo

    load_demo(installation.system("doebeln").application, NETWORKS / "doebeln" / "demo")
    client = app.test_client()
    for user in ("s.becker", "k.hempel"):
        signed = client.post("/anmelden", data={"csrf_token": csrf_token(client, "/"),
                                                "username": user, "password": DEMO_PASSWORD})
        assert signed.headers["Location"] == "/n/doebeln/anmelden/weiter"
        client.get(signed.headers["Location"])
        page = client.get("/n/doebeln/faelle").get_data(as_text=True)
        name = installation.system("doebeln").application.directory.user(user).display_name
        assert name in page, user


def test_operators_manage_networks_in_the_web(app: Flask) -> None:
    installation = app.extensions["fallnetz.installation"]
    installation.add("networks/cottbus")
    application = installation.system("cottbus").application
    from testbed.web import give_passwords, PASSWORD, code_for

    world = World.build(application)
    give_passwords(application)
    client = app.test_client()
    client.post("/n/cottbus/anmelden", data={
        "csrf_token": csrf_token(client, "/n/cottbus/anmelden"), "username": "root",
        "password": PASSWORD})
    client.post("/n/cottbus/anmelden/code", data={
        "csrf_token": csrf_token(client, "/n/cottbus/anmelden/code"),
        "code": code_for(application, "root")})
    page = client.get("/n/cottbus/betrieb/netzwerke")
    assert page.status_code == 200 and "networks/doebeln" in page.get_data(as_text=True)
    token = csrf_token(client, "/n/cottbus/betrieb/netzwerke")
    bad = client.post("/n/cottbus/betrieb/netzwerke", data={"csrf_token": token,
                                                             "config_dir": "../etc"})
    assert bad.status_code == 422 and 'href="#f-config_dir"' in bad.get_data(as_text=True)
    added = client.post("/n/cottbus/betrieb/netzwerke", data={
        "csrf_token": token, "config_dir": "networks/doebeln"})
    assert added.status_code == 302
    assert client.get("/n/doebeln/anmelden").status_code == 200
    check = client.get("/n/cottbus/betrieb/netzwerke/doebeln")
    assert check.status_code == 200
    assert client.post("/n/cottbus/betrieb/netzwerke/doebeln/abschalten",
                       data={"csrf_token": token}).status_code == 302
    assert client.get("/n/doebeln/anmelden").status_code == 404
    # the operating network cannot switch itself off
    client.post("/n/cottbus/betrieb/netzwerke/cottbus/abschalten", data={"csrf_token": token})
    assert client.get("/n/cottbus/anmelden").status_code in (200, 302)
    # a caseworker is no operator
    anna = app.test_client()
    anna.post("/n/cottbus/anmelden", data={
        "csrf_token": csrf_token(anna, "/n/cottbus/anmelden"), "username": "anna",
        "password": PASSWORD})
    assert anna.get("/n/cottbus/betrieb/netzwerke").status_code == 403
    assert world is not None


def test_a_network_whose_database_is_down_is_reported_and_the_others_are_served(
        app: Flask) -> None:
    installation = app.extensions["fallnetz.installation"]
    installation.add("networks/cottbus")
    with pytest.raises(NetworkError):  # a store that cannot be reached is not registered
        installation.add("networks/doebeln", database_url=(
            "postgresql://postgres@127.0.0.1:1/nowhere?connect_timeout=1"))
    # registered while it answered, then its server went away
    installation.add("networks/doebeln")
    server_gone(app, "doebeln")
    client = app.test_client()
    health = client.get("/health")
    assert health.status_code == 503
    report = health.get_json()["networks"]
    assert report["doebeln"]["ok"] is False
    assert report["doebeln"]["checks"]["database"] == {"ok": False}
    assert report["cottbus"]["checks"]["database"] == {"ok": True}
    assert client.get("/health/ready").status_code == 200
    assert client.get("/n/cottbus/anmelden").status_code == 200
    assert client.get("/n/doebeln/anmelden").status_code == 503
    assert Stamp is not None


def test_the_embedded_worker_serves_every_network_and_skips_one_that_is_down(
        app: Flask, caplog: pytest.LogCaptureFixture) -> None:
    """A loop per network: a network added while the worker runs is served without a
    restart; one whose database is away is retried on its own while the others go on."""
    import threading

    from readmodel.runner import ViewUpdater
    from workers.context import jobs_of
    from workers.embedded import InstallationWorker
    from testbed.processes import wait_until

    installation = app.extensions["fallnetz.installation"]
    installation.add("networks/cottbus")
    installation.add("networks/nordsachsen-land")
    server_gone(app, "nordsachsen-land")
    built: dict[str, Any] = {}

    def jobs(slug: str) -> Any:
        system = installation.system(slug)
        if system is None:
            return None
        if built.get(slug, (None,))[0] is not system:
            built[slug] = (system, jobs_of(system))
        return built[slug][1]

    def caught_up(slug: str) -> bool:
        system = installation.system(slug)
        updater = ViewUpdater(system.application, system.read_store)
        return updater.position() > 0 and updater.lag().behind == 0

    worker = InstallationWorker(lambda: [e.slug for e in installation.enabled()], jobs,
                                poll_seconds=0.05)
    World.build(installation.system("cottbus").application)
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    try:
        wait_until(lambda: caught_up("cottbus"), 60, "the worker to catch up Cottbus")
        installation.add("networks/doebeln")  # while the worker runs
        World.build(installation.system("doebeln").application)
        wait_until(lambda: caught_up("doebeln"), 60, "the worker to serve the new network")
        wait_until(lambda: "network nordsachsen-land: cannot be served" in caplog.text, 60,
                   "the worker to report the network whose database is away")
    finally:
        worker.stopping.set()
        thread.join(timeout=60)
    assert not thread.is_alive()


def test_a_network_is_not_added_on_another_networks_store_nor_on_an_absurd_one(
        app: Flask, tmp_path: Path) -> None:
    import sqlite3

    installation = app.extensions["fallnetz.installation"]
    installation.add("networks/cottbus")
    instance = app.extensions["fallnetz.settings"].instance_path
    victim = tmp_path / "victim.txt"
    victim.write_text("not a store")
    victim.chmod(0o644)
    not_a_store = instance / "notes.sqlite3"
    not_a_store.write_text("some notes")
    foreign = instance / "foreign.sqlite3"
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE stored_events (x TEXT)")
    foreign.chmod(0o640)
    refused = {
        # the same file by another spelling of its path
        f"sqlite:///{instance}/networks/../networks/cottbus.sqlite3": "store_taken",
        "banana://nowhere": "url_invalid",
        "postgresql://x@256.300.1.1:99999/db": "url_invalid",
        f"sqlite:///{victim}": "sqlite_outside",
        f"sqlite:///{tmp_path / 'new' / 'deep' / 'x.sqlite3'}": "sqlite_outside",
        f"sqlite:///{not_a_store}": "not_a_store",
        f"sqlite:///{foreign}": "not_a_store",
        # a store's journal names that store; a folder is no file
        f"sqlite:///{instance}/networks/cottbus.sqlite3-journal": "url_invalid",
        f"sqlite:///{instance}/networks/cottbus.sqlite3-wal": "url_invalid",
        f"sqlite:///{instance}/networks/": "url_invalid",
        f"sqlite:///{instance}/networks": "url_invalid",
        "postgresql://x@[::1/db": "url_invalid",
        # the installation's own list of networks
        f"sqlite:///{instance}/installation.sqlite3": "store_installation",
    }
    for url, code in refused.items():
        with pytest.raises(NetworkError) as raised:
            installation.add("networks/doebeln", database_url=url)
        assert (raised.value.code, raised.value.field) == (code, "database_url"), url
    assert victim.stat().st_mode & 0o777 == 0o644 and victim.read_text() == "not a store"
    assert not_a_store.read_text() == "some notes"
    assert foreign.stat().st_mode & 0o777 == 0o640
    assert not (tmp_path / "new").exists()
    assert [e.slug for e in installation.entries(fresh=True)] == ["cottbus"]


def test_signing_out_at_the_choice_ends_the_proof_in_every_network_on_the_server(
        app: Flask) -> None:
    installation = app.extensions["fallnetz.installation"]
    for slug in ("doebeln", "nordsachsen-land"):
        installation.add(f"networks/{slug}")
        load = __import__("domain.demo", fromlist=["load_demo"]).load_demo
        load(installation.system(slug).application, NETWORKS / slug / "demo")
    client = app.test_client()
    client.post("/anmelden", data={"csrf_token": csrf_token(client, "/"),
                                   "username": "s.becker", "password": DEMO_PASSWORD})
    assert "Signed in as s.becker" in client.get("/").get_data(as_text=True) or \
        "Angemeldet als s.becker" in client.get("/").get_data(as_text=True)
    copied = client.get_cookie("session")
    assert copied is not None
    out = client.post("/abmelden", data={"csrf_token": csrf_token(client, "/")})
    assert out.status_code == 302
    thief = app.test_client()
    thief.set_cookie("session", copied.value)
    for slug in ("doebeln", "nordsachsen-land"):
        refused = thief.get(f"/n/{slug}/anmelden/weiter")
        assert refused.headers["Location"].endswith(f"/n/{slug}/anmelden"), slug
