"""Security events go to the ``fallnetz.security`` logger, tied to the member of staff or
token and the client's address: failed and throttled sign-ins, sign-outs, refusals and
tokens issued; never anything of a case."""

from __future__ import annotations

import logging

import pytest
from flask import Flask

from domain.stamp import Role, Stamp
from testbed.web import PASSWORD, csrf_token, sign_in, web_world


def _events(caplog: pytest.LogCaptureFixture) -> list[dict[str, object]]:
    return [r.security for r in caplog.records if r.name == "fallnetz.security"]  # type: ignore[attr-defined]


def test_sign_ins_refusals_and_tokens_are_security_events(
        web_app: Flask, caplog: pytest.LogCaptureFixture) -> None:
    world = web_world(web_app)
    caplog.set_level(logging.INFO, logger="fallnetz.security")
    guesser = web_app.test_client()
    token = csrf_token(guesser)
    for _attempt in range(11):
        guesser.post("/anmelden", environ_base={"REMOTE_ADDR": "10.9.9.9"},
                     data={"csrf_token": token, "username": "anna", "password": "geraten"})
    anna = sign_in(web_app, "anna", PASSWORD)
    anna.post("/abmelden", data={"csrf_token": csrf_token(anna, "/faelle")})
    issued = world.application.integrations.issue_api_token(
        Stamp.system("test"), world.org("psz"), "nur-lesen", Role.CASEWORKER,
        ["referrals:read"])
    web_app.test_client().get("/api/v1/cases", headers={
        "Authorization": f"Bearer {issued['token']}"})
    ulrike = sign_in(web_app, "ulrike", PASSWORD)
    ulrike.post(f"/api/v1/organisations/{world.org('psz')}/tokens",
                headers={"X-CSRFToken": csrf_token(ulrike, "/eingang")},
                json={"name": "kis", "role": "caseworker", "scopes": ["referrals:read"]})

    events = _events(caplog)
    kinds = [(e["event"], e["user"]) for e in events]
    assert kinds.count(("sign_in_failed", "anna")) == 10
    assert ("sign_in_throttled", "anna") in kinds
    assert ("signed_out", "anna") in kinds
    assert ("refused", "api:nur-lesen") in kinds
    assert ("token_issued", "ulrike") in kinds
    assert {e["address"] for e in events if e["event"].startswith("sign_in")} == {"10.9.9.9"}
    assert all(e["address"] for e in events)
    assert not any("Familie" in r.getMessage() for r in caplog.records)
