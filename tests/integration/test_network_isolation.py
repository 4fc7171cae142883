"""Many networks in one installation, isolated by construction (runtime/installation.py):
the isolation matrix over the whole URL map, web and API, on SQLite and PostgreSQL.

Two networks, A and B, are registered in one installation, each with a store of its own and
each with one object of every kind (the access test's setting, tests/integration/
test_web_access.py), and the same usernames in both. A's users and tokens, asking under A's
path for each of B's objects by every route that takes one, are told 404 (403 where their
role may not use the route at all) and record nothing anywhere; none of A's pages, lists,
reports and exports shows anything of B; A's tokens open nothing under B's path, and A's
session does not open B's pages."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from domain.settings import PROJECT_ROOT, Settings
from domain.stamp import Role, Stamp
from testbed.web import PASSWORD, code_for, csrf_token
from tests.conftest import POSTGRES_URL
from tests.integration.test_api_access import ALL_SCOPES, api_routes, body, url
from tests.integration.test_web_access import (ALLOWED, SIGNED_IN, Setting, routes,
                                               url_for_route)

A, B = "cottbus", "spreewald"
MARK = "Familie Quastenflosser"  # a person only network B knows


@dataclass
class Installation:
    app: Flask  # the installation's web app: every network under /n/<slug>/
    a: Setting  # network A's objects (made through a one-network app on A's store)
    b: Setting

    def events(self) -> tuple[int, int]:
        return tuple(s.application.recorder.max_notification_id() or 0  # type: ignore[return-value]
                     for s in (self.a, self.b))


def _second_network(tmp_path: Path) -> Path:
    """Network B's folder: the demo city's configuration under another slug and name (what
    matters here is that B is another tenant, not what it is configured with)."""
    folder = tmp_path / "spreewald"
    shutil.copytree(PROJECT_ROOT / "networks" / "cottbus", folder)
    toml = folder / "network.toml"
    text = toml.read_text()
    text = re.sub(r'^slug = .*$', f'slug = "{B}"', text, flags=re.M)
    text = re.sub(r'^name = .*$', 'name = "Netzwerk Spreewald (Test B)"', text, flags=re.M)
    toml.write_text(text)
    return folder


# One installation per backend for the module: the tests record nothing in it (the matrix
# checks so), and building the two networks' objects is the slow part.
@pytest.fixture(scope="module",
                params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def installation(request: pytest.FixtureRequest,
                 tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installation]:
    from web import create_app

    tmp_path = tmp_path_factory.mktemp("installation")
    instance = tmp_path / "instance"
    if request.param == "sqlite":
        home = f"sqlite:///{instance / 'installation.sqlite3'}"
        urls = {A: f"sqlite:///{instance / 'a.sqlite3'}",
                B: f"sqlite:///{instance / 'b.sqlite3'}"}
        schemas: list[str] = []
    else:
        import uuid

        import psycopg

        schemas = [f"t_{uuid.uuid4().hex[:12]}" for _ in range(3)]
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            for schema in schemas:
                conn.execute(f'CREATE SCHEMA "{schema}"')
        home, urls = (f"{POSTGRES_URL}?schema={schemas[0]}",
                      {A: f"{POSTGRES_URL}?schema={schemas[1]}",
                       B: f"{POSTGRES_URL}?schema={schemas[2]}"})
    settings = Settings(database_url=home, instance_dir=str(instance),
                        secret_key="test-secret")
    config = {"TESTING": True, "NUDGE_WORKERS": False}
    app = create_app(settings, config=config)
    folders = {A: str(PROJECT_ROOT / "networks" / "cottbus"), B: str(_second_network(tmp_path))}
    for slug in (A, B):
        app.extensions["fallnetz.installation"].add(folders[slug], database_url=urls[slug])
    # Each network's objects, made on its own store by a one-network app of it.
    one_network = {slug: create_app(Settings(database_url=urls[slug], network_dir=folders[slug],
                                             instance_dir=str(instance),
                                             secret_key="test-secret"), config=config)
                   for slug in (A, B)}
    found = Installation(app, Setting(one_network[A]), Setting(one_network[B]))
    found.b.application.cases.open_case(found.b.world.anna, {
        "display_name": MARK, "household_size": 2, "district": "Sandow"}, "own_flat",
        "permit_25", needs=["benefits"])
    yield found
    for each in (app, *one_network.values()):
        each.extensions["fallnetz.installation"].close()
    if schemas:
        import psycopg

        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            for schema in schemas:
                conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def sign_in_to(app: Flask, slug: str, user: str, setting: Setting) -> FlaskClient:
    """Signs in on the network's own sign-in page (with the second factor where needed)."""
    client = app.test_client()
    prefix = f"/n/{slug}"
    response = client.post(f"{prefix}/anmelden", data={
        "csrf_token": csrf_token(client, f"{prefix}/anmelden"), "username": user,
        "password": PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)[-500:]
    if response.headers["Location"].endswith("/anmelden/code"):
        response = client.post(f"{prefix}/anmelden/code", data={
            "csrf_token": csrf_token(client, f"{prefix}/anmelden/code"),
            "code": code_for(setting.application, user)})
        assert response.status_code == 302, response.get_data(as_text=True)[-500:]
    return client


def readable(response: Any) -> str:
    """The response's text (a PDF's extracted, so its words can be looked for)."""
    if response.mimetype == "application/pdf":
        from io import BytesIO

        from pypdf import PdfReader

        return "\n".join(page.extract_text() for page in
                         PdfReader(BytesIO(response.get_data())).pages)
    return response.get_data().decode("utf-8", "replace")


def b_traces(found: Installation) -> list[str]:
    """What would give B away on an A page: its name, its person, its objects' ids."""
    # (members' user ids follow from their usernames: A's accounts of the same names have
    # them too)
    ids = [str(v) for k, v in found.b.ids.items()
           if k not in (None, "own_member", "foreign_member", "a_network")]
    return [MARK, "Spreewald", *ids]


def test_users_of_a_get_404_for_every_object_of_b_and_record_nothing(
        installation: Installation) -> None:
    found = installation
    users = {user: sign_in_to(found.app, A, user, found.a) for user in sorted(SIGNED_IN)}
    before = found.events()
    traces = b_traces(found)
    wrong = []
    checked = 0
    for key, method, rule, obj, values in routes(found.app):
        if obj is None or values["param"] in ("token", "code", "filename", "slug", "user_id"):
            # no object of a network (a one-time link nobody has, a language, the
            # installation's networks: tests/integration/test_networks.py); a user's id
            # follows from the username, and A's account of B's member's name is A's own
            continue
        url_of_b = f"/n/{A}" + url_for_route(found.b, rule, obj, values)
        allowed_in_a = ALLOWED[(key, obj)] & SIGNED_IN
        for user in sorted(allowed_in_a or {"anna", "katrin"}):
            client = users[user]
            if method == "GET":
                response = client.get(url_of_b)
            else:
                response = client.post(url_of_b, data={
                    "csrf_token": csrf_token(client, f"/n/{A}/anmelden"),
                    **found.b.form(key, obj)})
            checked += 1
            # (the page's language switch names the address asked for: not B's data)
            page = response.get_data(as_text=True).replace(url_of_b, "")
            expected = (404,) if user in allowed_in_a else (403, 404)
            # the person's own pages answer only a person's code: without one they send
            # to where it is entered
            to_code = key.startswith("person.") and response.status_code == 302 and \
                "/mein-stand" in response.headers["Location"]
            if (response.status_code not in expected and not to_code) or any(
                    t in page for t in traces):
                wrong.append((user, method, url_of_b, key, response.status_code))
    assert checked > 100
    assert not wrong, "\n".join(map(str, wrong))
    assert found.events() == before, "a refused request recorded an event"


def test_no_page_list_report_or_export_of_a_shows_anything_of_b(
        installation: Installation) -> None:
    found = installation
    users = {user: sign_in_to(found.app, A, user, found.a) for user in sorted(SIGNED_IN)}
    traces = b_traces(found)
    wrong, shown = [], 0
    for key, method, rule, obj, values in routes(found.app):
        if method != "GET" or values["param"] in ("token",) or key.startswith("networks."):
            continue  # (the operators' list of networks names them all, by design)
        # A's own objects: their pages show A's, never B's
        url_of_a = f"/n/{A}" + url_for_route(found.a, rule, obj, values)
        for user in sorted(ALLOWED[(key, obj)] & SIGNED_IN):
            response = users[user].get(url_of_a)
            shown += response.status_code == 200
            page = readable(response)
            if any(t in page for t in traces):
                wrong.append((user, url_of_a, [t for t in traces if t in page]))
    assert shown > 80
    assert not wrong, "\n".join(map(str, wrong))


def _tokens(setting: Setting) -> dict[str, dict[str, str]]:
    system = Stamp.system("test")
    tokens = {}
    for name, (organisation, role) in {
            "caseworker": ("fsa-sachsendorf", Role.CASEWORKER),
            "supervisor": ("fsa-sachsendorf", Role.SUPERVISOR),
            "coordinator": ("koordinierungsstelle", Role.COORDINATOR),
            "admin": ("koordinierungsstelle", Role.ADMIN)}.items():
        issued = setting.application.integrations.issue_api_token(
            system, setting.world.org(organisation), name, role, ALL_SCOPES)
        tokens[name] = {"Authorization": f"Bearer {issued['token']}"}
    return tokens


def _api_values(setting: Setting) -> dict[str, Any]:
    return {"case_id": setting.ids["own_case"], "referral_id": setting.ids["sent"],
            "organisation_id": setting.world.org("fsa-sachsendorf"),
            "need": "health.psychosocial", "consent_id": setting.consent_id,
            "service_id": "beratung", "token_id": "x", "webhook_id": "x",
            "elsewhere": setting.world.org("gesundheitsamt"),
            "user_id": setting.application.directory.user("anna").id}


def test_tokens_of_a_reach_nothing_of_b(installation: Installation) -> None:
    found = installation
    tokens = _tokens(found.a)
    client = found.app.test_client()
    values_b = _api_values(found.b)
    traces = b_traces(found)
    before = found.events()
    wrong, checked = [], 0
    for endpoint, method, rule in api_routes(found.app):
        for who, headers in tokens.items():
            # under B's path, A's token is nobody's
            response = client.open(f"/n/{B}" + url(rule, values_b), method=method,
                                   headers=headers,
                                   json=body(rule, values_b) if method != "GET" else None)
            if response.status_code != 401:
                wrong.append((who, "B's path", method, rule, response.status_code))
            # under A's path, B's objects do not exist
            response = client.open(f"/n/{A}" + url(rule, values_b), method=method,
                                   headers=headers,
                                   json=body(rule, values_b) if method != "GET" else None)
            checked += 1
            page = response.get_data(as_text=True)
            if any(t in page for t in traces) or response.status_code >= 500 or (
                    response.status_code < 400 and "<" in rule and method != "GET"):
                wrong.append((who, "A's path", method, rule, response.status_code))
    assert checked > 100
    assert not wrong, "\n".join(map(str, wrong))
    assert found.events()[1] == before[1], "nothing was recorded in B"


def test_a_session_of_a_does_not_open_b(installation: Installation) -> None:
    found = installation
    client = sign_in_to(found.app, A, "anna", found.a)
    assert client.get(f"/n/{A}/faelle").status_code == 200
    # The browser sends A's cookie to A's path only; sent to B's anyway (under B's
    # name), it does not verify there.
    cookie = client.get_cookie(f"session-{A}", path=f"/n/{A}/")
    assert cookie is not None
    response = client.get(f"/n/{B}/faelle")
    assert response.status_code == 302 and "/anmelden" in response.headers["Location"]
    client.set_cookie(f"session-{B}", cookie.value, path=f"/n/{B}/")
    response = client.get(f"/n/{B}/faelle")
    assert response.status_code == 302 and "/anmelden" in response.headers["Location"]
    # An unknown network is not found; the installation's start page lists both.
    assert client.get("/n/nowhere/faelle").status_code == 404
    start = client.get("/").get_data(as_text=True)
    assert "Netzwerk Spreewald (Test B)" in start and f"/n/{A}/anmelden" in start
