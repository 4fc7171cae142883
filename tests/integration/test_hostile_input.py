"""Hostile or absurd input never gives a 500 and stores nothing: JSON nested a thousand
levels deep, a number of 5,000 digits, a lone surrogate, control characters, NUL in a
query; an HSDS import names the organisation and field at fault; a mail that can never be
sent (an address with a line break) fails with its reason instead of being stuck."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from flask import Flask

from domain.notification import Notification
from domain.stamp import Role, Stamp
from readmodel.runner import ViewUpdater
from testbed.web import csrf_token, sign_in, web_world
from testbed.world import World
from tests.smtp import smtp_server
from workers.mail import MailSettings, send_due

PERSON = {"display_name": "Familie K.", "birth_year": 1990, "household_size": 3,
          "languages": ["de"], "interpreter_needed": False, "district": "Sachsendorf"}
CASE = {"person": PERSON, "needs": ["health.psychosocial"], "lead_caseworker": "anna",
        "housing_stage": "shared_accommodation", "residence_status": "gestattung"}
DEEP = "[" * 1000 + "]" * 1000


@pytest.fixture
def api(web_app: Flask) -> tuple[Any, dict[str, str], World]:
    world = web_world(web_app)
    issued = world.application.integrations.issue_api_token(
        Stamp.system("test"), world.org("fsa-sachsendorf"), "probe", Role.CASEWORKER,
        ["cases:read", "cases:write"])
    return web_app.test_client(), {"Authorization": f"Bearer {issued['token']}"}, world


@pytest.mark.parametrize(("body", "status", "says"), [
    (DEEP, 400, "zu tief verschachtelt"),
    (json.dumps(CASE)[:-1] + f', "extra": {DEEP}}}', 400, "zu tief verschachtelt"),
    (json.dumps(CASE).replace("1990", "9" * 5000), 400, "zu viele Ziffern"),
    ("{", 400, "kein gültiges JSON"),
    (json.dumps(CASE).replace('"Familie K."', '"\\ud800"'), 422, "#/person/display_name"),
    (json.dumps(CASE).replace('"Familie K."', '"a\\u0000b"'), 422, "#/person/display_name"),
    (json.dumps(CASE).replace('"health.psychosocial"', '"x\\u001bx"'), 422, "#/needs/0"),
    (json.dumps(CASE).replace("1990", "1e999"), 422, "#/person/birth_year"),
])
def test_the_api_refuses_hostile_bodies_and_stores_nothing(
        api: tuple[Any, dict[str, str], World], body: str, status: int, says: str) -> None:
    client, headers, world = api
    before = world.application.recorder.max_notification_id()
    answer = client.post("/api/v1/cases", data=body,
                         headers={**headers, "Content-Type": "application/json"})
    assert answer.status_code == status, answer.get_data(as_text=True)
    assert answer.mimetype == "application/problem+json"
    assert says in json.dumps(answer.get_json(), ensure_ascii=False)
    assert world.application.recorder.max_notification_id() == before
    # The same body, made valid, is taken: the refusal was the input's, not the route's.
    assert client.post("/api/v1/cases", json=CASE, headers=headers).status_code == 201


def test_a_nul_in_a_query_is_refused_naming_the_parameter(
        api: tuple[Any, dict[str, str], World]) -> None:
    client, headers, _world = api
    answer = client.get("/api/v1/cases?include_closed=%00", headers=headers)
    assert answer.status_code == 400 and "include_closed" in answer.get_json()["detail"]


def test_a_form_with_control_characters_comes_back_with_the_field_named(
        web_app: Flask) -> None:
    web_world(web_app)
    anna = sign_in(web_app, "anna")
    token = csrf_token(anna, "/faelle/neu")
    page = anna.post("/faelle/neu", data={
        "csrf_token": token, "idempotency_key": "k1", "display_name": "Familie\x07 K.",
        "birth_year": "1990", "household_size": "3", "languages": "de",
        "housing_stage": "shared_accommodation", "residence_status": "gestattung"})
    assert page.status_code == 422
    body = page.get_data(as_text=True)
    # Named beside the other field's problem (no district), so one correction covers both.
    assert "Steuerzeichen" in body and "Bitte füllen Sie dieses Feld aus" in body


def test_an_hsds_import_names_a_broken_address_and_broken_text(app: Flask) -> None:
    application = app.extensions["fallnetz.application"]
    World.build(application)
    document = application.exchange.export_hsds()
    index, psz = next((i, o) for i, o in enumerate(document)
                      if o["name"] == "Psychosoziales Zentrum")
    psz["email"] = "psz@test.invalid\r\nBcc: everyone@test.invalid"
    psz["description"] = "Beratung\x00"
    report = application.exchange.import_hsds(Stamp.system("import"), document).as_dict()
    [refused] = [o for o in report["organisations"] if o["outcome"] == "refused"]
    details = {e["pointer"]: e["detail"] for e in refused["errors"]}
    assert details[f"#/{index}/email"] == "the inbox address is not an e-mail address"
    assert f"#/{index}/description" in details
    assert application.organisation_by_key("psz").inbox_address == "psz@test.invalid"


def test_the_hsds_command_refuses_deep_json_in_words(app: Flask, tmp_path: Path) -> None:
    document = tmp_path / "deep.json"
    document.write_text(DEEP)
    result = app.test_cli_runner().invoke(args=["hsds", "import", str(document)])
    assert result.exit_code == 1 and "nests too deeply" in result.output, result.output


def test_a_mail_that_can_never_be_sent_fails_with_its_reason(world: World,
                                                            updater: ViewUpdater) -> None:
    """An address from before the addresses were checked, with a line break in it."""
    application = world.application
    notification = Notification(
        id=uuid4(), referral_id=uuid4(), stage="receive", level=1,
        recipients=[{"kind": "organisation", "organisation_id": None,
                     "address": "alt@test.invalid\r\nBcc: x@test.invalid"}],
        subject="[Fallnetz] Frist", body="Bitte öffnen", by=Stamp.system("test"))
    application.save(notification)
    updater.catch_up()
    now = datetime(2026, 11, 30, 9, tzinfo=timezone.utc)
    with smtp_server() as (inbox, port):
        counts = send_due(application, updater.store, MailSettings(port=port), now)
        updater.catch_up()
        again = send_due(application, updater.store, MailSettings(port=port), now)
    assert counts["failed"] == 1 and again == {"delivered": 0, "retry": 0, "failed": 0,
                                               "skipped": 0, "unknown": 0}
    assert inbox.messages == []
    assert application.repository.get(notification.id).status == "failed"
    with updater.store.reading() as cur:
        assert cur.one("SELECT status FROM {p}notifications")["status"] == "failed"
