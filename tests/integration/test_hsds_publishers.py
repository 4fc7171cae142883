"""Another publisher's HSDS 3.0 directory (written from the standard's own schemas, every
optional object filled, a taxonomy this product does not know, none of its extensions):
the coordinator imports it in the web with a report, sees what is pending and why, maps
terms and areas there, and the services become receivers with the right needs and
districts without another import. The tabular form (CSV data package) imports to the same
result; a re-import updates instead of duplicating."""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path
from typing import Any

from flask import Flask

from domain.directory_import import ImportedOrganisation
from domain.routing import suggest_receivers
from domain.stamp import Stamp
from testbed.hsds_documents import ORGANISATIONS, TAXONOMY, data_package, publisher_document
from testbed.web import events, hidden_fields, sign_in, web_world

PAGE = "/verzeichnis/austausch"
NORD, SUED, CAFE = (name for name, _email, _services in ORGANISATIONS)


def _upload(client: Any, data: bytes, filename: str, **fields: str) -> Any:
    page = client.get(PAGE).get_data(as_text=True)
    form = {**hidden_fields(page, PAGE), "publisher": "landesverzeichnis", **fields,
            "document": (io.BytesIO(data), filename)}
    return client.post(PAGE, data=form, content_type="multipart/form-data")


def _by_name(application: Any) -> dict[str, Any]:
    return {o.name: o for o in application.organisations()}


def _map_all_but_the_cafe(client: Any) -> None:
    for code, needs, sector in (("BER-01", ["benefits"], "social_work"),
                                ("WOH-02", ["housing.search"], "housing"),
                                ("GES-07", ["health.psychosocial"], "")):
        response = _map_term(client, code, needs, sector)
        assert response.status_code == 302, response.get_data(as_text=True)
    page = client.get(PAGE).get_data(as_text=True)
    assert "Cottbus Nord" in page
    response = client.post(f"{PAGE}/gebiet", data={
        **_hidden(page, f"{PAGE}/gebiet", "Cottbus Nord"), "area": "Cottbus Nord",
        "districts": ["Sandow", "Schmellwitz"]})
    assert response.status_code == 302, response.get_data(as_text=True)


def _hidden(page: str, action: str, marker: str) -> dict[str, str]:
    """The hidden fields of the form to ``action`` that carries ``marker``."""
    for form in re.findall(r'<form method="post" action="' + re.escape(action)
                           + r'"[^>]*>(.*?)</form>', page, re.S):
        if f'value="{marker}"' in form:
            return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"',
                                   form))
    raise AssertionError(f"no form to {action} for {marker}")


def _map_term(client: Any, code: str, needs: list[str], sector: str) -> Any:
    page = client.get(PAGE).get_data(as_text=True)
    return client.post(f"{PAGE}/begriff", data={
        **_hidden(page, f"{PAGE}/begriff", code), "needs": needs, "sector": sector})


