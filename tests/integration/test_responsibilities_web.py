"""The responsibility map in the web, on SQLite and PostgreSQL: the coordinator's change
steers the next referral's suggestions (web and API), the drafted lead handoffs and the
Organigramm, and its history says who and when; bad input names the field and stores
nothing; a concurrent change answers 409; the file goes out and comes back (web and CLI).
The public page answers without a session and shows neither users, nor cases, nor a contact
the coordinator did not make public."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from domain.organisation import contact_key
from domain.stamp import Role, Stamp
from testbed.web import csrf_token, events, hidden_fields, sign_in, submit, web_world
from testbed.world import World

SYSTEM = Stamp.system("test-setup")
FILE = """version = "kreis-1"

[[lead]]
legal_sphere = "SGB II"
need = "benefits"
organisations = ["jobcenter"]

[[rule]]
need = "health.psychosocial"
organisations = ["psz", "gesundheitsamt"]
[[rule]]
need = "benefits"
legal_spheres = ["SGB II"]
organisations = ["jobcenter"]

[[self_help]]
need = "language"
housing_stage = "own_flat"
text = "Einen Kurs bei der Volkshochschule suchen."
text_en = "Look for a course at the adult education centre."
"""


@pytest.fixture
def world(web_app: Flask) -> World:
    return web_world(web_app)


def text(response: Any) -> str:
    return html.unescape(response.get_data(as_text=True))


def suggested(client: FlaskClient, case_id: Any, need: str) -> list[tuple[str, bool]]:
    """(organisation, named by the map) of each suggestion on the referral form."""
    page = text(client.get(f"/faelle/{case_id}/vermitteln?need={need}&urgency=routine"))
    blocks = page.split('<div class="suggestion')[1:]
    return [(re.search(r"<strong>(.*?)</strong>", b).group(1),  # type: ignore[union-attr]
             "laut Zuständigkeitsmatrix zuständig" in b) for b in blocks]


def row_of(page: str, need_label: str) -> str:
    """The first table row of the Organigramm for a need (its first housing stage)."""
    match = re.search(r'<th scope="row">' + re.escape(need_label) + r"</th>(.*?)</tr>", page,
                      re.S)
    assert match, need_label
    return match.group(1)


def test_a_change_in_the_web_steers_the_next_referral_and_shows_in_the_organigramm(
        web_app: Flask, world: World) -> None:
    application = world.application
    katrin, anna = sign_in(web_app, "katrin"), sign_in(web_app, "anna")
    case_id = world.open_case()  # Sachsendorf, shared accommodation, AsylbLG
    assert suggested(anna, case_id, "health.psychosocial") == [
        ("Psychosoziales Zentrum", True)]
    organigramm = text(katrin.get("/organigramm?stadtteil=Sachsendorf"))
    assert "Psychosoziales Zentrum" in row_of(organigramm, "Psychosoziale Beratung")
    assert "Migrationsberatung" not in row_of(organigramm, "Psychosoziale Beratung")

    # The coordinator changes rule r3 (health.psychosocial → PSZ) of the file's map.
    form = text(katrin.get("/zustaendigkeiten/regel?regel=r3"))
    assert 'value="health.psychosocial" selected' in form
    response = submit(katrin, "/zustaendigkeiten/regel?regel=r3", "/zustaendigkeiten/regel",
                      need="health.psychosocial", districts=["Sachsendorf"],
                      organisations=["mbe", "psz"])
    assert response.status_code == 302, text(response)
    assert "ab der nächsten Vermittlung" in text(katrin.get(response.headers["Location"]))

    # The next referral's suggestions follow it, in the web and in the API.
    assert suggested(anna, case_id, "health.psychosocial") == [
        ("Psychosoziales Zentrum", True), ("Migrationsberatung", True)]
    issued = application.integrations.issue_api_token(
        SYSTEM, world.org("fsa-sachsendorf"), "fachverfahren", Role.CASEWORKER,
        ["cases:read"])
    api = web_app.test_client().get(
        f"/api/v1/cases/{case_id}/suggestions?need=health.psychosocial&urgency=routine",
        headers={"Authorization": f"Bearer {issued['token']}"})
    assert api.status_code == 200, text(api)
    assert [(s["organisation_name"], s["named_by_map"]) for s in api.json] == [
        ("Psychosoziales Zentrum", True), ("Migrationsberatung", True)]

    # The Organigramm draws it (in Sachsendorf only), and the history says who and when.
    organigramm = text(katrin.get("/organigramm?stadtteil=Sachsendorf"))
    assert "Migrationsberatung" in row_of(organigramm, "Psychosoziale Beratung")
    assert "Migrationsberatung" in organigramm.split('class="table-scroll organigramm-chart"'
                                                     )[1].split("</svg>")[0]
    mitte = text(katrin.get("/organigramm?stadtteil=Mitte"))
    assert "noch niemand benannt" in row_of(mitte, "Psychosoziale Beratung")
    history = text(katrin.get("/zustaendigkeiten/verlauf"))
    changes = history.split("<tbody>")[1].split("</tbody>")[0]
    latest, first = changes.split("<tr>")[1], changes.split("<tr>")[2]
    assert "Regel geändert" in latest and "Katrin (Koordination, Koordinierungsstelle)" in latest
    assert "r3: Psychosoziale Beratung" in latest
    assert "Psychosoziales Zentrum → Psychosoziale Beratung" in latest
    assert re.search(r"\d\d\.\d\d\.\d{4} \d\d:\d\d", latest)
    assert "aus der Datei des Netzwerks übernommen" in first
    assert "Zuletzt geändert am" in text(katrin.get("/organigramm"))

    # A lead rule changed in the web decides the drafts of the next change of legal sphere.
    response = submit(katrin, "/zustaendigkeiten/ueberleitung?regel=l18",
                      "/zustaendigkeiten/ueberleitung", legal_sphere="SGB II",
                      need="benefits", organisations=["sozialamt"])
    assert response.status_code == 302, text(response)
    drafts = application.cases.change_residence_status(world.anna, case_id, "permit_25")
    assert {application.repository.get(r).to_organisation_id
            for r in drafts["draft_referral_ids"]} == {world.org("sozialamt")}


def test_bad_input_names_the_field_and_stores_nothing(web_app: Flask, world: World) -> None:
    katrin = sign_in(web_app, "katrin")
    before = events(web_app)
    cases = [
        ({"need": "health.x", "organisations": ["psz"]}, "f-need", "Unbekannter Bedarf"),
        ({"need": "legal"}, "f-organisations", "mindestens eine Organisation"),
        ({"need": "legal", "districts": ["Atlantis"], "organisations": ["psz"]},
         "f-districts", "Atlantis"),
        ({"need": "legal", "legal_spheres": ["SGB III"], "organisations": ["psz"]},
         "f-legal_spheres", "Bitte wählen Sie aus den Optionen"),
        ({"need": "legal", "organisations": ["niemand"]}, "f-organisations", "niemand"),
        ({"need": "health.psychosocial", "organisations": ["mbe"]}, "f-need",
         "Regel r3 gilt schon für diese Lage"),
        ({"organisations": ["psz"]}, "f-need", "Bitte füllen Sie dieses Feld aus"),
        ({"need": "legal", "organisations": ["psz"], "colour": "blau"}, "colour",
         "gehört nicht zum Formular"),
    ]
    for fields, anchor, words in cases:
        response = submit(katrin, "/zustaendigkeiten/regel", "/zustaendigkeiten/regel",
                          **fields)
        page = text(response)
        assert response.status_code == 422, (fields, page[-2000:])
        assert words in page and anchor in page, (fields, words)
    chosen = "/zustaendigkeiten/selbsthilfe?bedarf=language&wohnform=own_flat"
    response = submit(katrin, chosen, "/zustaendigkeiten/selbsthilfe",
                      need="language", housing_stage="own_flat", text_en="English only")
    assert response.status_code == 422 and "deutschen Text" in text(response)
    # The bare page asks for the need and housing stage first: no text is written blind.
    assert 'action="/zustaendigkeiten/selbsthilfe" novalidate' not in text(
        katrin.get("/zustaendigkeiten/selbsthilfe"))
    response = submit(katrin, "/zustaendigkeiten", "/zustaendigkeiten/regel/entfernen",
                      rule_id="r99")
    assert response.status_code == 422 and "keine Regel 'r99'" in text(response)
    assert events(web_app) == before, "nothing was stored"


def test_a_concurrent_change_answers_409_and_overwrites_nothing(web_app: Flask,
                                                                world: World) -> None:
    katrin = sign_in(web_app, "katrin")
    page = text(katrin.get("/zustaendigkeiten/regel?regel=r3"))
    first = hidden_fields(page, "/zustaendigkeiten/regel")
    second = {**first, "idempotency_key": "the-other-tab"}
    token = csrf_token(katrin)
    done = katrin.post("/zustaendigkeiten/regel", data={
        **first, "csrf_token": token, "need": "health.psychosocial",
        "organisations": ["mbe"]})
    assert done.status_code == 302
    # A double submit of the same form records once.
    assert katrin.post("/zustaendigkeiten/regel", data={
        **first, "csrf_token": token, "need": "health.psychosocial",
        "organisations": ["mbe"]}).status_code == 302
    before = events(web_app)
    late = katrin.post("/zustaendigkeiten/regel", data={
        **second, "csrf_token": token, "need": "health.psychosocial",
        "organisations": ["gesundheitsamt"]})
    assert late.status_code == 409, text(late)
    # The other tab was her own: she is told so, not of "someone".
    assert "Sie haben dies inzwischen selbst geändert" in text(late)
    assert events(web_app) == before
    rule = world.application.responsibilities.current().rules["r3"]
    assert rule["organisations"] == ["mbe"]
    # The refused form keeps her ticks and now carries the map's version: saving it again,
    # having seen the message, applies it.
    again = hidden_fields(text(late), "/zustaendigkeiten/regel")
    assert again["expected_version"] != second["expected_version"]
    assert katrin.post("/zustaendigkeiten/regel", data={
        **again, "csrf_token": token, "need": "health.psychosocial",
        "organisations": ["gesundheitsamt"]}).status_code == 302
    assert world.application.responsibilities.current().rules["r3"]["organisations"] == [
        "gesundheitsamt"]


def test_the_file_goes_out_and_comes_back_in_one_piece(web_app: Flask, world: World) -> None:
    katrin = sign_in(web_app, "katrin")
    download = katrin.get("/zustaendigkeiten/datei")
    assert download.status_code == 200
    assert download.headers["Content-Disposition"] == \
        'attachment; filename="responsibility.toml"'
    assert 'version = "2026-11"' in download.get_data(as_text=True)

    def upload(content: str) -> Any:
        fields = hidden_fields(text(katrin.get("/zustaendigkeiten")),
                               "/zustaendigkeiten/datei")
        import io
        return katrin.post("/zustaendigkeiten/datei", data={
            **fields, "document": (io.BytesIO(content.encode()), "responsibility.toml")},
            content_type="multipart/form-data")

    before = events(web_app)
    broken = "colour = 1\n" + FILE.replace('"gesundheitsamt"', '"niemand"').replace(
        'need = "language"', 'need = "sprache"')
    refused = upload(broken)
    page = text(refused)
    assert refused.status_code == 422
    for problem in ("colour: Dieses Feld gehört nicht in eine Zuständigkeitsdatei.",
                    "rule[0].organisations: Im Verzeichnis gibt es keine Organisation mit "
                    "dem Schlüssel 'niemand'.", "self_help[0].need: Unbekannter Bedarf"):
        assert problem in page, problem
    assert upload("[[rule]\n").status_code == 422
    assert events(web_app) == before, "a refused file stores nothing"

    imported = upload(FILE)
    assert imported.status_code == 302, text(imported)
    content = world.application.responsibilities.content()
    assert content.version == "kreis-1" and len(content.rules) == 2
    recorded = events(web_app)
    again = upload(FILE)
    assert again.status_code == 302
    assert "Nichts geändert" in text(katrin.get(again.headers["Location"]))
    assert events(web_app) == recorded, "the same file again records nothing"
    history = text(katrin.get("/zustaendigkeiten/verlauf"))
    assert "Zuständigkeiten aus einer Datei übernommen" in history
    assert "Version kreis-1" in history


def test_the_cli_exports_and_imports_the_map(app: Flask, tmp_path: Any) -> None:
    web_world(app)
    runner = app.test_cli_runner()
    target = tmp_path / "responsibility.toml"
    assert runner.invoke(args=["responsibilities", "export", str(target)]).exit_code == 0
    assert 'version = "2026-11"' in target.read_text(encoding="utf-8")
    source = tmp_path / "kreis.toml"
    source.write_text(FILE, encoding="utf-8")
    done = runner.invoke(args=["responsibilities", "import", str(source)])
    assert done.exit_code == 0, done.output
    assert "Imported version kreis-1: 2 rules, 1 lead rules" in done.output
    again = runner.invoke(args=["responsibilities", "import", str(source)])
    assert "nothing was recorded" in again.output
    source.write_text(FILE.replace('"psz"', '"niemand"'), encoding="utf-8")
    refused = runner.invoke(args=["responsibilities", "import", str(source)])
    assert refused.exit_code != 0
    assert "rule[0].organisations: There is no organisation with the key 'niemand'" in \
        refused.output


def test_the_public_page_shows_the_map_and_public_contacts_but_no_users_or_cases(
        web_app: Flask, world: World) -> None:
    application = world.application
    # Planted: a member of staff, a case with a referral, a public and a private contact.
    application.directory.register_user(SYSTEM, "zoltan.u", "Zoltan Unverkennbar")
    application.directory.add_member(SYSTEM, world.org("psz"), "zoltan.u", Role.CASEWORKER)
    case_id = world.open_case(person={"display_name": "Familie Zzyzx", "household_size": 3,
                                      "district": "Sachsendorf"})
    world.consent(case_id)
    world.send(case_id)
    reference = application.repository.get(case_id).reference
    public = {"name": "Beratungstelefon PSZ", "phone": "0355 000 44 00",
              "email": "kontakt@psz.invalid"}
    private = {"name": "Dr. Heimlich Privat", "email": "heimlich@psz.invalid"}
    application.directory.change_contacts(SYSTEM, world.org("psz"), [public, private])
    katrin = sign_in(web_app, "katrin")
    form = hidden_fields(text(katrin.get("/zustaendigkeiten/kontakte")),
                         f"/zustaendigkeiten/kontakte/{world.org('psz')}")
    chosen = katrin.post(f"/zustaendigkeiten/kontakte/{world.org('psz')}",
                         data={**form, "contacts": [contact_key(public)]})
    assert chosen.status_code == 302, text(chosen)
    assert application.repository.get(world.org("psz")).shown_contacts() == [public]
    history = text(katrin.get("/zustaendigkeiten/verlauf"))
    assert "Öffentliche Kontakte von Psychosoziales Zentrum gewählt" in history
    assert "öffentlich: Beratungstelefon PSZ" in history

    login = text(web_app.test_client().get("/anmelden"))
    assert 'href="/oeffentlich/organigramm"' in login
    secrets = ["Zoltan", "zoltan.u", "Zzyzx", reference, "Bitte um Erstgespräch", "Heimlich",
               "heimlich@psz.invalid", "Katrin", "katrin", "Anna"]
    for district in application.network.districts:
        for language in ("de", "en"):
            stranger = web_app.test_client()
            response = stranger.get(f"/oeffentlich/organigramm?stadtteil={district}"
                                    f"&sprache={language}")
            page = text(response)
            assert response.status_code == 200
            assert "Set-Cookie" not in response.headers, "no session, not even a new one"
            assert f'<html lang="{language}">' in page
            assert "Beratungstelefon PSZ" in page and "0355 000 44 00" in page
            assert "Psychosoziales Zentrum" in page
            for secret in secrets:
                assert secret not in page, (district, language, secret)
    english = text(web_app.test_client().get("/oeffentlich/organigramm?sprache=en"))
    assert "Who helps with what in Ströbitz" in english
    german = text(web_app.test_client().get("/oeffentlich/organigramm"))
    assert "Wer hilft wobei in Ströbitz" in german
    # Several unusable choices at once are each named, never a server error.
    for query in ("stadtteil=Atlantis&wohnform=zelt", "sprache=xx&stadtteil=Atlantis",
                  "stadtteil=Atlantis&wohnform=zelt&sprache=xx"):
        for url in (f"/oeffentlich/organigramm?{query}", f"/organigramm?{query}"):
            refused = katrin.get(url) if url.startswith("/organigramm") \
                else web_app.test_client().get(url)
            assert refused.status_code == 422, (url, refused.status_code)
    # Signed in, the page is the same: no name of whoever reads it, nor their menu.
    own = text(katrin.get("/oeffentlich/organigramm?stadtteil=Sachsendorf"))
    assert "Katrin" not in own and "Abmelden" not in own
    assert "Beratungstelefon PSZ" in own and "Heimlich" not in own
    assert katrin.get("/oeffentlich/organigramm").headers["Cache-Control"] == \
        "private, no-store"


def test_the_demo_has_public_and_private_contacts(app: Flask) -> None:
    runner = app.test_cli_runner()
    assert runner.invoke(args=["load-demo"]).exit_code == 0
    application = app.extensions["fallnetz.application"]
    with_contacts = [o for o in application.organisations() if o.contacts]
    assert len(with_contacts) >= 6
    shown = [c for o in with_contacts for c in o.shown_contacts()]
    hidden = [c for o in with_contacts for c in o.contacts if c not in o.shown_contacts()]
    assert shown and hidden
    page = text(app.test_client().get("/oeffentlich/organigramm?stadtteil=Sandow"))
    assert all(c["name"] not in page for c in hidden)
    assert "Jana Beispiel" in page and "Ehrenamtskoordination" in page
    assert "Sprachcafé im Stadtteiltreff" in page  # a volunteer initiative's field in Sandow
    assert "Hausaufgabenhilfe" not in page  # its Sachsendorf offer is not Sandow's
    assert "Patenschaften" in page


def test_a_removed_rule_names_nobody_from_the_next_referral_on(web_app: Flask,
                                                               world: World) -> None:
    katrin, anna = sign_in(web_app, "katrin"), sign_in(web_app, "anna")
    case_id = world.open_case()
    page = text(katrin.get("/zustaendigkeiten"))
    assert "Regel r3 entfernen" in page
    response = submit(katrin, "/zustaendigkeiten", "/zustaendigkeiten/regel/entfernen",
                      rule_id="r3")
    assert response.status_code == 302, text(response)
    assert suggested(anna, case_id, "health.psychosocial") == [
        ("Psychosoziales Zentrum", False)]
    history = text(katrin.get("/zustaendigkeiten/verlauf"))
    assert "Regel entfernt" in history and "r3: Psychosoziale Beratung" in history


def test_a_new_version_of_the_networks_file_is_pointed_out(web_app: Flask,
                                                          world: World) -> None:
    from dataclasses import replace

    katrin = sign_in(web_app, "katrin")
    assert submit(katrin, "/zustaendigkeiten/regel", "/zustaendigkeiten/regel", need="legal",
                  districts=["Sandow"], organisations=["mbe"]).status_code == 302
    assert "neuen Version" not in text(katrin.get("/zustaendigkeiten"))
    application = world.application
    network = application.network
    application.network = replace(network, responsibility_version="2027-01")
    try:  # an operator put a new file on the server: it does not count until imported
        page = text(katrin.get("/zustaendigkeiten"))
        assert "in einer neuen Version (2027-01)" in page
        assert application.responsibilities.effective_network().responsibility_version \
            == "2026-11+2"
    finally:
        application.network = network


def test_a_written_text_opens_for_changing_and_keeps_its_english(web_app: Flask,
                                                                  world: World) -> None:
    katrin = sign_in(web_app, "katrin")
    world.application.responsibilities.write_self_help(
        world.as_("katrin", "koordinierungsstelle"), "language", "own_flat",
        "Einen Kurs suchen.", "Look for a course.")
    chosen = "/zustaendigkeiten/selbsthilfe?bedarf=language&wohnform=own_flat"
    page = text(katrin.get(chosen))
    assert "Einen Kurs suchen.</textarea>" in page and "Look for a course.</textarea>" in page
    # Changed in German only, as the form shows it: the English text stays.
    response = submit(katrin, chosen, "/zustaendigkeiten/selbsthilfe",
                      text="Einen Kurs an der Volkshochschule suchen.",
                      text_en="Look for a course.")
    assert response.status_code == 302, text(response)
    page = text(katrin.get(chosen))
    assert "Volkshochschule suchen.</textarea>" in page
    assert "Look for a course.</textarea>" in page
