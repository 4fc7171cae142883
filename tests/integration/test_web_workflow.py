"""The web's workflows as their users go through them, on SQLite and PostgreSQL: a caseworker
opens a case, records consent and sends a crisis referral chosen from the suggestions; the
receiver accepts it from the top of the inbox; the supervisor audits it. And the forms'
promises: errors in German beside the field, a double submit records once, a concurrent
change says "changed meanwhile" and overwrites nothing."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta, timezone
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest
from flask import Flask

from domain.application import ReferralNetwork
from domain.settings import Settings
from testbed.web import PASSWORD, csrf_token, events, sign_in, submit, web_world
from testbed.world import World
from readmodel.runner import ViewUpdater


NOW = datetime.now(timezone.utc)


@pytest.fixture
def world(web_app: Flask) -> World:
    return web_world(web_app)


def text(response) -> str:  # type: ignore[no-untyped-def]
    return response.get_data(as_text=True)


def case_id_of(response) -> str:  # type: ignore[no-untyped-def]
    match = re.search(r"/faelle/([0-9a-f-]{36})$", response.headers["Location"])
    assert match, response.headers["Location"]
    return match.group(1)


def open_case(client, **overrides: str) -> str:  # type: ignore[no-untyped-def]
    fields = {"display_name": "Familie T.", "birth_year": "1988", "household_size": "4",
              "languages": "ar, en", "interpreter_needed": "on", "district": "Sachsendorf",
              "housing_stage": "shared_accommodation", "residence_status": "gestattung",
              "needs": "health.psychosocial", **overrides}
    response = submit(client, "/faelle/neu", "/faelle/neu", **fields)
    assert response.status_code == 302, text(response)
    return case_id_of(response)


def test_a_crisis_referral_from_case_to_inbox_to_audit(web_app: Flask, world: World,
                                                      updater: ViewUpdater) -> None:
    real_clock = world.application.clock
    sending, accepting = NOW - timedelta(hours=2), NOW - timedelta(hours=1)
    world.application.clock = lambda: sending
    anna = sign_in(web_app, "anna")
    case_id = open_case(anna)
    page = text(anna.get(f"/faelle/{case_id}"))
    assert "Familie T." in page and "Psychosoziale Beratung" in page

    expires = (world.application.today() + timedelta(days=180)).isoformat()
    consent = submit(anna, f"/faelle/{case_id}", f"/faelle/{case_id}/einwilligungen",
                     sector="health", purposes="health", expires_on=expires)
    assert consent.status_code == 302, text(consent)
    assert "Die Einwilligung wurde erfasst" in text(anna.get(consent.headers["Location"]))

    form_url = f"/faelle/{case_id}/vermitteln?need=health.psychosocial&urgency=crisis"
    suggestions = text(anna.get(form_url))
    psz = str(world.org("psz"))
    first = re.search(r'name="receiver" id="r-1" value="([^"]+)"', suggestions)
    assert first and first.group(1) == f"{psz}:beratung", "the PSZ is suggested first"
    assert "Fristen bei sofortigem Senden" in suggestions and "Eingangsbestätigung" in suggestions

    sent = submit(anna, form_url, f"/faelle/{case_id}/vermitteln", receiver=f"{psz}:beratung",
                  reason="Akute Belastung, bitte Krisentermin.")
    assert sent.status_code == 302, text(sent)
    referral_page = text(anna.get(sent.headers["Location"]))
    assert "gesendet" in referral_page and "Die Vermittlung wurde gesendet" in referral_page
    referral_id = sent.headers["Location"].rsplit("/", 1)[1]

    updater.catch_up()
    nadia = sign_in(web_app, "nadia")
    inbox = text(nadia.get("/eingang"))
    top = re.search(r'<a href="/vermittlungen/([0-9a-f-]{36})">', inbox)
    assert top and top.group(1) == referral_id, "the crisis referral tops the inbox"
    seen = text(nadia.get(f"/vermittlungen/{referral_id}"))
    assert "Familie T." in seen, "the receiver sees the minimum case data under consent"
    world.application.clock = lambda: accepting
    nadia = sign_in(web_app, "nadia")  # an hour later: her first session has ended idle
    accepted = submit(nadia, f"/vermittlungen/{referral_id}",
                      f"/vermittlungen/{referral_id}/annehmen")
    world.application.clock = real_clock
    assert accepted.status_code == 302, text(accepted)
    nadia = sign_in(web_app, "nadia")
    assert "angenommen" in text(nadia.get(f"/vermittlungen/{referral_id}"))

    birgit = sign_in(web_app, "birgit")
    audit = text(birgit.get(f"/pruefung/faelle/{case_id}"))
    for who in ("Anna", "Nadia"):
        assert who in audit
    for what in ("Fall eröffnet", "Einwilligung erteilt", "Vermittlung erstellt und gesendet",
                 "angenommen"):
        assert what in audit, what
    assert re.search(r"\d\d\.\d\d\.\d{4} \d\d:\d\d", audit), "times are shown"

    export = birgit.get(f"/pruefung/faelle/{case_id}/verlauf.csv")
    assert export.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(text(export).lstrip("\ufeff")), delimiter=";"))
    accepted_rows = [r for r in rows if r[3] == "angenommen"]
    assert accepted_rows and accepted_rows[0][5:7] == ["gesendet", "angenommen"]
    assert accepted_rows[0][4] == "Nadia (Fachkraft, Psychosoziales Zentrum)"

    moment = (sending + timedelta(minutes=30)).astimezone(ZoneInfo("Europe/Berlin"))
    past = text(birgit.get(f"/pruefung/vermittlungen/{referral_id}",
                           query_string={"zeitpunkt": moment.strftime("%d.%m.%Y %H:%M")}))
    assert re.search(r"Stand am .*?</h2>\s*<dl class=\"facts\">\s*<dt>Status</dt><dd>gesendet",
                     past, re.S), "the state before accepting"
    for absurd, why in (("01.01.0001 00:00", "frühestens im Jahr 2000"),
                        ("31.12.9999 23:59", "liegt in der Zukunft"),
                        ("31.02.2026 10:00", "Den 31.02.2026 gibt es im Kalender nicht.")):
        refused = birgit.get(f"/pruefung/vermittlungen/{referral_id}",
                             query_string={"zeitpunkt": absurd})
        assert refused.status_code == 422, (absurd, refused.status_code)
        assert why in text(refused), absurd
        assert "B i t t e" not in text(refused), "the message is written as words"
    printable = text(birgit.get(f"/pruefung/faelle/{case_id}/druck"))
    assert "Gedruckt am" in printable and "Birgit" in printable


def test_bad_input_is_named_beside_its_field_in_german_and_stores_nothing(
        web_app: Flask, world: World) -> None:
    anna = sign_in(web_app, "anna")
    before = events(web_app)
    response = submit(anna, "/faelle/neu", "/faelle/neu", display_name="",
                      birth_year="neunzehnhundert", household_size="4",
                      district="Atlantis", housing_stage="own_flat",
                      residence_status="gestattung")
    page = text(response)
    assert response.status_code == 422
    assert events(web_app) == before
    assert re.search(r'id="e-display_name">Bitte füllen Sie dieses Feld aus', page)
    assert re.search(r'id="e-birth_year">Bitte geben Sie eine ganze Zahl ein', page)
    assert 'id="e-district">' in page
    assert 'aria-invalid="true"' in page and "Es wurde nichts gespeichert" in page
    assert 'value="neunzehnhundert"' in page, "what was typed is kept"


def test_a_double_submitted_form_records_once(web_app: Flask, world: World) -> None:
    anna = sign_in(web_app, "anna")
    case_id = open_case(anna)
    page = text(anna.get(f"/faelle/{case_id}"))
    from testbed.web import hidden_fields

    form = {**hidden_fields(page, f"/faelle/{case_id}/bedarfe"), "need": "housing.search"}
    first = anna.post(f"/faelle/{case_id}/bedarfe", data=form)
    after_first = events(web_app)
    second = anna.post(f"/faelle/{case_id}/bedarfe", data=form)
    assert first.status_code == second.status_code == 302
    assert events(web_app) == after_first
    case = world.application.repository.get(UUID(case_id))
    assert list(case.needs).count("housing.search") == 1


def test_a_concurrent_change_shows_changed_meanwhile_and_overwrites_nothing(
        web_app: Flask, world: World) -> None:
    anna, birgit = sign_in(web_app, "anna"), sign_in(web_app, "birgit")
    case_id = open_case(anna)
    from testbed.web import hidden_fields

    birgits_form = hidden_fields(text(birgit.get(f"/faelle/{case_id}")),
                                 f"/faelle/{case_id}/aufenthaltsstatus")
    annas = submit(anna, f"/faelle/{case_id}", f"/faelle/{case_id}/aufenthaltsstatus",
                   residence_status="duldung")
    assert annas.status_code == 302
    recorded = events(web_app)
    stale = birgit.post(f"/faelle/{case_id}/aufenthaltsstatus",
                        data={**birgits_form, "residence_status": "permit_25"})
    assert stale.status_code == 409
    assert "inzwischen geändert" in text(stale) and "neu" in text(stale)
    assert events(web_app) == recorded
    case = world.application.repository.get(UUID(case_id))
    assert case.residence_status == "duldung"


def test_the_receiver_no_longer_sees_case_data_once_consent_is_revoked(
        web_app: Flask, world: World) -> None:
    case_id = world.open_case()
    consent_id = world.consent(case_id)
    referral_id = world.send(case_id)
    nadia = sign_in(web_app, "nadia")
    assert "Familie T." in text(nadia.get(f"/vermittlungen/{referral_id}"))
    world.application.cases.revoke_consent(world.anna, case_id, consent_id, "Person widerruft.")
    page = text(nadia.get(f"/vermittlungen/{referral_id}"))
    assert "Familie T." not in page
    assert "Einwilligung der Person für diese Vermittlung gilt nicht mehr" in page
    assert "Bitte um Erstgespräch." not in page, "the referral's free text is case content"
    ulrike = sign_in(web_app, "ulrike")  # the receiving side's supervisor
    for url in (f"/pruefung/vermittlungen/{referral_id}",
                f"/pruefung/vermittlungen/{referral_id}/verlauf.csv",
                f"/pruefung/vermittlungen/{referral_id}/druck"):
        audit = ulrike.get(url)
        assert audit.status_code == 200
        assert "Bitte um Erstgespräch." not in text(audit) and "Familie T." not in text(audit)
    birgit = sign_in(web_app, "birgit")  # the sending side keeps its own record
    assert "Bitte um Erstgespräch." in text(birgit.get(f"/pruefung/vermittlungen/{referral_id}"))


def test_sign_in_refuses_wrong_passwords_alike_and_signs_out(web_app: Flask,
                                                             world: World) -> None:
    client = web_app.test_client()
    for user, password in (("anna", "wrong password"), ("nobody", "wrong password")):
        response = client.post("/anmelden", data={"csrf_token": csrf_token(client),
                                                  "username": user, "password": password})
        assert response.status_code == 401
        assert "Benutzername oder Passwort ist falsch" in text(response)
    anna = sign_in(web_app, "anna")
    assert anna.get("/faelle").status_code == 200
    anna.post("/abmelden", data={"csrf_token": csrf_token(anna, "/faelle")})
    assert anna.get("/faelle").status_code == 302


def test_repeated_failed_sign_ins_are_throttled_per_username(web_app: Flask,
                                                              world: World) -> None:
    client = web_app.test_client()
    token = csrf_token(client)
    for _attempt in range(10):
        failed = client.post("/anmelden", data={"csrf_token": token, "username": "anna",
                                                "password": "guessing"})
        assert failed.status_code == 401
    blocked = client.post("/anmelden", data={"csrf_token": token, "username": "anna",
                                             "password": "correct horse battery"})
    assert blocked.status_code == 429
    assert "Zu viele fehlgeschlagene Anmeldungen" in text(blocked)
    assert sign_in(web_app, "nadia").get("/eingang").status_code == 200
    # Anna herself, at her own computer, is not locked out by the guesses from elsewhere.
    at_her_desk = web_app.test_client()
    answer = at_her_desk.post("/anmelden", environ_base={"REMOTE_ADDR": "10.0.0.7"},
                              data={"csrf_token": csrf_token(at_her_desk), "username": "anna",
                                    "password": PASSWORD})
    assert answer.status_code == 302


def test_behind_the_proxy_each_colleague_has_an_address_of_their_own(
        application: ReferralNetwork, settings: Settings) -> None:
    """All requests come from the proxy; TRUSTED_PROXIES=1 takes the client's address
    from X-Forwarded-For, so one person's failures do not lock the office out."""
    from dataclasses import replace

    from web import create_app

    app = create_app(replace(settings, secret_key="test-secret", trusted_proxies=1),
                     application=application, config={"NUDGE_WORKERS": False})
    web_world(app)
    guesser = app.test_client()
    token = csrf_token(guesser)
    for _attempt in range(10):
        guesser.post("/anmelden", headers={"X-Forwarded-For": "10.0.0.66"},
                     data={"csrf_token": token, "username": "anna", "password": "guess"})
    assert guesser.post("/anmelden", headers={"X-Forwarded-For": "10.0.0.66"}, data={
        "csrf_token": token, "username": "anna", "password": PASSWORD}).status_code == 429
    colleague = app.test_client()
    assert colleague.post("/anmelden", headers={"X-Forwarded-For": "10.0.0.7"}, data={
        "csrf_token": csrf_token(colleague), "username": "anna",
        "password": PASSWORD}).status_code == 302