def test_a_publishers_directory_waits_for_its_mapping_then_receives(web_app: Flask) -> None:
    application = web_app.extensions["fallnetz.application"]
    world = web_world(web_app)
    coordinator = sign_in(web_app, "katrin")
    document = json.dumps(publisher_document()).encode()

    before = events(web_app)
    dry = _upload(coordinator, document, "land.json", dry_run="on")
    text = dry.get_data(as_text=True)
    assert dry.status_code == 200 and "Probelauf" in text, text[:3000]
    assert events(web_app) == before, "a dry run stores nothing"

    done = _upload(coordinator, document, "land.json")
    report = done.get_data(as_text=True)
    assert done.status_code == 200 and "Bericht des Imports" in report
    for name in (NORD, SUED, CAFE):
        assert name in report
    assert "keiner seiner Begriffe ist einem Bedarf zugeordnet" in report
    pending = application.exchange.pending()
    assert [p.record.offer["name"] for p in pending] == sorted([NORD, SUED, CAFE])
    assert not {NORD, SUED, CAFE} & set(_by_name(application)), "not offered before mapping"
    page = coordinator.get(PAGE).get_data(as_text=True)
    for shown in ("BER-01", "WOH-02", "GES-07", "SPR-03", "Cottbus Nord", TAXONOMY):
        assert shown in page

    refused = _map_term(coordinator, "BER-01", ["no-such-need"], "")
    assert refused.status_code == 422 and "Bitte wählen Sie aus den Optionen" in \
        refused.get_data(as_text=True)
    _map_all_but_the_cafe(coordinator)

    organisations = _by_name(application)
    nord, sued = organisations[NORD], organisations[SUED]
    assert (nord.sector, sued.sector) == ("social_work", "housing")
    assert nord.inbox_address == "postfach@beratung-nord.example.org"
    services = {s["name"]: s for s in nord.services.values()}
    assert services["Migrationsberatung für Erwachsene"]["needs"] == ["benefits"]
    assert services["Migrationsberatung für Erwachsene"]["districts"] == ["Sandow"]
    assert services["Psychosoziale Sprechstunde"]["districts"] == ["Sandow", "Schmellwitz"]
    assert services["Psychosoziale Sprechstunde"]["languages"] == ["de", "ar"]
    [housing] = sued.services.values()
    assert (housing["needs"], housing["districts"]) == (["housing.search"],
                                                        ["Ströbitz", "Sachsendorf"])
    assert CAFE not in organisations, "an unmapped term keeps it pending"
    assert [p.record.offer["name"] for p in application.exchange.pending()] == [CAFE]

    case_id = world.open_case()  # Sachsendorf
    case = application.repository.get(case_id)
    offered = suggest_receivers(application.network, application.organisations(), case,
                                "housing.search", "routine", {}, application.clock())
    mine = [s for s in offered if s.organisation_name == SUED]
    assert mine and mine[0].place == "district" and mine[0].districts == (
        "Ströbitz", "Sachsendorf")
    benefits = suggest_receivers(application.network, application.organisations(), case,
                                 "benefits", "routine", {}, application.clock())
    assert any(s.organisation_name == NORD and s.place != "district" for s in benefits)

    again = _upload(coordinator, document, "land.json").get_data(as_text=True)
    row = re.search(r'<th scope="row">Organisationen</th>(.*?)</tr>', again, re.S)
    assert row and re.findall(r">(\d+)<", row.group(1)) == ["0", "0", "2", "1", "0", "0"], \
        "registered, updated, unchanged, pending, ended, refused"
    counts = application.exchange.import_hsds(world.as_("katrin", "koordinierungsstelle"),
                                              json.loads(document),
                                              publisher="landesverzeichnis").counts()
    assert counts == {"registered": 0, "updated": 0, "unchanged": 2, "pending": 1,
                      "ended": 0, "refused": 0}
    assert len([o for o in application.organisations() if o.name == NORD]) == 1

    renamed = json.loads(document)
    renamed[0]["name"] = "Beratungszentrum Nord e. V. (fiktiv)"
    application.exchange.import_hsds(world.as_("katrin", "koordinierungsstelle"), renamed,
                                     publisher="landesverzeichnis")
    assert application.organisation_by_key(nord.key).name == renamed[0]["name"], \
        "matched by the publisher's id: the same organisation, renamed"
    record = application.repository.get(ImportedOrganisation.id_for(
        application.network.slug, "landesverzeichnis", renamed[0]["id"]))
    history = list(application.repository.event_store.get(record.id))
    assert [type(e).__name__ for e in history] == ["Imported", "Linked", "OfferChanged"]
    assert {e.by.user for e in history} == {"katrin"}


def _result(application: Any) -> dict[str, Any]:
    return {o.key: (o.name, o.sector, o.inbox_address, o.services)
            for o in application.organisations()}


