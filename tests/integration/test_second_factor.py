"""The second factor at sign-in (issue 17, sessions): supervisors, coordinators, admins and
the data protection officer confirm every sign-in with a code of an authenticator app
(TOTP); a code counts once; recovery codes sign in once each; the others may set one up.
Between password and code nobody is signed in."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
from flask import Flask
from flask.testing import FlaskClient

from domain import second_factor
from testbed.web import PASSWORD, RECOVERY_CODES, SECOND_FACTOR, csrf_token, events, sign_in, \
    web_world
from testbed.world import World

MORNING = datetime(2026, 11, 30, 8, 0, 10, tzinfo=timezone.utc)


@pytest.fixture
def world(web_app: Flask) -> World:
    # The clock stands at MORNING before the apps are set up, so their codes are of the
    # steps around it whatever the time of the run.
    web_app.extensions["fallnetz.application"].clock = lambda: MORNING
    return web_world(web_app)


def _password(app: Flask, user: str) -> tuple[FlaskClient, str]:
    client = app.test_client()
    answer = client.post("/anmelden", data={"csrf_token": csrf_token(client),
                                            "username": user, "password": PASSWORD})
    assert answer.status_code == 302
    return client, answer.headers["Location"]


def _code(client: FlaskClient, code: str, url: str = "/anmelden/code") -> object:
    return client.post(url, data={"csrf_token": csrf_token(client, url), "code": code})


def _secret_on(page: str) -> str:
    """The key the setup page shows for typing (in groups of four)."""
    shown = re.search(r'<code class="secret">([A-Z2-7 ]+)</code>', page)
    assert shown, "the setup page shows no key"
    return shown.group(1).replace(" ", "")


def _at(world: World, moment: datetime) -> None:
    world.application.clock = lambda: moment


def test_the_password_alone_signs_no_supervisor_in(web_app: Flask, world: World) -> None:
    before = events(web_app)
    birgit, next_step = _password(web_app, "birgit")
    assert next_step == "/anmelden/code"
    for page in ("/faelle", "/api/v1/cases", "/konto"):
        assert birgit.get(page).status_code in (302, 401)
    sent = birgit.post("/faelle/neu", data={"csrf_token": csrf_token(birgit, "/anmelden/code"),
                                            "display_name": "Familie X."})
    assert sent.status_code == 302 and "/anmelden" in sent.headers["Location"]
    assert events(web_app) == before


def test_a_code_signs_in_once_and_never_again(web_app: Flask, world: World) -> None:
    code = second_factor.code_at(SECOND_FACTOR, MORNING)
    birgit, _next = _password(web_app, "birgit")
    wrong = _code(birgit, "000000" if code != "000000" else "111111")
    assert wrong.status_code == 401  # type: ignore[attr-defined]
    assert "Dieser Code passt nicht" in wrong.get_data(as_text=True)  # type: ignore[attr-defined]
    signed_in = _code(birgit, code)
    assert signed_in.status_code == 302  # type: ignore[attr-defined]
    assert birgit.get("/faelle").status_code == 200
    # The same code once more (seen over her shoulder, or phished): refused.
    thief, _next = _password(web_app, "birgit")
    replay = _code(thief, code)
    assert replay.status_code == 401  # type: ignore[attr-defined]
    assert "bereits verwendet" in replay.get_data(as_text=True)  # type: ignore[attr-defined]
    assert thief.get("/faelle").status_code == 302
    # An older code of the same half-minute window is spent with it; the next one works.
    _at(world, MORNING + timedelta(seconds=30))
    earlier = second_factor.code_at(SECOND_FACTOR, MORNING, -1)
    assert _code(thief, earlier).status_code == 401  # type: ignore[attr-defined]
    following = second_factor.code_at(SECOND_FACTOR, MORNING + timedelta(seconds=30))
    assert _code(thief, following).status_code == 302  # type: ignore[attr-defined]


def test_five_wrong_codes_end_the_attempt(web_app: Flask, world: World) -> None:
    katrin, _next = _password(web_app, "katrin")
    right = second_factor.code_at(SECOND_FACTOR, MORNING)
    wrong = "123456" if right != "123456" else "654321"
    for _attempt in range(4):
        assert _code(katrin, wrong).status_code == 401  # type: ignore[attr-defined]
    fifth = _code(katrin, wrong)
    assert fifth.headers["Location"] == "/anmelden"  # type: ignore[attr-defined]
    assert _code(katrin, right).headers["Location"] == "/anmelden"  # type: ignore[attr-defined]
    assert katrin.get("/netzwerk").status_code == 302


def test_the_pending_sign_in_lapses(web_app: Flask, world: World) -> None:
    dora, _next = _password(web_app, "dora")
    later = MORNING + timedelta(minutes=6)
    _at(world, later)
    answer = _code(dora, second_factor.code_at(SECOND_FACTOR, later))
    assert answer.headers["Location"] == "/anmelden"  # type: ignore[attr-defined]
    assert dora.get("/datenschutz").status_code == 302


def test_a_recovery_code_signs_in_once(web_app: Flask, world: World) -> None:
    recovery = RECOVERY_CODES["root"][0]
    admin, _next = _password(web_app, "root")
    answer = _code(admin, recovery.upper().replace("-", " "))  # as typed from paper
    assert answer.status_code == 302  # type: ignore[attr-defined]
    landing = answer.headers["Location"]  # type: ignore[attr-defined]
    page = admin.get(landing).get_data(as_text=True)
    assert "Wiederherstellungscode" in page and "9 sind noch übrig" in page
    again, _next = _password(web_app, "root")
    assert _code(again, recovery).status_code == 401  # type: ignore[attr-defined]


def test_a_supervisor_without_an_app_sets_one_up_before_anything_else(
        web_app: Flask, world: World) -> None:
    result = web_app.test_cli_runner().invoke(args=["second-factor", "remove", "ulrike"])
    assert result.exit_code == 0, result.output
    _at(world, MORNING + timedelta(seconds=1))  # her sign-in comes after the removal
    ulrike, next_step = _password(web_app, "ulrike")
    assert next_step == "/anmelden/einrichten"
    assert ulrike.get("/eingang").status_code == 302
    page = ulrike.get("/anmelden/einrichten")
    assert page.headers["Cache-Control"] == "no-store"
    text = page.get_data(as_text=True)
    assert "<svg" in text and "QR" in text
    secret = _secret_on(text)
    # The secret being set up is not in the cookie (only a nonce that derives it).
    cookie = ulrike.get_cookie("session").value  # type: ignore[union-attr]
    serializer = web_app.session_interface.get_signing_serializer(  # type: ignore[attr-defined]
        web_app)
    session = serializer.loads(cookie)
    assert secret not in str(session)
    done = _code(ulrike, second_factor.code_at(secret, MORNING), "/anmelden/einrichten")
    assert "<svg" not in done.get_data(as_text=True)  # type: ignore[attr-defined]
    assert done.status_code == 200  # type: ignore[attr-defined]
    codes = re.findall(r"<li><code>([a-z0-9-]+)</code></li>",
                       done.get_data(as_text=True))  # type: ignore[attr-defined]
    assert len(codes) == 10
    assert ulrike.get("/eingang").status_code == 200
    account = world.application.directory.user("ulrike")
    assert account.second_factor == secret
    assert second_factor.recovery_hash(codes[3]) in account.recovery_hashes
    assert codes[3] not in str(account.__dict__)


def test_an_operator_removing_the_app_ends_every_session(
        web_app: Flask, world: World) -> None:
    runner = web_app.test_cli_runner()
    birgit = sign_in(web_app, "birgit")
    assert birgit.get("/faelle").status_code == 200
    assert runner.invoke(args=["second-factor", "remove", "birgit"]).exit_code == 0
    assert birgit.get("/faelle").status_code == 302
    assert runner.invoke(args=["second-factor", "remove", "nobody"]).exit_code != 0


def test_others_may_set_one_up_and_give_it_up_and_supervisors_may_not(
        web_app: Flask, world: World) -> None:
    anna = sign_in(web_app, "anna")
    account_page = anna.get("/konto").get_data(as_text=True)
    assert "nur mit Ihrem Passwort" in account_page
    text = anna.get("/anmelden/einrichten").get_data(as_text=True)
    secret = _secret_on(text)
    wrong = _code(anna, "12345x", "/anmelden/einrichten")
    assert wrong.status_code == 422  # type: ignore[attr-defined]
    assert _code(anna, second_factor.code_at(secret, MORNING),
                 "/anmelden/einrichten").status_code == 200  # type: ignore[attr-defined]
    # From now on Anna's sign-ins ask for the code too.
    _client, next_step = _password(web_app, "anna")
    assert next_step == "/anmelden/code"
    removed = anna.post("/konto/zweiter-faktor/entfernen",
                        data={"csrf_token": csrf_token(anna, "/konto")})
    assert removed.status_code == 302
    assert not world.application.directory.user("anna").has_second_factor()
    assert anna.get("/faelle").status_code == 200  # her own choice ends no session
    birgit = sign_in(web_app, "birgit")
    assert "Zweiten Faktor entfernen" not in birgit.get("/konto").get_data(as_text=True)
    refused = birgit.post("/konto/zweiter-faktor/entfernen",
                          data={"csrf_token": csrf_token(birgit, "/konto")})
    assert refused.status_code == 422
    assert world.application.directory.user("birgit").has_second_factor()


def test_new_recovery_codes_replace_the_old_ones(web_app: Flask, world: World) -> None:
    old = list(RECOVERY_CODES["katrin"])
    katrin = sign_in(web_app, "katrin")
    _at(world, MORNING + timedelta(minutes=2))
    answer = _code(katrin, second_factor.code_at(SECOND_FACTOR, MORNING + timedelta(minutes=2)),
                   "/konto/wiederherstellungscodes")
    new = re.findall(r"<li><code>([a-z0-9-]+)</code></li>",
                     answer.get_data(as_text=True))  # type: ignore[attr-defined]
    assert len(new) == 10 and not set(new) & set(old)
    account = world.application.directory.user("katrin")
    assert second_factor.recovery_hash(old[0]) not in account.recovery_hashes


def test_guessing_codes_is_throttled_per_user(web_app: Flask, world: World) -> None:
    right = second_factor.code_at(SECOND_FACTOR, MORNING)
    wrong = "123456" if right != "123456" else "654321"
    statuses = []
    for _round in range(3):  # each round: the password again, then wrong codes
        client, _next = _password(web_app, "birgit")
        for _attempt in range(4):
            statuses.append(_code(client, wrong).status_code)  # type: ignore[attr-defined]
    assert 429 in statuses and statuses.index(429) == 10
