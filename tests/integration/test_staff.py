"""Staff management (issue 20, point 9): an organisation imported through HSDS gets a
supervisor and a caseworker through the admin's pages; they set their own passwords with
their one-time links, sign in, and the caseworker opens the organisation's first case. A
supervisor manages their own organisation's caseworkers, not its admins nor another
organisation; a disabled account's session ends at once. Organisations are deactivated
and reactivated."""

from __future__ import annotations

import json
import logging
import re
from datetime import timedelta
from uuid import UUID

import pytest
from flask import Flask
from flask.testing import FlaskClient

from domain.organisation import Organisation
from domain.stamp import Stamp
from readmodel.runner import ViewUpdater
from testbed.web import PASSWORD, csrf_token, events, sign_in, submit, web_world
from testbed.world import World


def _import_new_organisation(world: World) -> Organisation:
    """The Jobcenter's HSDS document, made into a new organisation's, imported."""
    application = world.application
    slug = application.network.slug
    document = next(o for o in application.exchange.export_hsds() if o["name"] == "Jobcenter")
    text = json.dumps(document, ensure_ascii=False)
    text = text.replace(document["id"], str(Organisation.id_for(slug, "beratung-neu")))
    text = text.replace('"jobcenter"', '"beratung-neu"').replace(
        '"Jobcenter"', '"Beratungsstelle Neu"').replace("jobcenter@", "neu@")
    report = application.exchange.import_hsds(Stamp.system("import"), [json.loads(text)])
    assert report.refused == [], report.refused
    organisation = application.find(Organisation, Organisation.id_for(slug, "beratung-neu"))
    assert organisation is not None and organisation.members == {}
    return organisation


def _add(admin: FlaskClient, organisation: Organisation, username: str, name: str,
         role: str) -> str:
    """Adds the member on the staff page; the one-time link it shows."""
    page_url = f"/personal?organisation={organisation.id.hex}"
    answer = submit(admin, page_url, "/personal/mitglieder", username=username,
                    display_name=name, email=f"{username}@neu.invalid", role=role)
    assert answer.status_code == 200, answer.get_data(as_text=True)[-1500:]
    link = re.search(r'<code class="secret">(http[^<]+)</code>', answer.get_data(as_text=True))
    assert link, "no one-time link shown"
    return _path(link.group(1))


def _path(link: str) -> str:
    """The link's path (it names the installation's public address)."""
    assert link.startswith("http://127.0.0.1:5000/zugang/"), link
    return re.sub(r"^https?://[^/]+", "", link)


def _set_password(app: Flask, link: str, password: str) -> None:
    client = app.test_client()
    assert client.get(link).status_code == 200
    answer = client.post(link, data={"csrf_token": csrf_token(client, link),
                                     "password": password, "repeated_password": password})
    assert answer.status_code == 302 and answer.headers["Location"] == "/anmelden"
    again = app.test_client().get(link)
    assert again.status_code == 404, "a link works once"


def test_an_imported_organisation_gets_its_staff_who_open_its_first_case(
        web_app: Flask) -> None:
    world = web_world(web_app)
    organisation = _import_new_organisation(world)
    admin = sign_in(web_app, "root")
    supervisor_link = _add(admin, organisation, "s.neu", "Sabine Neu", "supervisor")
    caseworker_link = _add(admin, organisation, "c.neu", "Carla Neu", "caseworker")
    _set_password(web_app, supervisor_link, "ein gutes Passwort")
    _set_password(web_app, caseworker_link, "noch ein gutes Passwort")
    # The supervisor's first sign-in leads to setting up the second factor.
    client = web_app.test_client()
    answer = client.post("/anmelden", data={"csrf_token": csrf_token(client),
                                            "username": "s.neu",
                                            "password": "ein gutes Passwort"})
    assert answer.headers["Location"] == "/anmelden/einrichten"
    carla = sign_in(web_app, "c.neu", "noch ein gutes Passwort")
    opened = submit(carla, "/faelle/neu", "/faelle/neu", display_name="Familie E.",
                    household_size="3", district="Sandow", housing_stage="own_flat",
                    residence_status="gestattung")
    assert opened.status_code == 302
    case_id = opened.headers["Location"].rstrip("/").split("/")[-1]
    assert world.case(UUID(case_id)).lead_organisation_id == organisation.id


