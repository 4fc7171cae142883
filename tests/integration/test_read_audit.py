"""Every read of case data leaves a row: the case page, the receiver's referral page, the
supervisor's audit and its CSV, the API's case and FHIR answers; a refused read leaves
none; the supervisor sees who read the case; a rebuild of the views keeps the rows."""

from __future__ import annotations

import re

from flask import Flask

from domain.stamp import Role, Stamp
from readmodel.read_audit import reads_of_case
from readmodel.runner import ViewUpdater
from testbed.web import sign_in, web_world


def _reads(web_app: Flask, case_id: object) -> list[tuple[str, str, str]]:
    store = web_app.extensions["fallnetz.system"].read_store
    return [(r["reader"], r["role"], r["what"])
            for r in reversed(reads_of_case(store, str(case_id)))]


def test_who_read_a_case_is_recorded_and_shown_to_the_supervisor(
        web_app: Flask, updater: ViewUpdater) -> None:
    world = web_world(web_app)
    case_id = world.open_case()
    world.consent(case_id)
    referral_id = world.send(case_id)
    updater.catch_up()

    anna, nadia, birgit = (sign_in(web_app, user) for user in ("anna", "nadia", "birgit"))
    assert anna.get(f"/faelle/{case_id}").status_code == 200
    assert nadia.get(f"/vermittlungen/{referral_id}").status_code == 200
    assert nadia.get(f"/faelle/{case_id}").status_code == 404  # not hers: nothing read
    issued = world.application.integrations.issue_api_token(
        Stamp.system("test"), world.org("fsa-sachsendorf"), "fachverfahren", Role.CASEWORKER,
        ["cases:read", "referrals:read"])
    api = {"Authorization": f"Bearer {issued['token']}"}
    client = web_app.test_client()
    assert client.get(f"/api/v1/cases/{case_id}", headers=api).status_code == 200
    assert client.get(f"/api/v1/referrals/{referral_id}/fhir", headers=api).status_code == 200
    assert client.get(f"/api/v1/cases/{case_id}", headers={
        "Authorization": "Bearer fnz_wrong"}).status_code == 401
    assert birgit.get(f"/pruefung/faelle/{case_id}/verlauf.csv").status_code == 200

    assert _reads(web_app, case_id) == [
        ("anna", "caseworker", "case_page"), ("nadia", "caseworker", "referral_page"),
        ("api:fachverfahren", "caseworker", "api_case"), ("api:fachverfahren", "caseworker",
                                                          "fhir"),
        ("birgit", "supervisor", "case_csv")]
    page = birgit.get(f"/pruefung/faelle/{case_id}").get_data(as_text=True)
    shown = page[page.index("Wer diesen Fall gelesen hat"):]
    assert re.search(r"<td>Nadia</td><td>Fachkraft</td><td>Psychosoziales Zentrum</td>"
                     r"<td>Vermittlungsseite</td>", shown), shown[:2000]
    assert "CSV der Fallprüfung" in shown and "API: eine Vermittlung als FHIR" in shown
    # The supervisor's own look at the audit is recorded too.
    assert _reads(web_app, case_id)[-1] == ("birgit", "supervisor", "case_history")

    updater.rebuild()
    assert len(_reads(web_app, case_id)) == 6, "a rebuild of the views keeps the reads"