def test_the_tabular_form_imports_to_the_same_result(tmp_path: Path, network: Any) -> None:
    from runtime.bootstrap import bootstrap
    from domain.settings import Settings

    results = []
    for form in ("json", "package"):
        application = bootstrap(Settings(database_url=f"sqlite:///{tmp_path / form}.sqlite3"),
                                network=network).application
        system = Stamp.system("test")
        for code, needs, sector in (("BER-01", ["benefits"], "social_work"),
                                    ("WOH-02", ["housing.search"], "housing"),
                                    ("GES-07", ["health.psychosocial"], None)):
            application.exchange.map_term(system, TAXONOMY, code, needs, sector,
                                          known_only=False)
        application.exchange.map_area(system, "Cottbus Nord", [], known_only=False)
        application.exchange.map_area(system, "", [], known_only=False)
        if form == "json":
            document: Any = publisher_document()
        else:
            folder = tmp_path / "package"
            with zipfile.ZipFile(io.BytesIO(data_package(publisher_document()))) as archive:
                archive.extractall(folder)
            assert (folder / "datapackage.json").exists() and (folder / "service.csv").exists()
            from domain.exchange.hsds_tables import read_package
            document = read_package(folder)
        report = application.exchange.import_hsds(system, document, publisher="land")
        assert report.counts() == {"registered": 2, "updated": 0, "unchanged": 0,
                                   "pending": 1, "ended": 0, "refused": 0}, report.as_dict()
        results.append(_result(application))
        application.close()
    assert results[0] == results[1]
    assert {s["districts"] == [] for o in results[0].values() for s in o[3].values()
            if s["name"] == "Psychosoziale Sprechstunde"} == {True}, "whole network"


def test_the_cli_and_the_api_import_a_package_with_a_dry_run(app: Flask,
                                                              tmp_path: Path) -> None:
    from domain.stamp import Role

    application = app.extensions["fallnetz.application"]
    world = web_world(app)
    package = tmp_path / "land.zip"
    package.write_bytes(data_package(publisher_document()))
    before = events(app)
    dry = app.test_cli_runner().invoke(args=["hsds", "import", str(package), "--publisher",
                                             "land", "--dry-run"])
    assert dry.exit_code == 0 and "Dry run" in dry.output and "pending    #0" in dry.output, \
        dry.output
    assert events(app) == before
    issued = application.integrations.issue_api_token(
        Stamp.system("test"), world.org("koordinierungsstelle"), "land", Role.COORDINATOR,
        ["directory:read", "directory:write"])
    answer = app.test_client().post("/api/v1/directory/hsds?publisher=land",
                                    data=package.read_bytes(),
                                    content_type="application/zip",
                                    headers={"Authorization": f"Bearer {issued['token']}"})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.json["counts"]["pending"] == 3 and not answer.json["dry_run"]
    [missing] = answer.json["organisations"][0]["services"][0]["missing"]
    assert missing == "keiner seiner Begriffe ist einem Bedarf zugeordnet (BER-01)"
    broken = app.test_client().post("/api/v1/directory/hsds?publisher=land",
                                    data=b"PK\x03\x04 kaputt", content_type="application/zip",
                                    headers={"Authorization": f"Bearer {issued['token']}"})
    assert broken.status_code == 422 and broken.json["errors"][0]["pointer"] == "#"