def test_a_disabled_accounts_session_ends_at_once(web_app: Flask,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    world = web_world(web_app)
    caplog.set_level(logging.INFO, logger="fallnetz.security")
    anna = sign_in(web_app, "anna")
    assert anna.get("/faelle").status_code == 200
    birgit = sign_in(web_app, "birgit")
    account_id = world.application.directory.user("anna").id
    answer = submit(birgit, "/personal", f"/personal/{account_id}/sperren",
                    reason="Elternzeit")
    assert answer.status_code == 302
    assert anna.get("/faelle").status_code == 302
    client = web_app.test_client()
    refused = client.post("/anmelden", data={"csrf_token": csrf_token(client),
                                             "username": "anna", "password": PASSWORD})
    assert refused.status_code == 401
    assert submit(birgit, "/personal", f"/personal/{account_id}/entsperren").status_code == 302
    logged = [r.security for r in caplog.records  # type: ignore[attr-defined]
              if r.name == "fallnetz.security" and r.security["event"].startswith("account_")]
    assert [(e["event"], e["user"], e["member"]) for e in logged] == [
        ("account_disabled", "birgit", "anna"), ("account_enabled", "birgit", "anna")]
    assert sign_in(web_app, "anna").get("/faelle").status_code == 200


def test_a_supervisor_manages_only_their_own_caseworkers(web_app: Flask) -> None:
    world = web_world(web_app)
    birgit = sign_in(web_app, "birgit")
    page = birgit.get("/personal").get_data(as_text=True)
    assert "Anna" in page and "Nadia" not in page  # her own organisation only
    before = events(web_app)
    refused = submit(birgit, "/personal", "/personal/mitglieder", username="x.admin",
                     display_name="X", role="admin")
    assert refused.status_code in (403, 422) and events(web_app) == before
    nadia_id = world.application.directory.user("nadia").id
    other = birgit.post(f"/personal/{nadia_id}/sperren", data={
        "csrf_token": csrf_token(birgit, "/personal"), "reason": "nein",
        "organisation_id": world.org("psz").hex})
    assert other.status_code == 404 and events(web_app) == before
    assert sign_in(web_app, "anna").get("/personal").status_code == 403


def test_organisations_are_deactivated_and_reactivated(web_app: Flask) -> None:
    world = web_world(web_app)
    root = world.as_("root", "koordinierungsstelle")
    world.application.directory.deactivate_organisation(root, world.org("mbe"), "aufgelöst")
    assert not world.application.find(Organisation, world.org("mbe")).active
    world.application.directory.reactivate_organisation(root, world.org("mbe"))
    assert world.application.find(Organisation, world.org("mbe")).active


def test_operators_manage_staff_from_the_command_line(web_app: Flask) -> None:
    world = web_world(web_app)
    runner = web_app.test_cli_runner()
    added = runner.invoke(args=["staff", "add", "mbe", "m.neu", "--name", "Mia Neu",
                                "--role", "caseworker", "--email", "m.neu@mbe.invalid"])
    assert added.exit_code == 0, added.output
    link = re.search(r"(/zugang/\S+)", added.output)
    assert link, added.output
    _set_password(web_app, link.group(1), "mein eigenes Passwort")
    mia = sign_in(web_app, "m.neu", "mein eigenes Passwort")
    assert runner.invoke(args=["staff", "disable", "mbe", "m.neu", "--reason",
                               "ausgeschieden"]).exit_code == 0
    assert mia.get("/faelle").status_code == 302
    wrong = runner.invoke(args=["staff", "add", "mbe", "m.neu", "--name", "Mia",
                                "--role", "caseworker"])
    assert wrong.exit_code != 0 and ("bereits" in wrong.output or "already" in wrong.output)
    assert world.application.directory.user("m.neu").is_disabled()


def test_the_api_adds_staff_as_the_pages_do(web_app: Flask) -> None:
    world = web_world(web_app)
    organisation = _import_new_organisation(world)
    admin = sign_in(web_app, "root")
    headers = {"X-CSRFToken": csrf_token(admin, "/personal")}
    url = f"/api/v1/organisations/{organisation.id}/members"
    added = admin.post(url, headers=headers, json={
        "username": "s.api", "display_name": "Sven Api", "role": "supervisor",
        "email": "s.api@neu.invalid"})
    assert added.status_code == 201, added.get_json()
    link = _path(added.get_json()["setup_link"])
    _set_password(web_app, link, "ein API-Passwort!")
    listed = admin.get(url).get_json()
    assert [m["username"] for m in listed] == ["s.api"] and listed[0]["role"] == "supervisor"
    bad = admin.post(url, headers=headers, json={"username": "x", "display_name": "",
                                                 "role": "king"})
    assert bad.status_code == 422
    # Another organisation's supervisor: refused, nothing stored.
    birgit = sign_in(web_app, "birgit")  # (her sign-in records its code)
    before = events(web_app)
    refused = birgit.post(url, headers={"X-CSRFToken": csrf_token(birgit, "/personal")},
                          json={"username": "y.neu", "display_name": "Y", "role": "caseworker"})
    assert refused.status_code == 403 and events(web_app) == before
    carla = admin.post(url, headers=headers, json={
        "username": "c.api", "display_name": "Carla Api", "role": "caseworker"})
    assert carla.status_code == 201
    _set_password(web_app, _path(carla.get_json()["setup_link"]), "ein Passwort für Carla")
    carla_client = sign_in(web_app, "c.api", "ein Passwort für Carla")
    opened = carla_client.post("/api/v1/cases", headers={
        "X-CSRFToken": csrf_token(carla_client, "/faelle")}, json={
        "person": {"display_name": "Familie F.", "household_size": 2, "district": "Sandow"},
        "housing_stage": "own_flat", "residence_status": "gestattung"})
    assert opened.status_code == 201, opened.get_json()
    user_id = listed[0]["user_id"]
    assert admin.post(f"{url}/{user_id}/disable", headers=headers,
                      json={"reason": "Test"}).status_code == 204
    assert world.application.directory.user("s.api").is_disabled()


def test_a_supervisor_cannot_take_over_an_account_of_another_organisation(
        web_app: Flask) -> None:
    """Adding an existing account, a link, disabling: for a supervisor only accounts that
    belong to their organisation alone (else they could reset another organisation's
    member's password and sign in as them)."""
    world = web_world(web_app)
    birgit = sign_in(web_app, "birgit")
    before = events(web_app)
    taken = submit(birgit, "/personal", "/personal/mitglieder", username="nadia",
                   display_name="Nadia", role="caseworker")
    assert taken.status_code == 422 and "vergeben" in taken.get_data(as_text=True)
    assert events(web_app) == before
    # An admin brings Nadia into the FSA too; Birgit still cannot reset or disable her.
    world.application.staff.add_member(world.as_("root", "koordinierungsstelle"),
                                       world.org("fsa-sachsendorf"), "nadia", "Nadia",
                                       "caseworker")
    nadia_id = world.application.directory.user("nadia").id
    before = events(web_app)
    for action, fields in (("zugangslink", {}), ("sperren", {"reason": "x"})):
        refused = submit(birgit, "/personal", f"/personal/{nadia_id}/{action}", **fields)
        assert refused.status_code == 403, action
    assert events(web_app) == before and world.application.directory.user(
        "nadia").setup_link is None


def test_a_link_ends_after_seven_days(web_app: Flask) -> None:
    world = web_world(web_app)
    token = world.application.staff.issue_setup_link(
        world.as_("root", "koordinierungsstelle"), world.org("mbe"), "jana")
    client = web_app.test_client()
    assert client.get(f"/zugang/{token}").status_code == 200
    later = world.application.clock() + timedelta(days=8)
    world.application.clock = lambda: later
    assert client.get(f"/zugang/{token}").status_code == 404


def test_nobody_deactivates_the_organisation_they_act_for(web_app: Flask) -> None:
    world = web_world(web_app)
    katrin = sign_in(web_app, "katrin")
    system = web_app.extensions["fallnetz.system"]
    ViewUpdater(system.application, system.read_store).catch_up()
    own = f"/verzeichnis/{world.org('koordinierungsstelle')}/deaktivieren"
    refused = submit(katrin, "/verzeichnis", own, reason="Versehen")
    assert refused.status_code == 422
    assert world.application.find(Organisation, world.org("koordinierungsstelle")).active