def test_a_removed_membership_ends_the_session(web_app: Flask, world: World) -> None:
    from domain.stamp import Stamp

    anna = sign_in(web_app, "anna")
    assert anna.get("/faelle").status_code == 200
    world.application.directory.remove_member(Stamp.system("test"), world.org("fsa-sachsendorf"),
                                              "anna")
    assert anna.get("/faelle").status_code == 302


def test_the_ui_speaks_english_on_request(web_app: Flask, world: World) -> None:
    anna = sign_in(web_app, "anna")
    assert 'lang="de"' in text(anna.get("/faelle"))
    anna.post("/sprache", data={"csrf_token": csrf_token(anna, "/faelle"), "language": "en",
                                "next": "/faelle"})
    page = text(anna.get("/faelle"))
    assert 'lang="en"' in page and "Open a case" in page


def test_a_stale_action_on_a_referral_says_changed_meanwhile(web_app: Flask,
                                                              world: World) -> None:
    from testbed.web import hidden_fields

    case_id = world.open_case()
    world.consent(case_id)
    referral_id = world.send(case_id)
    nadia, ulrike = sign_in(web_app, "nadia"), sign_in(web_app, "ulrike")
    url = f"/vermittlungen/{referral_id}"
    nadias_form = hidden_fields(text(nadia.get(url)), f"{url}/ablehnen")
    assert submit(ulrike, url, f"{url}/annehmen").status_code == 302
    recorded = events(web_app)
    stale = nadia.post(f"{url}/ablehnen", data={**nadias_form, "reason": "Keine Kapazität",
                                               "grounds": "no_capacity"})
    assert stale.status_code == 409
    assert "inzwischen geändert" in text(stale), "the conflict is said, not swallowed"
    assert events(web_app) == recorded
    assert world.referral(referral_id).status == "accepted"


