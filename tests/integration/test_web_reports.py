"""The network's reports in the web: pages with chart and table, CSV and PDF with small
counts suppressed, the filter's messages, and who sees which slice (SQLite and
PostgreSQL). The figures themselves are checked in test_network_reports.py."""

from __future__ import annotations

import io
import re
from datetime import date

import pytest
from flask import Flask
from pypdf import PdfReader

from readmodel.runner import ViewUpdater
from testbed.reports import ReferredInMarch
from testbed.web import csrf_token, sign_in, web_world

MARCH = "?von=2026-03&bis=2026-03"


@pytest.fixture
def referred(web_app: Flask, updater: ViewUpdater) -> ReferredInMarch:
    built = ReferredInMarch(web_world(web_app))
    updater.catch_up()
    return built


def text(response) -> str:  # type: ignore[no-untyped-def]
    return response.get_data(as_text=True)


def table_rows(page: str) -> list[list[str]]:
    rows = []
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", page, re.S):
        cells = [re.sub(r"<[^>]+>", "", c).strip()
                 for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)]
        rows.append(cells)
    return rows


def test_the_coordinator_reads_the_map_as_chart_and_table(web_app: Flask,
                                                          referred: ReferredInMarch) -> None:
    katrin = sign_in(web_app, "katrin")
    page = katrin.get(f"/netzwerk/karte{MARCH}")
    assert page.status_code == 200
    body = text(page)
    assert "<svg" in body and "<title>FSA Sachsendorf an Psychosoziales Zentrum: 2 " \
                                "Vermittlungen</title>" in body
    assert ["FSA Sachsendorf", "Psychosoziales Zentrum", "2", "1", "1", "50 %", "1,5",
            "2,0", "50 %"] in table_rows(body)
    assert ["FSA Sachsendorf", "Kinderarztpraxis Schmellwitz", "2", "0", "2", "0 %", "–",
            "–", "0 %"] in table_rows(body)
    # The other reports, reached from the page's own navigation.
    gaps = text(katrin.get(f"/netzwerk/versorgungsluecken{MARCH}"))
    assert "<strong>abgelehnt mangels Kapazität</strong>" in gaps
    # Paediatrics is offered in Schmellwitz only: a gap of every other district.
    assert re.search(r"<dt>Sachsendorf</dt><dd>[^<]*Kinderärztliche Versorgung", gaps)
    health = text(katrin.get(f"/netzwerk{MARCH}"))
    assert ["Vermittlungen gesendet", "5"] in table_rows(health)


def test_files_that_leave_the_office_suppress_small_counts(web_app: Flask,
                                                          referred: ReferredInMarch) -> None:
    katrin = sign_in(web_app, "katrin")
    csv = katrin.get(f"/netzwerk/karte.csv{MARCH}")
    assert csv.mimetype == "text/csv"
    assert 'filename="netzwerkkarte-2026-03-bis-2026-03.csv"' in csv.headers[
        "Content-Disposition"]
    content = text(csv)
    assert content.startswith("\ufeffVon;An;Vermittlungen")
    # 2 referrals, 1 accepted, 1 rejected: all under five, and so are the shares of them;
    # the medians over two referrals (1,5 and 2,0 days on the page) would be their waits.
    assert "FSA Sachsendorf;Psychosoziales Zentrum;< 5;< 5;< 5;< 5;–;–;< 5" in content
    assert "FSA Sachsendorf;Jobcenter;< 5;< 5;0;< 5;–;–;< 5" in content
    gaps = text(katrin.get(f"/netzwerk/versorgungsluecken.csv{MARCH}"))
    assert "Sachsendorf;Psychosoziale Beratung;< 5;< 5;< 5;< 5;0;0;< 5;–;1;4 %" in gaps
    health = text(katrin.get(f"/netzwerk/gesundheit.csv{MARCH}"))
    # 5 sent and 3 ended: the share (60 %) would give the 3 away.
    assert "Vermittlungen gesendet;5" in health and "Anteil mit Ergebnis;< 5" in health
    for path in ("karte", "versorgungsluecken", "gesundheit"):
        pdf = katrin.get(f"/netzwerk/{path}.pdf{MARCH}")
        assert pdf.mimetype == "application/pdf"
        assert pdf.data.startswith(b"%PDF") and b"/Type /Page" in pdf.data


def test_a_supervisor_sees_the_flows_of_their_own_organisation(
        web_app: Flask, referred: ReferredInMarch) -> None:
    ulrike = text(sign_in(web_app, "ulrike").get(f"/netzwerk/karte{MARCH}"))  # PSZ
    rows = [r for r in table_rows(ulrike) if len(r) == 9 and r[0] != "Von"]
    assert [r[:3] for r in rows] == [["FSA Sachsendorf", "Psychosoziales Zentrum", "2"]]
    assert sign_in(web_app, "anna").get("/netzwerk/karte").status_code in (403, 404)
    assert sign_in(web_app, "root").get("/netzwerk").status_code in (403, 404)


