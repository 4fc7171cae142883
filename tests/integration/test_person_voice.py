"""The person's own voice: a slip with an access code opens the person's own page with
their birth year; it shows their referrals' states in plain words and in their language,
takes feedback and a wish to withdraw a consent, and nothing of any other case. Wrong
codes are throttled without a hint; revoked and expired codes open nothing."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask

from domain.person_access import ACCESS_DAYS
from readmodel import queries
from readmodel.read_audit import reads_of_case
from testbed.web import csrf_token, events, hidden_fields, sign_in, web_world
from testbed.world import World


def _slip(client: Any, case_id: Any, language: str = "de") -> str:
    page = client.get(f"/faelle/{case_id}").get_data(as_text=True)
    answer = client.post(f"/faelle/{case_id}/zugang", data={
        **hidden_fields(page, f"/faelle/{case_id}/zugang"), "language": language})
    assert answer.status_code == 200, answer.get_data(as_text=True)[:2000]
    assert answer.headers["Cache-Control"] == "no-store"
    code = re.search(r'class="slip-code" dir="ltr">([A-Z0-9-]+)<', answer.get_data(as_text=True))
    assert code, "the slip shows the code"
    return code.group(1)


def _enter(client: Any, code: str, birth_year: Any) -> Any:
    return client.post("/mein-stand", data={"csrf_token": csrf_token(client, "/mein-stand"),
                                            "code": code, "birth_year": str(birth_year)})


@pytest.fixture
def voice(app: Flask) -> tuple[Flask, World]:
    return app, web_world(app)


def test_the_person_sees_their_referrals_in_their_language_and_is_heard(
        voice: tuple[Flask, World]) -> None:
    app, world = voice
    application = world.application
    case_id, done, waiting = world.case_with_two_referrals()
    other = world.open_case(person={"display_name": "Familie Z.", "birth_year": 1990,
                                    "household_size": 2, "district": "Sandow"})
    world.consent(other)
    world.send(other)
    anna = sign_in(app, "anna")
    code = _slip(anna, case_id, "ar")
    _slip(anna, other)  # the other case has a code too

    person = app.test_client()
    assert _enter(person, code, 1991).status_code == 401
    entered = _enter(person, code.lower().replace("-", " "), 1990)
    assert entered.status_code == 302 and entered.headers["Location"].endswith(
        "/mein-stand/status")
    assert code not in entered.headers["Location"]
    person.get("/mein-stand/sprache/ar")
    page = person.get("/mein-stand/status").get_data(as_text=True)
    assert 'lang="ar" dir="rtl"' in page
    assert page.count('<article class="person-request"') == 2
    other_case = application.repository.get(other)
    for foreign in (*map(str, other_case.referral_ids), *other_case.consents):
        assert foreign not in page, "nothing of the other case"
    assert "Psychosoziales Zentrum" in page and "Jobcenter" in page
    for hidden in ("Familie T.", "Familie Z.", "nadia", "anna", "Beratung abgeschlossen",
                   "Bitte Erstgespräch"):
        assert hidden not in page, hidden
    reads = reads_of_case(world_views(app), str(case_id))
    assert any(r["what"] == "person_page" and r["role"] == "person" for r in reads)

    feedback = person.post(f"/mein-stand/rueckmeldung/{done}", data={
        "csrf_token": csrf_token(person, "/mein-stand/status"), "helped": "much",
        "understood": "partly", "what_would_help": "Eine Dolmetscherin"})
    assert feedback.status_code == 302
    assert application.repository.get(done).feedback == {"person": {
        "helped": "much", "understood": "partly", "what_would_help": "Eine Dolmetscherin"}}
    again = person.post(f"/mein-stand/rueckmeldung/{done}", data={
        "csrf_token": csrf_token(person, "/mein-stand/status"), "helped": "not_at_all",
        "understood": "no"})
    assert again.status_code == 422, "a second tab does not overwrite the answer"
    refused = person.post(f"/mein-stand/rueckmeldung/{waiting}", data={
        "csrf_token": csrf_token(person, "/mein-stand/status"), "helped": "much",
        "understood": "yes"})
    assert refused.status_code == 422
    foreign = application.repository.get(other).referral_ids[0]
    assert person.post(f"/mein-stand/rueckmeldung/{foreign}", data={
        "csrf_token": csrf_token(person, "/mein-stand/status"), "helped": "much",
        "understood": "yes"}).status_code == 404, "another case's referral is not theirs"

    foreign_consent = next(iter(other_case.consents))
    assert person.post("/mein-stand/widerruf", data={
        "csrf_token": csrf_token(person, "/mein-stand/status"),
        "consent_id": foreign_consent}).status_code == 422
    assert not application.repository.get(other).revocation_requests
    consent_id = next(iter(application.repository.get(case_id).consents))
    asked = person.post("/mein-stand/widerruf", data={
        "csrf_token": csrf_token(person, "/mein-stand/status"), "consent_id": consent_id})
    assert asked.status_code == 302
    assert consent_id in application.repository.get(case_id).revocation_requests

    views = world_views(app)
    inbox = anna.get("/eingang").get_data(as_text=True)
    assert "Anliegen der Menschen selbst" in inbox or "Requests of the people" in inbox
    history = anna.get(f"/vermittlungen/{done}").get_data(as_text=True)
    feedback_part = history[history.find('id="rueckmeldung"'):]
    assert "Eine Dolmetscherin" in feedback_part and "auf ihrer eigenen Seite" in \
        feedback_part, feedback_part[:1500]
    told = anna.post(f"/vermittlungen/{done}/rueckmeldung", data={
        **hidden_fields(history, f"/vermittlungen/{done}/rueckmeldung"), "helped": "little",
        "understood": "yes"})
    assert told.status_code == 302
    assert set(application.repository.get(done).feedback) == {"person", "caseworker"}, \
        "what the caseworker records never replaces the person's own answer"
    assert queries.feedback_per_service(views, "2000-01-01", "2100-01-01")[0]["answers"] == 1


def world_views(app: Flask) -> Any:
    from readmodel.runner import ViewUpdater
    from readmodel.store import ViewStore

    updater = ViewUpdater(app.extensions["fallnetz.application"],
                          ViewStore(app.extensions["fallnetz.settings"]))
    updater.catch_up()
    return updater.store


def test_wrong_codes_are_slowed_down_and_say_nothing(voice: tuple[Flask, World]) -> None:
    app, world = voice
    case_id = world.open_case()
    anna = sign_in(app, "anna")
    code = _slip(anna, case_id)
    person = app.test_client()
    before = events(app)
    answers = [_enter(person, code, 1970 + i) for i in range(10)]
    texts = {re.sub(r'name="csrf_token" value="[^"]+"', "", a.get_data(as_text=True))
             .replace(code, "X").replace(str(1970 + i), "Y") for i, a in enumerate(answers)}
    unknown = _enter(person, "AAAA-BBBB-CCCC", 1990)
    assert [a.status_code for a in answers] == [401] * 10 and unknown.status_code == 401
    assert texts == {re.sub(r'name="csrf_token" value="[^"]+"', "", unknown.get_data(
        as_text=True)).replace("AAAA-BBBB-CCCC", "X").replace("1990", "Y")}, \
        "a wrong birth year and an unknown code read alike"
    assert _enter(person, code, 1990).status_code == 429, "the eleventh try waits"
    assert _enter(person, "ZZZZ-YYYY-XXXX", 1990).status_code == 401, \
        "others at the same address (their own codes) are not locked out"
    assert events(app) == before


def test_revoked_renewed_and_expired_codes_open_nothing(voice: tuple[Flask, World]) -> None:
    app, world = voice
    application = world.application
    case_id = world.open_case()
    anna = sign_in(app, "anna")
    first = _slip(anna, case_id)
    second = _slip(anna, case_id)  # a new slip: the first code stops working
    person = app.test_client()
    assert _enter(person, first, 1990).status_code == 401
    assert _enter(person, second, 1990).status_code == 302
    page = anna.get(f"/faelle/{case_id}").get_data(as_text=True)
    assert anna.post(f"/faelle/{case_id}/zugang/sperren", data=hidden_fields(
        page, f"/faelle/{case_id}/zugang/sperren")).status_code == 302
    assert person.get("/mein-stand/status").status_code == 302, "an open page closes"
    assert _enter(person, second, 1990).status_code == 401
    third = _slip(anna, case_id)
    application.clock = lambda: _later(application, ACCESS_DAYS + 1)
    assert _enter(app.test_client(), third, 1990).status_code == 401


def _later(application: Any, days: int) -> Any:
    from datetime import datetime, timezone

    return datetime.now(timezone.utc) + timedelta(days=days)


def test_without_a_birth_year_there_is_no_slip(voice: tuple[Flask, World]) -> None:
    app, world = voice
    case_id = world.open_case(person={"display_name": "Familie O.", "household_size": 1,
                                      "district": "Mitte"})
    anna = sign_in(app, "anna")
    page = anna.get(f"/faelle/{case_id}").get_data(as_text=True)
    answer = anna.post(f"/faelle/{case_id}/zugang", data={
        **hidden_fields(page, f"/faelle/{case_id}/zugang"), "language": "uk"})
    assert answer.status_code == 422 and "Geburtsjahr" in answer.get_data(as_text=True)


def test_own_goals_are_shown_to_every_organisation_with_access(
        voice: tuple[Flask, World]) -> None:
    app, world = voice
    case_id = world.open_case()
    world.consent(case_id)
    referral_id = world.send(case_id)
    anna = sign_in(app, "anna")
    page = anna.get(f"/faelle/{case_id}").get_data(as_text=True)
    saved = anna.post(f"/faelle/{case_id}/eigene-ziele", data={
        **hidden_fields(page, f"/faelle/{case_id}/eigene-ziele"),
        "goals": "Eine Wohnung für die Familie", "abilities": "Spricht Englisch, fährt Auto"})
    assert saved.status_code == 302
    nadia = sign_in(app, "nadia")
    shown = nadia.get(f"/vermittlungen/{referral_id}").get_data(as_text=True)
    assert "Eine Wohnung für die Familie" in shown and "fährt Auto" in shown


def test_the_consent_form_prints_in_the_persons_language(voice: tuple[Flask, World]) -> None:
    from pypdf import PdfReader
    import io

    app, world = voice
    case_id = world.open_case()
    world.consent(case_id)
    anna = sign_in(app, "anna")
    consent_id = next(iter(world.application.repository.get(case_id).consents))
    for language, word in (("uk", "Згода"), ("ru", "Согласие"), ("de", "Einwilligung")):
        pdf = anna.get(f"/faelle/{case_id}/einwilligungen/{consent_id}/formular.pdf"
                       f"?sprache={language}")
        assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
        text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages)
        assert word in text, (language, text[:300])
    arabic = anna.get(f"/faelle/{case_id}/einwilligungen/{consent_id}/formular.pdf"
                      "?sprache=ar")
    assert arabic.status_code == 200 and arabic.data.startswith(b"%PDF")
    page = anna.get(f"/faelle/{case_id}").get_data(as_text=True)
    signed = anna.post(f"/faelle/{case_id}/einwilligungen/unterschrieben", data={
        **hidden_fields(page, f"/faelle/{case_id}/einwilligungen/unterschrieben"),
        "consent_id": consent_id})
    assert signed.status_code == 302
    assert world.application.repository.get(case_id).consents[consent_id]["form_signed"]


def test_a_slips_link_leaves_the_address_and_closes_anothers_page(
        voice: tuple[Flask, World]) -> None:
    app, world = voice
    first, second = world.open_case(), world.open_case()
    anna = sign_in(app, "anna")
    code_a, code_b = _slip(anna, first), _slip(anna, second, "uk")
    phone = app.test_client()
    assert _enter(phone, code_a, 1990).status_code == 302
    scanned = phone.get(f"/mein-stand?zugang={code_b}&sprache=uk")
    assert scanned.status_code == 303 and scanned.headers["Location"] == "/mein-stand"
    form = phone.get("/mein-stand")
    text = form.get_data(as_text=True)
    assert form.status_code == 200 and f'value="{code_b}"' in text and 'lang="uk"' in text
    assert form.headers["Cache-Control"] == "no-store"
    assert phone.get("/mein-stand/status").status_code == 302, "the first person's page closed"
    assert phone.get("/mein-stand/gibt-es-nicht").status_code == 404
    assert "Тут нічого немає" in phone.get("/mein-stand/gibt-es-nicht").get_data(as_text=True)
