"""Erasure through the web, four eyes: the caseworker closes the case, the supervisor asks
for the erasure with a reason, the data protection officer confirms it on their page; from
then on every page, the audit and its CSV, the API and its FHIR answer show "gelöscht"
where the person's data and free texts were, and the pseudonymous history stays."""

from __future__ import annotations

import json
import re

from flask import Flask

from domain.stamp import Role, Stamp
from readmodel.runner import ViewUpdater
from testbed.web import sign_in, submit, web_world

NAME = "Qwertz Erasable"
REASON = "Qwertz braucht dringend Traumatherapie"


def text(response: object) -> str:
    """The answer as a reader sees it (JSON with its escapes undone)."""
    body = response.get_data(as_text=True)  # type: ignore[attr-defined]
    if response.mimetype.endswith("json"):  # type: ignore[attr-defined]
        return json.dumps(json.loads(body), ensure_ascii=False)
    return body


def test_a_case_is_erased_with_four_eyes_and_reads_erased_everywhere(
        web_app: Flask, updater: ViewUpdater) -> None:
    world = web_world(web_app)
    application = world.application
    case_id = world.open_case(person={"display_name": NAME, "household_size": 1,
                                      "district": "Sachsendorf"})
    world.consent(case_id)
    referral_id = application.referrals.send_referral(
        world.anna, case_id, "health.psychosocial", "urgent", world.org("psz"),
        REASON)["referral_id"]
    application.referrals.cancel_referral(world.anna, referral_id, "Qwertz zieht weg")
    anna, birgit, dora = (sign_in(web_app, u) for u in ("anna", "birgit", "dora"))
    case_url = f"/faelle/{case_id}"

    # The caseworker closes the case; she cannot ask for the erasure (no form, 403).
    refused = submit(anna, case_url, f"{case_url}/abschluss", reason="")
    assert refused.status_code == 422 and "Grund für den Abschluss" in text(refused)
    closed = submit(anna, case_url, f"{case_url}/abschluss", reason="Qwertz ist umgezogen")
    assert closed.status_code == 302
    assert "Der Fall wurde abgeschlossen." in text(anna.get(closed.headers["Location"]))
    closed_page = text(anna.get(case_url))
    assert f"{case_url}/loeschantrag" not in closed_page
    assert "hat den Fall am" in closed_page and "Qwertz ist umgezogen" in closed_page

    asked = submit(birgit, case_url, f"{case_url}/loeschantrag",
                   reason="Antrag der Person vom 3.11.")
    assert asked.status_code == 302
    page = text(birgit.get(asked.headers["Location"]))
    assert "Die Löschung ist beantragt" in page and "Antrag der Person vom 3.11." in page
    updater.catch_up()

    # The data protection officer's page: the request, without the person's data.
    work = text(dora.get("/datenschutz"))
    assert "Antrag der Person vom 3.11." in work and NAME not in work
    reference = application.repository.get(case_id).reference
    assert f"Fall {reference} löschen" in work
    erased = submit(dora, "/datenschutz", f"/datenschutz/{case_id}/loeschen")
    assert erased.status_code == 302
    assert "Der Fall wurde gelöscht." in text(dora.get(erased.headers["Location"]))
    updater.catch_up()
    assert "Keine Löschung wartet auf Sie." in text(dora.get("/datenschutz"))

    # Every reader now sees "gelöscht" and nothing of the person.
    issued = application.integrations.issue_api_token(
        Stamp.system("test"), world.org("fsa-sachsendorf"), "fachverfahren", Role.CASEWORKER,
        ["cases:read", "referrals:read"])
    api = {"Authorization": f"Bearer {issued['token']}"}
    answers = {
        "case page": text(anna.get(case_url)),
        "audit": text(birgit.get(f"/pruefung{case_url}")),
        "audit csv": text(birgit.get(f"/pruefung{case_url}/verlauf.csv")),
        "referral audit": text(birgit.get(f"/pruefung/vermittlungen/{referral_id}")),
        "api case": text(web_app.test_client().get(f"/api/v1/cases/{case_id}", headers=api)),
        "api referral": text(web_app.test_client().get(f"/api/v1/referrals/{referral_id}",
                                                       headers=api)),
        "fhir": text(web_app.test_client().get(f"/api/v1/referrals/{referral_id}/fhir",
                                               headers=api)),
    }
    for where, answer in answers.items():
        assert "Qwertz" not in answer, where
        assert "gelöscht" in answer, where
    assert "wurden am" in answers["case page"]  # the banner says when
    assert '"erased_at": "20' in answers["api case"]
    assert "Fall gelöscht" in answers["audit"] and "Löschung beantragt" in answers["audit"]
    assert "Sachsendorf" in answers["case page"]  # the district stays (reports, routing)
    nadia_page = text(sign_in(web_app, "nadia").get(f"/vermittlungen/{referral_id}"))
    assert "Qwertz" not in nadia_page
    # Nothing more can be done to it: no forms left on its page.
    assert not re.search(r'<form method="post" action="/faelle/', answers["case page"])


