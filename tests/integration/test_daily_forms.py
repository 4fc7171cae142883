"""Forms a caseworker can trust (issue 20, points 5, 6 and 8): the audit's "state at a
moment" takes a date with or without a time and names what is wrong with one it cannot
take; a date in the right form that is no day of the calendar is called so; a consent
cannot run for decades; languages are typed by name; and a conflict caused by the user's
own other tab says so instead of blaming "someone"."""

from __future__ import annotations

import re
from datetime import timedelta
from uuid import UUID

from flask import Flask
from flask.testing import FlaskClient

from domain.application import BERLIN
from domain.organisation import Organisation
from domain.stamp import Stamp
from readmodel.runner import ViewUpdater
from testbed.web import csrf_token, events, hidden_fields, sign_in, submit, web_world


def _audit(client: FlaskClient, case_id: object, moment: str) -> tuple[int, str]:
    answer = client.get(f"/pruefung/faelle/{case_id}", query_string={"zeitpunkt": moment})
    return answer.status_code, answer.get_data(as_text=True)


def test_the_state_at_a_moment_takes_a_date_and_names_what_is_wrong(web_app: Flask) -> None:
    world = web_world(web_app)
    case_id = world.open_case()
    birgit = sign_in(web_app, "birgit")
    today = world.application.today()
    status, page = _audit(birgit, case_id, today.strftime("%d.%m.%Y"))  # a date alone
    assert status == 200, page
    status, page = _audit(birgit, case_id, "31.02.2026 10:00")
    assert status == 422 and "Den 31.02.2026 gibt es im Kalender nicht." in page
    status, page = _audit(birgit, case_id, "gestern")
    assert status == 422 and "Bitte geben Sie ein Datum ein (TT.MM.JJJJ)" in page
    tomorrow = (today + timedelta(days=1)).strftime("%d.%m.%Y")
    status, page = _audit(birgit, case_id, f"{tomorrow} 09:00")
    assert status == 422 and "liegt in der Zukunft" in page
    status, page = _audit(birgit, case_id, "01.01.1999")
    assert status == 422 and "frühestens im Jahr 2000" in page


def _case_page(client: FlaskClient, case_id: object) -> str:
    return client.get(f"/faelle/{case_id}").get_data(as_text=True)


def test_impossible_and_implausible_consent_dates_are_named(web_app: Flask) -> None:
    world = web_world(web_app)
    case_id = world.open_case()
    anna = sign_in(web_app, "anna")
    before = events(web_app)
    action = f"/faelle/{case_id}/einwilligungen"
    answer = submit(anna, f"/faelle/{case_id}", action, sector="health", purposes="health",
                    expires_on="31.02.2027")
    assert answer.status_code == 422
    assert "Den 31.02.2027 gibt es im Kalender nicht." in answer.get_data(as_text=True)
    answer = submit(anna, f"/faelle/{case_id}", action, sector="health", purposes="health",
                    expires_on="31.12.2099")
    assert answer.status_code == 422
    assert "höchstens 24 Monate" in answer.get_data(as_text=True)
    assert events(web_app) == before
    in_a_year = (world.application.today() + timedelta(days=365)).strftime("%d.%m.%Y")
    answer = submit(anna, f"/faelle/{case_id}", action, sector="health", purposes="health",
                    expires_on=in_a_year)
    assert answer.status_code == 302


def test_languages_are_typed_by_name(web_app: Flask) -> None:
    world = web_world(web_app)
    anna = sign_in(web_app, "anna")
    form = {"display_name": "Familie L.", "household_size": "2", "district": "Sandow",
            "housing_stage": "own_flat", "residence_status": "gestattung"}
    refused = submit(anna, "/faelle/neu", "/faelle/neu", **form, languages="Arabisch, xx")
    assert refused.status_code == 422
    assert "Unbekannte Sprache: “xx”" in refused.get_data(as_text=True)
    opened = submit(anna, "/faelle/neu", "/faelle/neu", **form,
                    languages="Arabisch, english, Farsi, uk, arabic")
    assert opened.status_code == 302
    case_id = UUID(opened.headers["Location"].rstrip("/").split("/")[-1])
    assert world.case(case_id).person["languages"] == ["ar", "en", "fa", "uk"]
    assert "Arabisch, Englisch, Persisch, Ukrainisch" in _case_page(anna, case_id)