def test_the_mapping_travels_as_a_file_with_the_network(app: Flask, tmp_path: Path,
                                                         network: Any) -> None:
    """Exported as TOML by one installation, applied by another: what was pending there
    becomes a receiver without another import."""
    from runtime.bootstrap import bootstrap
    from domain.settings import Settings

    application = app.extensions["fallnetz.application"]
    system = Stamp.system("test")
    application.exchange.map_term(system, TAXONOMY, "WOH-02", ["housing.search"], "housing",
                                  name="Wohnraum \"neu\"", known_only=False)
    application.exchange.map_area(system, "Cottbus Nord", [], known_only=False)
    runner = app.test_cli_runner()
    exported = tmp_path / "hsds-mapping.toml"
    assert runner.invoke(args=["hsds", "mapping", "export", str(exported)]).exit_code == 0
    assert 'name = "Wohnraum \\"neu\\""' in exported.read_text()

    other = bootstrap(Settings(database_url=f"sqlite:///{tmp_path / 'other.sqlite3'}"),
                      network=network).application
    other.exchange.import_hsds(system, publisher_document(), publisher="land")
    assert not other.organisations()
    other.close()
    from web import create_app

    other_app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'other.sqlite3'}",
                                    secret_key="test-secret"),
                           config={"TESTING": True, "NUDGE_WORKERS": False})
    applied = other_app.test_cli_runner().invoke(args=["hsds", "mapping", "import",
                                                       str(exported)])
    assert applied.exit_code == 0 and "became receivers: 1." in applied.output, \
        applied.output
    assert [o.name for o in other_app.extensions["fallnetz.application"].organisations()] == [
        SUED]
    broken = tmp_path / "broken.toml"
    broken.write_text('[[term]]\ncode = "X"\nneeds = ["no-such-need"]\n')
    refused = other_app.test_cli_runner().invoke(args=["hsds", "mapping", "import",
                                                       str(broken)])
    assert refused.exit_code == 1 and "no-such-need" in refused.output
    other_app.extensions["fallnetz.application"].close()


def _mapped_world(web_app: Flask) -> tuple[Any, Any, Any]:
    """The publisher's document imported and mapped by the coordinator in the web."""
    application = web_app.extensions["fallnetz.application"]
    world = web_world(web_app)
    coordinator = sign_in(web_app, "katrin")
    assert _upload(coordinator, json.dumps(publisher_document()).encode(),
                   "land.json").status_code == 200
    _map_all_but_the_cafe(coordinator)
    return application, world, coordinator


def test_what_the_publisher_withdraws_is_no_longer_offered(app: Flask) -> None:
    from web.receivers import receiver_values

    application, world, coordinator = _mapped_world(app)
    nord = _by_name(application)[NORD]
    document = publisher_document()
    dropped = document[0]["services"].pop(1)  # the Psychosoziale Sprechstunde
    document[0]["services"][0]["status"] = "inactive"  # and the Migrationsberatung
    report = application.exchange.import_hsds(world.as_("katrin", "koordinierungsstelle"),
                                              document, publisher="landesverzeichnis")
    services = {s.name: s for o in report.organisations for s in o.services}
    assert services[dropped["name"]].outcome == "ended"
    assert services[dropped["name"]].missing == ["the publisher no longer lists it"]
    assert services["Migrationsberatung für Erwachsene"].outcome == "ended"
    assert services["Migrationsberatung für Erwachsene"].missing == [
        "the publisher lists it as 'inactive'"]
    nord = application.organisation_by_key(nord.key)
    assert nord.offered_services() == {}
    assert not any(v.startswith(f"{nord.id}:") and not v.endswith(":")
                   for v in receiver_values(application.organisations()))
    case = application.repository.get(world.open_case())
    assert not [s for s in suggest_receivers(application.network, application.organisations(),
                                             case, "health.psychosocial", "routine", {},
                                             application.clock())
                if s.organisation_name == NORD and s.service_id]
    assert not any(s["name"] == dropped["name"] for o in application.exchange.export_hsds()
                   for s in o["services"])
    twice = application.exchange.import_hsds(world.as_("katrin", "koordinierungsstelle"),
                                             document, publisher="landesverzeichnis")
    assert {s.name: s.outcome for o in twice.organisations if o.name == NORD
            for s in o.services} == {"Migrationsberatung für Erwachsene": "unchanged"}
    assert NORD not in [p.record.offer["name"] for p in application.exchange.pending()], \
        "a service its publisher ended leaves nothing to map"
    again = application.exchange.import_hsds(world.as_("katrin", "koordinierungsstelle"),
                                             publisher_document(),
                                             publisher="landesverzeichnis")
    assert {s.outcome for o in again.organisations if o.name == NORD
            for s in o.services} == {"updated"}, "offered again, it is a receiver again"
    assert len(application.organisation_by_key(nord.key).offered_services()) == 2