def test_the_data_protection_officer_finds_who_read_a_case(
        web_app: Flask, updater: ViewUpdater) -> None:
    world = web_world(web_app)
    case_id = world.open_case()
    reference = world.application.repository.get(case_id).reference
    anna, dora = sign_in(web_app, "anna"), sign_in(web_app, "dora")
    assert anna.get(f"/faelle/{case_id}").status_code == 200
    updater.catch_up()
    page = text(dora.get(f"/datenschutz/lesezugriffe?fall={reference.lower()}"))
    assert re.search(r"<td>anna</td><td>Fachkraft</td><td>FSA Sachsendorf</td>"
                     r"<td>Fallseite</td>", page), page
    missing = dora.get("/datenschutz/lesezugriffe?fall=CB-1999-00001")
    assert missing.status_code == 404 and "Es gibt keinen Fall CB-1999-00001" in text(missing)
    assert dora.get(f"/faelle/{case_id}").status_code == 403  # no case content for her


def test_the_person_gets_everything_held_about_them(web_app: Flask,
                                                    updater: ViewUpdater) -> None:
    """GDPR Art. 15: the supervisor (or the data protection officer) hands the person a
    report of their data, the referrals, every change and every read, as PDF and JSON."""
    from io import BytesIO

    from pypdf import PdfReader

    world = web_world(web_app)
    case_id = world.open_case(person={"display_name": NAME, "household_size": 1,
                                      "district": "Sachsendorf"})
    world.consent(case_id)
    world.application.referrals.send_referral(
        world.anna, case_id, "health.psychosocial", "urgent", world.org("psz"), REASON)
    anna, birgit, dora, nadia = (sign_in(web_app, u) for u in ("anna", "birgit", "dora",
                                                               "nadia"))
    assert anna.get(f"/faelle/{case_id}").status_code == 200
    report = birgit.get(f"/datenschutz/auskunft/{case_id}.json")
    assert report.status_code == 200
    data = report.get_json()
    assert data["case"]["person"]["display_name"] == NAME
    assert data["referrals"][0]["reason"] == REASON
    assert data["referrals"][0]["to"] == "Psychosoziales Zentrum"
    assert any(r["who"] == "anna" and r["what"] == "Fallseite" for r in data["reads"])
    assert any(h["what"] == "Fall eröffnet" for h in data["history"]), data["history"]
    pdf = dora.get(f"/datenschutz/auskunft/{case_id}.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(BytesIO(pdf.data)).pages)
    assert NAME in text and "Qwertz braucht" in text and "Wer Ihren Fall gelesen hat" in text
    # The report is a read of the case too; others get nothing.
    updater.catch_up()
    again = birgit.get(f"/datenschutz/auskunft/{case_id}.json").get_json()
    assert any(r["what"] == "Auskunft für die Person (Art. 15)" for r in again["reads"])
    assert anna.get(f"/datenschutz/auskunft/{case_id}.json").status_code == 403
    assert nadia.get(f"/datenschutz/auskunft/{case_id}.pdf").status_code == 403


def test_reopening_withdraws_the_request_and_a_second_tab_is_told(
        web_app: Flask, updater: ViewUpdater) -> None:
    world = web_world(web_app)
    application = world.application
    case_id = world.open_case()
    application.cases.close_case(world.anna, case_id, "umgezogen")
    reference = application.repository.get(case_id).reference
    anna, birgit, dora = (sign_in(web_app, u) for u in ("anna", "birgit", "dora"))
    case_url = f"/faelle/{case_id}"
    submit(birgit, case_url, f"{case_url}/loeschantrag", reason="Antrag vom 3.11.")
    assert "Die Wiederaufnahme zieht die beantragte Löschung zurück." in text(
        anna.get(case_url))
    submit(anna, case_url, f"{case_url}/wiedereroeffnung", reason="zurückgekehrt")
    updater.catch_up()
    assert "Keine Löschung wartet auf Sie." in text(dora.get("/datenschutz"))

    # Asked for again; the officer has the page open in two tabs and erases in both.
    application.cases.close_case(world.anna, case_id, "wieder umgezogen")
    submit(birgit, case_url, f"{case_url}/loeschantrag", reason="Antrag vom 4.11.")
    updater.catch_up()
    stale = text(dora.get("/datenschutz"))
    first = submit(dora, "/datenschutz", f"/datenschutz/{case_id}/loeschen")
    assert first.status_code == 302
    from testbed.web import hidden_fields

    second = dora.post(f"/datenschutz/{case_id}/loeschen",
                       data=hidden_fields(stale, f"/datenschutz/{case_id}/loeschen"))
    assert second.status_code in (409, 422)
    page = text(second)
    assert f"Fall {reference}: es wurde nichts getan." in page  # said at the top
    assert "Der Fall ist bereits gelöscht." in page
    assert f"Fall {reference} löschen" not in page  # no row offers it any more