def test_a_conflict_with_ones_own_other_tab_says_so(web_app: Flask) -> None:
    world = web_world(web_app)
    case_id = world.open_case()
    anna = sign_in(web_app, "anna")
    action = f"/faelle/{case_id}/bedarfe"
    older_tab = hidden_fields(_case_page(anna, case_id), action)
    assert submit(anna, f"/faelle/{case_id}", action, need="language").status_code == 302
    stale = anna.post(action, data={**older_tab, "need": "housing.search"})
    assert stale.status_code == 409
    assert "Sie haben dies inzwischen selbst geändert" in stale.get_data(as_text=True)
    # Birgit's change, seen from Anna's older tab: "someone".
    older_tab = hidden_fields(_case_page(anna, case_id), action)
    birgit = sign_in(web_app, "birgit")
    assert submit(birgit, f"/faelle/{case_id}", action, need="childcare").status_code == 302
    stale = anna.post(action, data={**older_tab, "need": "legal"})
    assert stale.status_code == 409
    page = stale.get_data(as_text=True)
    assert "Jemand anderes hat dies inzwischen geändert" in page and "selbst geändert" not in page


def test_a_forms_address_opened_as_a_page_leads_to_the_page_of_the_form(
        web_app: Flask) -> None:
    """Issue 20, point 11: a reload after a send, or the sign-in's way back to where a
    session ended, opens the form's address with GET: the page of the form, not "405"."""
    world = web_world(web_app)
    case_id = world.open_case()
    anna = sign_in(web_app, "anna")
    answer = anna.get(f"/faelle/{case_id}/bedarfe")
    assert answer.status_code == 302 and answer.headers["Location"] == f"/faelle/{case_id}"
    api = anna.get(f"/api/v1/cases/{case_id}/needs", headers={"Accept": "application/json"})
    assert api.status_code in (404, 405)  # the API keeps answering as an API


def test_buttons_look_like_their_consequence(web_app: Flask) -> None:
    """Issue 20, point 11: "Ablehnen" and "Als gescheitert abschließen" are red, the step
    forward is the primary button, the rest secondary."""
    world = web_world(web_app)
    case_id = world.open_case()
    world.consent(case_id)
    referral_id = world.send(case_id)
    page = sign_in(web_app, "nadia").get(f"/vermittlungen/{referral_id}").get_data(
        as_text=True)
    buttons = dict((text.strip(), css) for css, text in re.findall(
        r'<button type="submit"(?: class="([^"]*)")?>([^<]+)</button>', page))
    assert buttons["Annehmen"] == "" and buttons["Ablehnen"] == "danger"
    assert buttons["Weiterleiten"] == "secondary"


def test_overdue_referrals_show_in_the_navigation_and_the_supervisors_notices(
        web_app: Flask) -> None:
    """Issue 20, point 7: an overdue crisis referral is seen on every page of the receiver
    (the inbox's count in the navigation), and the supervisors' notices list their
    organisation's overdue referrals, not only the escalations addressed to them."""
    world = web_world(web_app)
    case_id = world.open_case()
    world.consent(case_id)
    referral_id = world.send(case_id, urgency="crisis")
    system = web_app.extensions["fallnetz.system"]
    ViewUpdater(system.application, system.read_store).catch_up()
    nadia = sign_in(web_app, "nadia")
    page = nadia.get("/faelle").get_data(as_text=True)
    assert '<span class="count">1</span>' in page and "überfällig" not in page
    later = world.application.clock() + timedelta(days=3)
    world.application.clock = lambda: later
    page = sign_in(web_app, "nadia").get("/faelle").get_data(as_text=True)  # a new day
    assert '<span class="count overdue">1 überfällig</span>' in page
    notices = sign_in(web_app, "ulrike").get("/benachrichtigungen").get_data(as_text=True)
    overdue = notices[notices.index("Überfällige Vermittlungen"):]
    assert f"/vermittlungen/{referral_id}" in overdue.split("</table>")[0]
    assert "Krise" in overdue.split("</table>")[0]