def test_a_mapping_changes_only_what_it_maps_and_two_tabs_conflict(app: Flask) -> None:
    application, world, coordinator = _mapped_world(app)
    sued = _by_name(application)[SUED]
    [(key, service)] = sued.services.items()
    application.directory.change_service(world.as_("katrin", "koordinierungsstelle"), sued.id,
                                         key, {**service, "districts": ["Mitte"]})
    stale = coordinator.get(PAGE).get_data(as_text=True)
    response = _map_term(coordinator, "SPR-03", ["language"], "education")
    assert response.status_code == 302
    assert application.organisation_by_key(sued.key).services[key]["districts"] == ["Mitte"], \
        "an unrelated mapping leaves a coordinator's change alone"
    assert application.exchange.pending()[0].resolved.pending[0].missing == [
        "it names no service area: map it to districts"]
    late = coordinator.post(f"{PAGE}/begriff", data={
        **_hidden(stale, f"{PAGE}/begriff", "SPR-03"), "needs": ["school"]})
    assert late.status_code == 409 and "inzwischen geändert" in late.get_data(as_text=True)
    other_term = coordinator.post(f"{PAGE}/begriff", data={
        **_hidden(stale, f"{PAGE}/begriff", "TRG-FREI"), "means_nothing": "on"})
    assert other_term.status_code == 302, "a change of another term is no conflict"
    unknown = coordinator.post(f"{PAGE}/begriff", data={
        **_hidden(coordinator.get(PAGE).get_data(as_text=True), f"{PAGE}/gebiet", ""),
        "taxonomy": "urn:x", "code": "NIE-GESEHEN", "needs": ["school"]})
    assert unknown.status_code == 422 and "Keine importierte Organisation nennt" in \
        unknown.get_data(as_text=True)
    empty = coordinator.post(f"{PAGE}/gebiet", data={
        **_hidden(coordinator.get(PAGE).get_data(as_text=True), f"{PAGE}/gebiet", ""),
        "area": ""})
    assert empty.status_code == 422

    page = coordinator.get(PAGE).get_data(as_text=True)
    removed = coordinator.post(f"{PAGE}/begriff/aufheben", data={
        **_hidden(page, f"{PAGE}/begriff/aufheben", "WOH-02")})
    assert removed.status_code == 302
    assert application.organisation_by_key(sued.key).offered_services() == {}, \
        "without its term the service waits again and is no longer offered"
    assert "WOH-02" in [t["code"] for p in application.exchange.pending()
                        for t in p.resolved.unmapped_terms]


def test_a_hostile_or_large_upload_is_answered_in_words(app: Flask) -> None:
    application = app.extensions["fallnetz.application"]
    web_world(app)
    coordinator = sign_in(app, "katrin")
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as package:
        package.writestr("organization.csv", "id,name\n1," + "x" * 200_000 + "\n")
    for data, name, expected in ((archive.getvalue(), "land.zip", "nicht lesbar"),
                                 (b"PK\x03\x04 kaputt", "land.zip", "weder"),
                                 (b"{}", "land.json", "eine Seite davon"),
                                 (b"[]", "land.json", "keine Organisation"),
                                 (b"kein zip", "land.zip", "kein Zip-Archiv")):
        before = events(app)
        answer = _upload(coordinator, data, name)
        assert answer.status_code == 422 and expected in answer.get_data(as_text=True), name
        assert events(app) == before
    # a Land's directory is larger than the 1 MB other forms take
    padded = json.dumps(publisher_document(), indent=200).encode()
    assert len(padded) > 1024 * 1024
    assert _upload(coordinator, padded, "land.json", dry_run="on").status_code == 200
    assert application.exchange.imported() == []
