"""Each member starts where their work is: social work's staff on their cases (from the
first day, before there are any), a receiving organisation's on its inbox unless it leads
open cases (a lead handed over to the Jobcenter), the coordination office on the
network's health (issue 20, point 7)."""

from __future__ import annotations

from flask import Flask

from readmodel.runner import ViewUpdater
from testbed.web import sign_in, web_world


def _lands(web_app: Flask, user: str) -> str:
    """Where the sign-in (with its second step, where the role has one) leads."""
    client = sign_in(web_app, user)
    assert client.get("/").headers["Location"] == client.landing  # type: ignore[attr-defined]
    return client.landing  # type: ignore[attr-defined]


def test_each_role_starts_where_its_work_is(web_app: Flask) -> None:
    world = web_world(web_app)
    assert _lands(web_app, "anna") == "/faelle"  # no case yet: "Fall eröffnen" is there
    assert _lands(web_app, "nadia") == "/eingang"
    assert _lands(web_app, "ulrike") == "/eingang"
    assert _lands(web_app, "claudia") == "/eingang"
    assert _lands(web_app, "katrin") == "/netzwerk"
    # The Jobcenter leads a case (as after a lead handoff): its staff start on the cases.
    world.application.cases.open_case(world.claudia, {
        "display_name": "Familie J.", "birth_year": 1985, "household_size": 2,
        "languages": ["uk"], "interpreter_needed": False, "district": "Sachsendorf"},
        "shared_accommodation", "gestattung", needs=["benefits"])
    system = web_app.extensions["fallnetz.system"]
    ViewUpdater(system.application, system.read_store).catch_up()
    assert _lands(web_app, "claudia") == "/faelle"