@pytest.mark.parametrize(("query", "field", "message"), [
    ("?von=2026-13", "von", "Monat"),
    ("?von=2026-05&bis=2026-03", "bis", "nach dem letzten"),
    ("?von=2020-01&bis=2026-03", "bis", "36 Monate"),
    ("?stadtteil=Atlantis", "stadtteil", "Sozialr"),
    ("?bedarf=%3Cscript%3E", "bedarf", "Bedarf"),
])
def test_a_bad_filter_is_named_and_the_default_shown(
        web_app: Flask, referred: ReferredInMarch, query: str, field: str,
        message: str) -> None:
    katrin = sign_in(web_app, "katrin")
    response = katrin.get(f"/netzwerk/karte{query}")
    assert response.status_code == 422
    body = text(response)
    assert f'href="#f-{field}"' in body and message in body
    assert "<script>" not in body
    # The files are offered for what the page counted, and made for a valid filter only.
    csv_link = re.search(r'href="(/netzwerk/karte\.csv[^"]*)"', body).group(1)
    assert "2026-13" not in csv_link and "Atlantis" not in csv_link
    assert katrin.get(f"/netzwerk/karte.csv{query}").status_code == 422


def test_the_api_gives_the_reports_suppressed(web_app: Flask,
                                              referred: ReferredInMarch) -> None:
    from domain.stamp import Role, Stamp

    application = web_app.extensions["fallnetz.application"]
    issued = application.integrations.issue_api_token(
        Stamp.system("test"), referred.world.org("koordinierungsstelle"), "politik",
        Role.COORDINATOR, ["reports:read"])
    headers = {"Authorization": f"Bearer {issued['token']}"}
    client = web_app.test_client()
    query = "first_month=2026-03&last_month=2026-03"
    found = client.get(f"/api/v1/reports/network-map?{query}", headers=headers).get_json()
    psz = next(f for f in found["flows"] if f["to_organisation_id"] == referred.org("psz"))
    assert (psz["sent"], psz["accepted"], psz["acceptance_rate"],
            psz["median_days_to_receive"]) == ("< 5", "< 5", "< 5", None)
    gaps = client.get(f"/api/v1/reports/care-gaps?{query}&district=Schmellwitz",
                      headers=headers).get_json()
    paediatric = next(r for r in gaps["rows"] if r["need"] == "health.paediatric")
    assert paediatric["gaps"] == ["no_acceptance", "rejected_for_capacity"]
    assert paediatric["trend"][-1] == "< 5"
    health = client.get(f"/api/v1/reports/network-health?{query}", headers=headers)
    assert health.get_json()["sent"] == 5
    refused = client.get("/api/v1/reports/care-gaps?district=Atlantis", headers=headers)
    assert refused.status_code == 422
    assert refused.get_json()["errors"][0]["pointer"] == "#/district"


def test_the_coordinator_records_demand_and_sees_what_is_missing(
        web_app: Flask, referred: ReferredInMarch, updater: ViewUpdater) -> None:
    from domain.stamp import Role, Stamp
    from testbed.web import events, submit

    katrin = sign_in(web_app, "katrin")
    page = f"/netzwerk/kapazitaet{MARCH}"
    before = events(web_app)
    for bad, field in (({"people": "0"}, "people"), ({"people": "drei"}, "people"),
                       ({"last_month": "2026-02"}, "last_month"),
                       ({"need": "wetter"}, "need"), ({"first_month": "März"}, "first_month")):
        refused = submit(katrin, page, "/netzwerk/kapazitaet", **{
            "need": "health.psychosocial", "district": "", "first_month": "2026-03",
            "last_month": "2026-03", "people": "30", **bad})
        assert refused.status_code == 422, bad
        assert f'href="#d-f-{field}"' in text(refused), bad
    assert events(web_app) == before, "a refused form stores nothing"
    done = submit(katrin, page, "/netzwerk/kapazitaet", need="health.psychosocial",
                  district="", first_month="2026-03", last_month="2026-03", people="30")
    assert done.status_code == 302
    updater.catch_up()
    shown = table_rows(text(katrin.get(page)))
    # The PSZ's 25 places, 1 taken: 24 free for 30 people, 6 missing.
    assert ["Psychosoziale Beratung", "ganzes Netzwerk", "03/2026 bis 03/2026", "30", "25",
            "1", "24", "6"] == shown[1][:8]
    issued = web_app.extensions["fallnetz.application"].integrations.issue_api_token(
        Stamp.system("test"), referred.world.org("koordinierungsstelle"), "plan",
        Role.COORDINATOR, ["reports:read"])
    found = web_app.test_client().get(
        "/api/v1/reports/capacity?first_month=2026-03&last_month=2026-03",
        headers={"Authorization": f"Bearer {issued['token']}"}).get_json()["rows"]
    # Outside the office the free places (24) and the missing (6) are rounded like the
    # taken one they are worked out from: 25 places less 25 free would give it away.
    assert [(r["need"], r["people"], r["places"], r["taken"], r["free"], r["missing"])
            for r in found] == [("health.psychosocial", 30, 25, "< 5", 25, 5)]
    csv = text(katrin.get(f"/netzwerk/kapazitaet.csv{MARCH}"))
    assert "Psychosoziale Beratung;ganzes Netzwerk;03/2026 bis 03/2026;30;25;< 5;25;5" in csv
    # A supervisor reads it, but records nothing.
    birgit = sign_in(web_app, "birgit")
    assert "Erwarteten Bedarf erfassen" not in text(birgit.get(page))
    assert birgit.post("/netzwerk/kapazitaet", data={}).status_code in (400, 403, 404)


