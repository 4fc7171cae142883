"""Sessions end for good: a copy of the cookie replayed after sign-out, after 30 minutes
without use or 10 hours after sign-in leads to the sign-in page and records nothing."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from flask import Flask
from flask.testing import FlaskClient

from testbed.web import csrf_token, sign_in, web_world
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