def test_person_data_and_housing_are_corrected_on_the_case_page(web_app: Flask) -> None:
    """Issue 20, point 9: tasks the API had are in the web too."""
    world = web_world(web_app)
    case_id = world.open_case()
    anna = sign_in(web_app, "anna")
    page = f"/faelle/{case_id}"
    corrected = submit(anna, page, f"{page}/person", display_name="Familie T.",
                       birth_year="1990", household_size="5", languages="Arabisch, Kurdisch",
                       interpreter_needed="on", district="Sachsendorf")
    assert corrected.status_code == 302, corrected.get_data(as_text=True)[-800:]
    case = world.case(case_id)
    assert case.person["household_size"] == 5 and case.person["languages"] == ["ar", "ku"]
    nothing = submit(anna, page, f"{page}/person", display_name="Familie T.",
                     birth_year="1990", household_size="5", languages="ar, ku",
                     interpreter_needed="on", district="Sachsendorf")
    assert nothing.status_code == 422  # the correction changes nothing: said so
    moved = submit(anna, page, f"{page}/unterbringung", housing_stage="own_flat")
    assert moved.status_code == 302 and world.case(case_id).housing_stage == "own_flat"


def test_the_directory_shows_contacts_and_districts_and_deactivates(web_app: Flask) -> None:
    world = web_world(web_app)
    system = Stamp.system("test")
    world.application.directory.add_service(system, world.org("mbe"), "wohnen", {
        "name": "Wohnungssuche", "needs": ["housing.search"], "districts": ["Sandow"],
        "capacity": 10})
    system_views = web_app.extensions["fallnetz.system"]
    ViewUpdater(system_views.application, system_views.read_store).catch_up()
    katrin = sign_in(web_app, "katrin")
    page = katrin.get("/verzeichnis").get_data(as_text=True)
    section = page[page.index('id="o-' + str(world.org("mbe"))):]
    assert "Wohnungssuche" in section and "Sandow" in section.split("</section>")[0]
    mbe = f"/verzeichnis/{world.org('mbe')}"
    refused = submit(katrin, "/verzeichnis", f"{mbe}/deaktivieren", reason="")
    assert refused.status_code == 422
    assert submit(katrin, "/verzeichnis", f"{mbe}/deaktivieren",
                  reason="Träger aufgelöst").status_code == 302
    assert not world.application.find(Organisation, world.org("mbe")).active
    ViewUpdater(system_views.application, system_views.read_store).catch_up()
    assert submit(katrin, "/verzeichnis", f"{mbe}/reaktivieren").status_code == 302
    assert world.application.find(Organisation, world.org("mbe")).active