def test_the_directory_shows_load_as_bars_filtered_and_sorted(
        web_app: Flask, referred: ReferredInMarch) -> None:
    katrin = sign_in(web_app, "katrin")

    def overview(query: str) -> list[list[str]]:
        page = text(katrin.get(f"/verzeichnis{query}"))
        table = page.split('id="cap-overview"')[1].split("</table>")[0]
        return [r for r in table_rows(table) if len(r) == 7][1:]  # without the heading
    # Paediatrics: the practice in Schmellwitz (2 places, none taken).
    assert overview("?bedarf=health.paediatric") == [
        ["Kinderarztpraxis Schmellwitz", "Sprechstunde", "Schmellwitz", "2", "0", "2",
         "0 von 2 Plätzen belegt 0 %"]]
    # Health as a group, the most free places first: the PSZ (25, 1 taken), the practice.
    assert [r[0] for r in overview("?bedarf=health&sortierung=frei")] == [
        "Psychosoziales Zentrum", "Kinderarztpraxis Schmellwitz"]
    # In Sachsendorf the practice of Schmellwitz does not serve.
    assert "Kinderarztpraxis Schmellwitz" not in [
        r[0] for r in overview("?stadtteil=Sachsendorf")]
    page = text(katrin.get("/verzeichnis?bedarf=health"))
    assert "<title>1 von 25 Plätzen belegt</title>" in page
    refused = katrin.get("/verzeichnis?sortierung=zufall")
    assert refused.status_code == 422 and 'href="#o-f-sortierung"' in text(refused)


def test_withdrawing_twice_says_so_above_the_page(web_app: Flask, referred: ReferredInMarch,
                                                  updater: ViewUpdater) -> None:
    from testbed.web import submit

    katrin = sign_in(web_app, "katrin")
    estimate = web_app.extensions["fallnetz.application"].planning.record_demand(
        referred.world.as_("katrin", "koordinierungsstelle"), "housing",
        date(2026, 3, 1), date(2026, 3, 1), 12)["estimate_id"]
    updater.catch_up()
    page = f"/netzwerk/kapazitaet{MARCH}"
    first = submit(katrin, page, "/netzwerk/kapazitaet/zurueckziehen",
                   estimate_id=str(estimate))
    assert first.status_code == 302
    again = katrin.post("/netzwerk/kapazitaet/zurueckziehen", data={
        "csrf_token": csrf_token(katrin, page), "idempotency_key": "second-tab",
        "estimate_id": str(estimate)}, follow_redirects=True)
    body = text(again)
    assert "bereits zurückgezogen" in body and 'class="flash error"' in body
    assert "Es wurde nichts gespeichert" not in body


def test_the_demo_networks_reports_print_on_one_a4_landscape_page(  # type: ignore[no-untyped-def]
        app, runner) -> None:
    """As large as the demo network (26 organisations, 19 flows on the map), each report
    prints on one page, drawn smaller where it must be."""
    assert runner.invoke(args=["load-demo"]).exit_code == 0
    system = app.extensions["fallnetz.system"]
    ViewUpdater(system.application, system.read_store).catch_up()
    coordinator = sign_in(app, "k.lehmann", "fallnetz-demo")
    for report in ("karte", "versorgungsluecken", "gesundheit", "kapazitaet"):
        pdf = PdfReader(io.BytesIO(coordinator.get(f"/netzwerk/{report}.pdf").data))
        box = pdf.pages[0].mediabox
        assert (len(pdf.pages), round(box.width), round(box.height)) == (1, 842, 595), report
    text = PdfReader(io.BytesIO(coordinator.get("/netzwerk/karte.pdf").data)
                     ).pages[0].extract_text()
    assert "Flüchtlingssozialarbeit GU Sachsendorf" in text and "Jobcenter Cottbus" in text