def test_a_double_submitted_referral_is_sent_once(web_app: Flask, world: World) -> None:
    from testbed.web import hidden_fields

    anna = sign_in(web_app, "anna")
    case_id = open_case(anna)
    world.consent(UUID(case_id))
    form_url = f"/faelle/{case_id}/vermitteln?need=health.psychosocial&urgency=urgent"
    form = {**hidden_fields(text(anna.get(form_url)), f"/faelle/{case_id}/vermitteln"),
            "receiver": f"{world.org('psz')}:beratung", "reason": "Bitte Erstgespräch."}
    first = anna.post(f"/faelle/{case_id}/vermitteln", data=form)
    second = anna.post(f"/faelle/{case_id}/vermitteln", data=form)
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"]
    assert len(world.case(UUID(case_id)).referral_ids) == 1


def test_the_referral_form_takes_exactly_the_receivers_it_offers(web_app: Flask,
                                                                 world: World) -> None:
    # The POST checks the chosen receiver against that one organisation in the event store,
    # not against the views, which may not show a just registered or deactivated one yet.
    from uuid import uuid4

    from domain.stamp import Stamp
    from testbed.web import hidden_fields

    system = Stamp.system("test")
    anna = sign_in(web_app, "anna")
    case_id = open_case(anna)
    world.consent(UUID(case_id))
    form_url = f"/faelle/{case_id}/vermitteln?need=health.psychosocial&urgency=urgent"
    form = {**hidden_fields(text(anna.get(form_url)), f"/faelle/{case_id}/vermitteln"),
            "reason": "Bitte Erstgespräch."}
    psz = world.org("psz")
    fresh = world.application.directory.register_organisation(
        system, "neu", "Neue Beratung", "health", "neu@test.invalid"
    )["organisation_id"]
    world.application.directory.add_service(system, fresh, "beratung", {
        "name": "Beratung", "needs": ["health.psychosocial"], "capacity": 5})
    world.application.directory.deactivate_organisation(system, world.org("gesundheitsamt"),
                                                        "aufgelöst")

    def post(receiver: str):  # type: ignore[no-untyped-def]
        return anna.post(f"/faelle/{case_id}/vermitteln",
                         data={**form, "receiver": receiver, "idempotency_key": receiver})

    for refused in (f"{uuid4()}:", f"{psz}:nope", f"{psz}", "nonsense", f"{case_id}:",
                    f"{str(psz).upper()}:beratung", f"{world.org('gesundheitsamt')}:"):
        response = post(refused)
        assert response.status_code == 422, refused
        assert "Bitte wählen Sie eine der Optionen." in text(response), refused
    assert post(f"{fresh}:beratung").status_code == 302
    assert len(world.case(UUID(case_id)).referral_ids) == 1