def test_a_first_contact_recorded_afterwards_keeps_its_day(web_app: Flask) -> None:
    """Issue 20, point 9: the first contact can be backdated (recorded the next day), not
    into the future nor before the referral was sent; the views count from that day."""
    world = web_world(web_app)
    case_id = world.open_case()
    world.consent(case_id)
    sent_at = world.application.clock()
    referral_id = world.send(case_id)
    world.application.referrals.accept_referral(world.nadia, referral_id)
    later = sent_at + timedelta(days=2)
    world.application.clock = lambda: later
    nadia = sign_in(web_app, "nadia")
    page = f"/vermittlungen/{referral_id}"
    # Days as the offices count them, in Berlin (around midnight UTC it is the next day).
    today = world.application.today()
    future = (today + timedelta(days=1)).strftime("%d.%m.%Y")
    refused = submit(nadia, page, f"{page}/erstkontakt", made_on=future)
    assert refused.status_code == 422
    assert "in der Zukunft" in refused.get_data(as_text=True)
    before = (sent_at.astimezone(BERLIN).date() - timedelta(days=3)).strftime("%d.%m.%Y")
    assert submit(nadia, page, f"{page}/erstkontakt", made_on=before).status_code == 422
    yesterday = today - timedelta(days=1)
    assert submit(nadia, page, f"{page}/erstkontakt",
                  made_on=yesterday.strftime("%d.%m.%Y")).status_code == 302
    referral = world.referral(referral_id)
    assert referral.first_contact_at.astimezone(BERLIN).date() == yesterday
    system = web_app.extensions["fallnetz.system"]
    ViewUpdater(system.application, system.read_store).catch_up()
    with system.read_store.reading() as cur:
        row = cur.one("SELECT first_contact_at FROM {p}referrals WHERE referral_id = ?",
                      (str(referral_id),))
    # noon in Berlin is the same day in UTC
    assert row["first_contact_at"][:10] == yesterday.isoformat()


def test_a_new_legal_sphere_opens_the_page_at_the_handoffs_to_confirm(web_app: Flask) -> None:
    """Issue 20, point 2: after a residence status change that drafts lead handoffs the
    page opens at them, not at the residence form at the bottom."""
    world = web_world(web_app)
    case_id = world.open_case()
    anna = sign_in(web_app, "anna")
    changed = submit(anna, f"/faelle/{case_id}", f"/faelle/{case_id}/aufenthaltsstatus",
                     residence_status="permit_25")
    assert changed.status_code == 302
    assert world.case(case_id).referral_ids, "the change drafts lead handoffs"
    assert changed.headers["Location"].endswith("#entwuerfe")


def test_forwarding_takes_only_what_the_list_offers(web_app: Flask) -> None:
    world = web_world(web_app)
    case_id = world.open_case()
    world.consent(case_id)
    referral_id = world.send(case_id)
    nadia = sign_in(web_app, "nadia")
    page = f"/vermittlungen/{referral_id}"
    before = events(web_app)
    for receiver in (f"{world.org('fsa-sachsendorf')}:", f"{world.org('koordinierungsstelle')}:"):
        refused = nadia.post(f"{page}/weiterleiten", data={
            **hidden_fields(nadia.get(page).get_data(as_text=True), f"{page}/weiterleiten"),
            "receiver": receiver, "reason": "zurück"})
        assert refused.status_code == 422, receiver
    assert events(web_app) == before


def test_the_directory_filter_shortens_the_organisations_below(web_app: Flask) -> None:
    """Issue 20, point 11: the directory is filterable, its sections too."""
    world = web_world(web_app)
    system = web_app.extensions["fallnetz.system"]
    ViewUpdater(system.application, system.read_store).catch_up()
    anna = sign_in(web_app, "anna")
    everything = anna.get("/verzeichnis").get_data(as_text=True)
    filtered = anna.get("/verzeichnis?bedarf=benefits").get_data(as_text=True)
    sections = re.compile(r'<section class="panel" id="o-')
    assert len(sections.findall(filtered)) == 1 < len(sections.findall(everything))
    assert f'id="o-{world.org("jobcenter")}"' in filtered


def test_the_api_records_a_first_contact_afterwards_too(web_app: Flask) -> None:
    world = web_world(web_app)
    case_id = world.open_case()
    world.consent(case_id)
    referral_id = world.send(case_id)
    world.application.referrals.accept_referral(world.nadia, referral_id)
    today = world.application.today()
    nadia = sign_in(web_app, "nadia")
    headers = {"X-CSRFToken": csrf_token(nadia, "/eingang")}
    url = f"/api/v1/referrals/{referral_id}/start"
    future = nadia.post(url, headers=headers, json={"made_on": str(today + timedelta(days=2))})
    assert future.status_code == 422
    started = nadia.post(url, headers=headers, json={"made_on": str(today)})
    assert started.status_code == 200, started.get_json()
    assert world.referral(referral_id).first_contact_made
