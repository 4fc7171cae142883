"""Sessions end for good: a copy of the cookie replayed after sign-out, after 30 minutes
without use or 10 hours after sign-in leads to the sign-in page and records nothing. And a
session stays small however it is used."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from uuid import uuid4

import pytest
from flask import Flask
from flask.testing import FlaskClient

from testbed.web import csrf_token, hidden_fields, sign_in, web_world
from testbed.world import World

MORNING = datetime(2026, 11, 30, 8, 0, tzinfo=timezone.utc)


@pytest.fixture
def signed_in(web_app: Flask) -> tuple[FlaskClient, FlaskClient, World]:
    """Anna's browser, and a second client holding a copy of its cookie."""
    world = web_world(web_app)
    world.application.clock = lambda: MORNING
    anna = sign_in(web_app, "anna")
    copy = web_app.test_client()
    copy.set_cookie("session", anna.get_cookie("session").value)
    assert copy.get("/faelle").status_code == 200
    return anna, copy, world


def _at(world: World, moment: datetime) -> None:
    world.application.clock = lambda: moment


def _shut_out(client: FlaskClient, world: World) -> None:
    """The cookie signs nobody in, and a command sent with it records nothing."""
    page = client.get("/faelle")
    assert page.status_code == 302 and "/anmelden" in page.headers["Location"]
    before = world.application.recorder.max_notification_id()
    sent = client.post("/faelle/neu", data={"display_name": "Familie X."})
    assert sent.status_code in (302, 400)
    assert world.application.recorder.max_notification_id() == before
    assert client.get("/api/v1/cases").status_code == 401


def test_signing_out_ends_every_copy_of_the_cookie(
        signed_in: tuple[FlaskClient, FlaskClient, World]) -> None:
    anna, copy, world = signed_in
    answer = anna.post("/abmelden", data={"csrf_token": csrf_token(anna, "/faelle")})
    assert answer.status_code == 302
    _shut_out(copy, world)
    _shut_out(anna, world)


def test_thirty_minutes_without_use_end_the_session(
        signed_in: tuple[FlaskClient, FlaskClient, World]) -> None:
    anna, copy, world = signed_in
    _at(world, MORNING + timedelta(minutes=25))
    assert anna.get("/faelle").status_code == 200  # Anna works on: her session lives
    _at(world, MORNING + timedelta(minutes=31))
    _shut_out(copy, world)  # the copy was last used at eight
    _at(world, MORNING + timedelta(minutes=50))
    assert anna.get("/faelle").status_code == 200
    _at(world, MORNING + timedelta(minutes=81))
    page = anna.get("/faelle", follow_redirects=True)
    assert "Ihre Sitzung ist nach einer Weile ohne Nutzung beendet" in page.get_data(
        as_text=True)


def test_ten_hours_after_sign_in_the_session_ends_however_busy(
        signed_in: tuple[FlaskClient, FlaskClient, World]) -> None:
    anna, copy, world = signed_in
    moment = MORNING
    while moment < MORNING + timedelta(hours=9, minutes=50):
        moment += timedelta(minutes=20)
        _at(world, moment)
        assert anna.get("/faelle").status_code == 200
    _at(world, MORNING + timedelta(hours=10, minutes=1))
    _shut_out(anna, world)


def test_a_new_sign_in_after_signing_out_works(
        signed_in: tuple[FlaskClient, FlaskClient, World], web_app: Flask) -> None:
    anna, _copy, world = signed_in
    anna.post("/abmelden", data={"csrf_token": csrf_token(anna, "/faelle")})
    _at(world, MORNING + timedelta(seconds=1))
    again = sign_in(web_app, "anna")
    assert again.get("/faelle").status_code == 200


def test_messages_never_shown_keep_the_cookie_small(web_app: Flask) -> None:
    """A client that never follows the redirect after a form (a script, a tab closed before
    the next page loaded) leaves each form's message waiting in the session. The cookie
    keeps the newest few and stays within what browsers keep (4 KB) and what gunicorn
    reads (8 KB): before, it grew with every form until the server answered 431."""
    web_world(web_app)
    anna = sign_in(web_app, "anna")
    form = hidden_fields(anna.get("/faelle/neu").get_data(as_text=True), "/faelle/neu")
    references = []
    for number in range(80):
        opened = anna.post("/faelle/neu", data={
            **form, "idempotency_key": uuid4().hex, "display_name": f"Familie {number}.",
            "household_size": "2", "district": "Sandow", "housing_stage": "own_flat",
            "residence_status": "gestattung"})
        assert opened.status_code == 302, opened.get_data(as_text=True)
        references.append(re.search(r"Fall (\S+) wurde eröffnet",
                                    _waiting_messages(anna)[-1]).group(1))
        assert len(anna.get_cookie("session").value) < 3000
    assert len(set(references)) == 80
    shown = anna.get("/faelle").get_data(as_text=True)
    assert re.findall(r"Fall (\S+) wurde eröffnet", shown) == references[-3:]
    assert "wurde eröffnet" not in anna.get("/faelle").get_data(as_text=True)  # shown once


def _waiting_messages(client: FlaskClient) -> list[str]:
    """The messages the client's session holds for its next page (read as the app does)."""
    with client.session_transaction() as session:
        return [message for _category, message in session.get("_flashes", [])]


def test_a_small_session_is_signed_as_it_is_and_a_large_one_compressed(web_app: Flask) -> None:
    """Small sessions skip zlib's set-up (a share of every request that writes the cookie);
    large ones are compressed, so they stay within what browsers keep. Both load."""
    with web_app.test_request_context("/"):
        serializer = web_app.session_interface.get_signing_serializer(web_app)
    small = {"user": "anna", "role": "caseworker"}
    large = {"proved": [f"netzwerk-{number}" for number in range(200)]}
    assert not serializer.dumps(small).startswith(".")
    assert serializer.dumps(large).startswith(".")
    assert len(serializer.dumps(large)) < len(str(large)) // 2
    assert serializer.loads(serializer.dumps(small)) == small
    assert serializer.loads(serializer.dumps(large)) == large
