"""The needs register end to end in the web (SQLite and PostgreSQL): a district conference
records eight needs from four organisations, the coordinator groups them into three need
groups and makes two agreements (one kept, one missed and escalated to the coordination
office), reports to politics; the documentation pack (PDF) and the politics CSV hold exactly
those needs, groups and agreements with their statuses."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest
from flask import Flask
from flask.testing import FlaskClient
from pypdf import PdfReader

from domain.deadlines import calendar_for
from domain.notification import AGREEMENT_MISSED, Notification
from readmodel.runner import ViewUpdater
from testbed.web import csrf_token, hidden_fields, sign_in, web_world
from testbed.world import World

NEEDS = [  # (text, sector, raised by)
    ("Keine freien Kitaplätze für neu zugezogene Familien", "education", ["mbe", "psz"]),
    ("Wartezeit auf Kinderarzttermine über acht Wochen", "health", ["gesundheitsamt"]),
    ("Zu wenige Sprachmittler für Arztbesuche", "health", ["psz", "gesundheitsamt"]),
    ("Kein Schulplatz für Jugendliche ab 16", "education", ["mbe"]),
    ("Sozialwohnungen für große Familien fehlen", "housing", ["sozialamt"]),
    ("Lange Bearbeitungszeiten bei Wohnberechtigungsscheinen", "housing", ["sozialamt"]),
    ("Psychotherapie in Muttersprache fehlt", "health", ["psz"]),
    ("Hausaufgabenhilfe am Nachmittag fehlt", "education", ["mbe", "sozialamt"]),
]
GROUPS = {  # title → (need of the catalogue, the needs' numbers)
    "Kinderbetreuung und Schule": ("childcare", [1, 4, 8]),
    "Gesundheitsversorgung": ("health", [2, 3, 7]),
    "Wohnraum": ("housing.search", [5, 6]),
}


def text(response: Any) -> str:
    return response.get_data(as_text=True)


def post(client: FlaskClient, page: str, target: str, **fields: Any) -> Any:
    """The form of ``page`` that posts to ``target``, with its hidden fields."""
    data = {**hidden_fields(text(client.get(page)), target), **fields}
    return client.post(target, data=data)


@pytest.fixture
def coordinator(web_app: Flask) -> tuple[FlaskClient, World]:
    world = web_world(web_app)
    return sign_in(web_app, "katrin"), world


def test_a_conference_from_needs_to_politics(web_app: Flask, updater: ViewUpdater,
                                              coordinator: tuple[FlaskClient, World]) -> None:
    katrin, world = coordinator
    application = web_app.extensions["fallnetz.application"]
    org = {k: str(world.org(k)) for k in ("mbe", "psz", "gesundheitsamt", "sozialamt",
                                         "jobcenter")}
    today = application.today()
    # The conference, with its participants.
    response = post(katrin, "/netzwerk/bedarfsregister", "/netzwerk/gremien",
                    kind="conference", name="Stadtteilkonferenz Sandow", district="Sandow",
                    held_on=today.strftime("%d.%m.%Y"),
                    participants=[org["mbe"], org["psz"]])
    assert response.status_code == 302, text(response)
    forum_page = response.headers["Location"]
    forum_id = forum_page.rsplit("/", 1)[1]
    # Eight needs from four organisations.
    for need_text, sector, raised_by in NEEDS:
        response = post(katrin, forum_page, f"{forum_page}/bedarfe", text=need_text,
                        sector=sector, raised_by=[org[k] for k in raised_by])
        assert response.status_code == 302, text(response)
    updater.catch_up()
    page = text(katrin.get(forum_page))
    for need_text, _s, _r in NEEDS:
        assert need_text in page
    # Bad input names the field and stores nothing.
    before = application.recorder.max_notification_id()
    refused = post(katrin, forum_page, f"{forum_page}/bedarfe", text=" ", sector="moon")
    assert refused.status_code == 422
    assert "Bitte füllen Sie dieses Feld aus." in text(refused)
    assert application.recorder.max_notification_id() == before
    # Three need groups.
    group_ids = {}
    for title, (need, numbers) in GROUPS.items():
        response = post(katrin, forum_page, "/netzwerk/bedarfsgruppen", action="new",
                        title=title, need=need, from_forum=forum_id,
                        needs=[f"{forum_id}:{n}" for n in numbers])
        assert response.status_code == 302, text(response)
    updater.catch_up()
    index = text(katrin.get("/netzwerk/bedarfsregister"))
    for title in GROUPS:
        match = re.search(r'href="/netzwerk/bedarfsgruppen/([0-9a-f-]+)">' + title, index)
        assert match, title
        group_ids[title] = match.group(1)
    assert "Every need is in a group." not in index and "Jeder Bedarf ist in einer Gruppe." \
        in index
    # Two agreements: the Sozialamt's is kept, the Gesundheitsamt's is missed.
    calendar = calendar_for(application.network.state)
    due = today + timedelta(days=1)
    while not calendar.is_working_day(due):
        due += timedelta(days=1)
    agreements = {}
    for key, what, title in (("sozialamt", "Liste freier Sozialwohnungen vorlegen",
                              "Wohnraum"),
                             ("gesundheitsamt", "Sprachmittlerpool für Praxen aufbauen",
                              "Gesundheitsversorgung")):
        response = post(katrin, forum_page, f"{forum_page}/verabredungen",
                        organisation_id=org[key], what=what,
                        due_on=due.strftime("%d.%m.%Y"), group_id=group_ids[title])
        assert response.status_code == 302, text(response)
    updater.catch_up()
    forum_html = text(katrin.get(forum_page))
    for what in ("Liste freier Sozialwohnungen vorlegen",
                 "Sprachmittlerpool für Praxen aufbauen"):
        agreements[what] = re.search(r'href="/verabredungen/([0-9a-f-]+)">' + what,
                                     forum_html).group(1)
    # The agreement is in the Sozialamt's inbox; petra marks it done there.
    petra = sign_in(web_app, "petra")
    inbox = text(petra.get("/eingang"))
    assert "Liste freier Sozialwohnungen vorlegen" in inbox
    assert "Sprachmittlerpool" not in inbox  # another organisation's
    kept = f"/verabredungen/{agreements['Liste freier Sozialwohnungen vorlegen']}"
    response = post(petra, kept, f"{kept}/erledigt", note="Liste an die Koordination gesandt")
    assert response.status_code == 302, text(response)
    # Another organisation's staff do not see it at all.
    assert sign_in(web_app, "claudia").get(kept).status_code == 404
    # The scan after the day: the missed one escalates once, to the coordination office.
    updater.catch_up()
    from workers.escalation import scan_agreements

    later = calendar.end_of(due) + timedelta(minutes=1)
    assert scan_agreements(application, updater.store, later) == [
        agreements["Sprachmittlerpool für Praxen aufbauen"]]
    updater.catch_up()
    assert scan_agreements(application, updater.store, later) == []
    missed_id = agreements["Sprachmittlerpool für Praxen aufbauen"]
    notification = application.find(Notification, Notification.id_for_missed_agreement(
        UUID(missed_id), due))
    assert notification is not None and notification.stage == AGREEMENT_MISSED
    office = str(world.org("koordinierungsstelle"))
    assert [str(r["organisation_id"]) for r in notification.recipients
            if r["kind"] == "organisation"] == [office]
    assert "Sprachmittler" not in notification.subject + notification.body
    # Report to politics: all three groups.
    politics = text(katrin.get("/netzwerk/politik"))
    hidden = re.findall(r'name="groups" value="([^"]+)"', politics)
    assert sorted(hidden) == sorted(group_ids.values())
    response = katrin.post("/netzwerk/politik/gesendet", data={
        "csrf_token": csrf_token(katrin, "/netzwerk/politik"),
        "idempotency_key": "politik-1", "recipient": "Sozialausschuss",
        "sent_on": today.isoformat(), "groups": hidden})
    assert response.status_code == 302, text(response)
    updater.catch_up()
    # The politics CSV: exactly the eight needs, in their groups, with their statuses.
    rows = list(csv.reader(io.StringIO(text(katrin.get("/netzwerk/politik.csv"))
                                       .lstrip("\ufeff")), delimiter=";"))
    header, body = rows[0], rows[1:]
    need_column, group_column = header.index("Bedarf"), header.index("Bedarfsgruppe")
    status_column, agreement_column = header.index("Status"), header.index("Verabredungen")
    assert sorted(r[need_column] for r in body) == sorted(n[0] for n in NEEDS)
    for title, (_need, numbers) in GROUPS.items():
        assert sorted(r[need_column] for r in body if r[group_column] == title) == \
            sorted(NEEDS[n - 1][0] for n in numbers)
    assert {r[status_column].split(" am ")[0] for r in body} == {"an die Politik gemeldet"}
    housing = {r[agreement_column] for r in body if r[group_column] == "Wohnraum"}
    assert housing == {f"Sozialamt: Liste freier Sozialwohnungen vorlegen (bis "
                       f"{due:%d.%m.%Y}, erledigt)"}
    health = {r[agreement_column] for r in body if r[group_column] == "Gesundheitsversorgung"}
    assert health == {f"Gesundheitsamt: Sprachmittlerpool für Praxen aufbauen (bis "
                      f"{due:%d.%m.%Y}, offen)"}
    assert {r[agreement_column] for r in body
            if r[group_column] == "Kinderbetreuung und Schule"} == {""}
    # The documentation pack as PDF: the same needs, groups and agreements.
    pdf = katrin.get(f"{forum_page}/dokumentation.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    content = " ".join(" ".join(page.extract_text().split())
                       for page in PdfReader(io.BytesIO(pdf.data)).pages)
    for need_text, _s, _r in NEEDS:
        assert " ".join(need_text.split()) in content, need_text
    for title in GROUPS:
        assert title in content
    assert content.count("an die Politik gemeldet") >= 3
    for what, status in (("Liste freier Sozialwohnungen vorlegen", "erledigt"),
                         ("Sprachmittlerpool für Praxen aufbauen", "offen")):
        assert re.search(re.escape(what) + r".{0,120}" + status, content), what
    assert "Liste an die Koordination gesandt" in content
    assert "Netzwerkkarte" in content and "Kontaktübersicht" in content
    assert "Handreichung" in content
    # The page of the pack says the same.
    pack = text(katrin.get(f"{forum_page}/dokumentation"))
    assert all(n[0] in pack for n in NEEDS)
    # Six months after the report, the open groups come up again in the overview.
    application.clock = lambda: later + timedelta(days=190)
    katrin = sign_in(web_app, "katrin")  # the session of half a year ago has ended
    overview = text(katrin.get("/netzwerk"))
    assert "Vor sechs Monaten gemeldet und noch offen" in overview
    for title in GROUPS:
        assert title in overview
    # A group resolved no longer does.
    group_page = f"/netzwerk/bedarfsgruppen/{group_ids['Wohnraum']}"
    response = post(katrin, group_page, f"{group_page}/status",
                    note="Neue Sozialwohnungen in Sandow bezogen")
    assert response.status_code == 302, text(response)
    updater.catch_up()
    history = text(katrin.get(group_page))
    assert "Katrin" in history and "erledigt" in history
    overview = text(katrin.get("/netzwerk"))
    assert "Wohnraum" not in overview.split("Vor sechs Monaten gemeldet")[1].split("</section>")[0]
    # Reopened, it is as far as it had come: its agreement was made.
    response = post(katrin, group_page, f"{group_page}/status", note="Wieder zu wenig Wohnraum")
    assert response.status_code == 302, text(response)
    updater.catch_up()
    assert '<span class="status status-agreed">Verabredung getroffen</span>' in text(
        katrin.get(group_page))
    assert "status-agreed" in text(katrin.get("/netzwerk/bedarfsregister"))


def test_only_the_coordination_office_keeps_the_register(web_app: Flask) -> None:
    web_world(web_app)
    anna = sign_in(web_app, "anna")
    assert anna.get("/netzwerk/bedarfsregister").status_code == 403
    assert anna.get("/netzwerk/politik.csv").status_code == 403


def test_bad_input_names_its_field_and_stores_nothing(web_app: Flask,
                                                      coordinator: tuple[FlaskClient, World],
                                                      ) -> None:
    katrin, world = coordinator
    application = web_app.extensions["fallnetz.application"]
    response = post(katrin, "/netzwerk/bedarfsregister", "/netzwerk/gremien",
                    kind="conference", name="Runder Tisch", district="Mitte",
                    held_on=application.today().isoformat(),
                    participants=[str(world.org("mbe"))])
    forum_page = response.headers["Location"]
    forum_id = forum_page.rsplit("/", 1)[1]
    post(katrin, forum_page, f"{forum_page}/bedarfe", text="Kein Jugendtreff",
         sector="education",
         raised_by=[str(world.org("mbe"))])
    calendar = calendar_for(application.network.state)
    saturday = application.today() + timedelta(days=(5 - application.today().weekday()) % 7
                                                or 7)
    cases = [  # (form page, target, fields, the field named, words of its message)
        ("/netzwerk/bedarfsregister", "/netzwerk/gremien",
         {"kind": "conference", "name": "Ohne Tag", "district": "Mitte"}, "held_on",
         "Datum"),
        ("/netzwerk/bedarfsregister", "/netzwerk/gremien",
         {"kind": "conference", "name": "Irgendwo", "district": "Atlantis",
          "held_on": "01.02.2026", "participants": [str(world.org("mbe"))]}, "district",
         "Atlantis"),
        (forum_page, f"{forum_page}/bedarfe",
         {"text": "Ein Bedarf", "sector": "health", "raised_on": "31.02.2026"}, "raised_on",
         "31.02.2026 gibt es im Kalender nicht"),
        (forum_page, f"{forum_page}/bedarfe", {"text": "Ein Bedarf", "sector": "health"},
         "raised_by", "Organisationen"),
        (forum_page, f"{forum_page}/bedarfe", {"text": "x" * 1001, "sector": "health",
                                               "raised_by": [str(world.org("mbe"))]},
         "text", "1000"),
        (forum_page, "/netzwerk/bedarfsgruppen",
         {"action": "new", "title": "Gruppe", "needs": ["kein-bedarf"],
          "from_forum": forum_id}, "needs", "Diesen Bedarf gibt es nicht"),
        (forum_page, "/netzwerk/bedarfsgruppen",
         {"action": "new", "title": "", "needs": [f"{forum_id}:1"], "from_forum": forum_id},
         "title", "Titel"),
        (forum_page, f"{forum_page}/verabredungen",
         {"organisation_id": str(world.org("psz")), "what": "Etwas",
          "due_on": saturday.isoformat()}, "due_on", "kein Arbeitstag"),
        (forum_page, f"{forum_page}/verabredungen",
         {"organisation_id": str(world.org("psz")), "what": "Etwas",
          "due_on": (application.today() - timedelta(days=1)).isoformat()}, "due_on",
         "vorbei"),
        (forum_page, f"{forum_page}/verabredungen",
         {"organisation_id": "nicht-eine-id", "what": "Etwas",
          "due_on": application.today().isoformat()}, "organisation_id",
         "Bitte wählen Sie eine der Optionen"),
    ]
    assert not calendar.is_working_day(saturday)
    for page, target, fields, field, words in cases:
        before = application.recorder.max_notification_id()
        response = post(katrin, page, target, **fields)
        body = text(response)
        assert response.status_code == 422, (target, fields, response.status_code)
        assert f'href="#' in body and f"f-{field}" in body, (field, body[-2000:])
        assert words in body, (words, target)
        assert application.recorder.max_notification_id() == before, target
    # An agreement that does not exist is not found.
    missing = katrin.post("/verabredungen/00000000-0000-0000-0000-000000000000/erledigt",
                          data={"csrf_token": csrf_token(katrin), "idempotency_key": "k",
                                "expected_version": "1", "note": "x"})
    assert missing.status_code == 404


def test_a_double_submit_records_once_and_a_stale_form_conflicts(
        web_app: Flask, updater: ViewUpdater, coordinator: tuple[FlaskClient, World]) -> None:
    katrin, world = coordinator
    application = web_app.extensions["fallnetz.application"]
    response = post(katrin, "/netzwerk/bedarfsregister", "/netzwerk/gremien",
                    kind="working_group", name="AG Kita und Schule",
                    lead_organisation_id=str(world.org("mbe")))
    forum_page = response.headers["Location"]
    form = {**hidden_fields(text(katrin.get(forum_page)), f"{forum_page}/bedarfe"),
            "text": "Kein Ganztagsplatz", "sector": "education", "district": "Mitte",
            "raised_by": [str(world.org("mbe"))]}
    first = katrin.post(f"{forum_page}/bedarfe", data=form)
    before = application.recorder.max_notification_id()
    again = katrin.post(f"{forum_page}/bedarfe", data=form)  # the same form, sent twice
    assert first.status_code == again.status_code == 302
    assert application.recorder.max_notification_id() == before
    assert text(katrin.get(forum_page)).count("<td>Kein Ganztagsplatz <a") == 1
    # Two tabs: the participants changed in one, the other's form is stale.
    page = text(katrin.get(forum_page))
    target = f"{forum_page}/teilnehmende"
    stale = hidden_fields(page, target)
    assert post(katrin, forum_page, target,
                participants=[str(world.org("psz"))]).status_code == 302
    conflict = katrin.post(target, data={**stale,
                                         "participants": [str(world.org("jobcenter"))]})
    assert conflict.status_code == 409
    assert "inzwischen" in text(conflict)
    updater.catch_up()  # the names of the organisations come from the directory's view
    participants = text(katrin.get(forum_page)).split('id="h-participants"')[1]
    assert "Psychosoziales Zentrum" in participants.split("</ul>")[0]


def test_needs_are_corrected_or_withdrawn_and_nothing_is_recorded_twice(
        web_app: Flask, updater: ViewUpdater, coordinator: tuple[FlaskClient, World]) -> None:
    katrin, world = coordinator
    application = web_app.extensions["fallnetz.application"]
    mbe, psz = str(world.org("mbe")), str(world.org("psz"))
    today = application.today()
    forum_page = post(katrin, "/netzwerk/bedarfsregister", "/netzwerk/gremien",
                      kind="conference", name="Runder Tisch Mitte", district="Mitte",
                      held_on=today.isoformat(), participants=[mbe]).headers["Location"]
    forum_id = forum_page.rsplit("/", 1)[1]
    for words in ("Frau A. Muster (Zimmer 14) findet keine Kita", "Kein Jugendtreff"):
        post(katrin, forum_page, f"{forum_page}/bedarfe", text=words, sector="education",
             raised_by=[mbe])
    # The same card again (Back, then send): named, not recorded.
    again = post(katrin, forum_page, f"{forum_page}/bedarfe", text="kein  jugendtreff",
                 sector="education", raised_by=[mbe])
    assert again.status_code == 422 and "schon erfasst (Nr. 2)" in text(again)
    # A name slipped into a card: corrected; a card recorded by mistake: withdrawn.
    need_page = f"{forum_page}/bedarfe/1"
    assert post(katrin, need_page, need_page, text="Keine Kitaplätze für neu Zugezogene",
                sector="education").status_code == 302
    withdrawn = f"{forum_page}/bedarfe/2/zurueckziehen"
    assert post(katrin, f"{forum_page}/bedarfe/2", withdrawn,
                reason="Doppelt erfasst").status_code == 302
    assert katrin.get(f"{forum_page}/bedarfe/2").status_code == 404
    updater.catch_up()
    for page in (forum_page, f"{forum_page}/dokumentation", "/netzwerk/politik"):
        shown = text(katrin.get(page))
        assert "Muster" not in shown and "Jugendtreff" not in shown.split("<main")[1], page
        assert "Keine Kitaplätze für neu Zugezogene" in shown, page
    csv_text = text(katrin.get("/netzwerk/politik.csv"))
    assert "Muster" not in csv_text and "Keine Kitaplätze" in csv_text
    # The same agreement twice, and the same sending twice: refused, recorded once.
    group = post(katrin, forum_page, "/netzwerk/bedarfsgruppen", action="new", title="Kita",
                 needs=[f"{forum_id}:1"], from_forum=forum_id)
    assert group.status_code == 302
    updater.catch_up()
    due = today + timedelta(days=1)
    while not calendar_for(application.network.state).is_working_day(due):
        due += timedelta(days=1)
    for status in (302, 422):
        response = post(katrin, forum_page, f"{forum_page}/verabredungen",
                        organisation_id=psz, what="Sprechstunde anbieten",
                        due_on=due.isoformat())
        assert response.status_code == status, text(response)
    assert "schon erfasst" in text(response)
    # Moved to another day, agreed with the PSZ: its history says who did it, and why.
    updater.catch_up()
    agreement_id = re.search(r'href="/verabredungen/([0-9a-f-]+)">Sprechstunde',
                             text(katrin.get(forum_page))).group(1)
    later = due + timedelta(days=7)
    while not calendar_for(application.network.state).is_working_day(later):
        later += timedelta(days=1)
    page = f"/verabredungen/{agreement_id}"
    assert post(katrin, page, f"{page}/verschieben", due_on=later.isoformat(),
                reason="Urlaubszeit").status_code == 302
    shown = text(katrin.get(page))
    assert later.strftime("%d.%m.%Y") in shown and "Urlaubszeit" in shown
    assert "auf einen anderen Tag verschoben" in shown and "Katrin" in shown
    # The forum's name and the group's title put right.
    assert post(katrin, forum_page, f"{forum_page}/name", name="Runder Tisch Mitte 2026",
                held_on=today.isoformat()).status_code == 302
    group_page = re.search(r'href="(/netzwerk/bedarfsgruppen/[0-9a-f-]+)">Kita',
                           text(katrin.get("/netzwerk/bedarfsregister"))).group(1)
    assert post(katrin, group_page, f"{group_page}/beschreibung", title="Kita-Plätze",
                need="childcare").status_code == 302
    updater.catch_up()
    assert "Runder Tisch Mitte 2026" in text(katrin.get("/netzwerk/bedarfsregister"))
    described = text(katrin.get(group_page))
    assert "<h1>Kita-Plätze</h1>" in described and "Titel, Sozialraum oder Bedarf geändert" \
        in described
    politics = "/netzwerk/politik?stadtteil=Mitte"
    offered = re.findall(r'name="groups" value="([^"]+)" checked', text(katrin.get(politics)))
    assert len(offered) == 1  # Mitte's group, ticked
    # A refused sending (a day to come) keeps the report's districts: only Mitte's groups.
    refused = post(katrin, politics, "/netzwerk/politik/gesendet", recipient="Ortsbeirat",
                   sent_on=(today + timedelta(days=3)).isoformat(), groups=offered)
    assert refused.status_code == 422
    assert hidden_fields(text(refused), "/netzwerk/politik/gesendet")["districts"] == "Mitte"
    assert re.findall(r'name="groups" value="([^"]+)" checked', text(refused)) == offered
    # None ticked: named, nothing recorded.
    assert post(katrin, politics, "/netzwerk/politik/gesendet", recipient="Ortsbeirat",
                sent_on=today.isoformat()).status_code == 422
    for status in (302, 422):
        response = post(katrin, politics, "/netzwerk/politik/gesendet", recipient="Ortsbeirat",
                        sent_on=today.isoformat(), groups=offered)
        assert response.status_code == status, text(response)
