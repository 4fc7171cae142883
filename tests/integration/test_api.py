"""The JSON API as other systems of the network use it, on SQLite and PostgreSQL:

the FSA's case management system opens a case, records a consent and sends a referral with
its token; the psychosocial centre's system finds it in its inbox, acknowledges it at the
version it saw and accepts it; a stale If-Match changes nothing (412), bad input names its
field and stores nothing (422), a revoked token is refused; the FSA's supervisor reads the
history. Every error is RFC 9457 problem details. Then the same rules as the web: other
organisations get 404, missing scopes 403."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest
from flask import Flask
from flask.testing import FlaskClient

from domain.stamp import Role, Stamp
from testbed.web import events
from testbed.world import World
from readmodel.runner import ViewUpdater

ALL_SCOPES = ["cases:read", "cases:write", "referrals:read", "referrals:write",
              "directory:read", "directory:write", "audit:read", "integrations:write",
              "reports:read"]


@pytest.fixture
def world(web_app: Flask) -> World:
    return World.build(web_app.extensions["fallnetz.application"])


def token(app: Flask, world: World, organisation: str, name: str, role: Role,
          scopes: list[str] | None = None) -> dict[str, str]:
    issued = app.extensions["fallnetz.application"].integrations.issue_api_token(
        Stamp.system("test-setup"), world.org(organisation), name, role,
        scopes or ALL_SCOPES)
    return {"Authorization": f"Bearer {issued['token']}", "X-Token-Id": issued["token_id"]}


def assert_problem(response: Any, status: int, pointer: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["status"] == status and body["title"] and body["type"]
    if pointer is not None:
        assert pointer in [e["pointer"] for e in body.get("errors", [])], body
    return body


def open_case(client: FlaskClient, headers: dict[str, str]) -> dict[str, Any]:
    response = client.post("/api/v1/cases", headers=headers, json={
        "person": {"display_name": "Familie A.", "household_size": 4, "languages": ["ar"],
                   "district": "Sachsendorf"},
        "housing_stage": "shared_accommodation", "residence_status": "gestattung",
        "needs": ["health.psychosocial"], "lead_caseworker": "anna"})
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.headers["Location"].endswith(f"/api/v1/cases/{response.json['id']}")
    return response.get_json()


def test_a_referral_from_one_system_to_another(web_app: Flask, world: World,
                                               updater: ViewUpdater) -> None:
    client = web_app.test_client()
    fsa = token(web_app, world, "fsa-sachsendorf", "fachverfahren", Role.CASEWORKER)
    psz = token(web_app, world, "psz", "klinik-kis", Role.CASEWORKER)
    supervisor = token(web_app, world, "fsa-sachsendorf", "revision", Role.SUPERVISOR,
                       ["audit:read"])

    case = open_case(client, fsa)
    assert case["person"]["display_name"] == "Familie A." and case["version"] == 2
    consented = client.post(f"/api/v1/cases/{case['id']}/consents",
                            headers={**fsa, "If-Match": f'"{case["version"]}"'},
                            json={"purposes": ["health"], "expires_on": str(
                                world.application.today() + timedelta(days=300)),
                                  "receiver_organisation_id": str(world.org("psz"))})
    assert consented.status_code == 200, consented.get_data(as_text=True)
    assert consented.headers["ETag"] == f'"{consented.json["version"]}"'

    sent = client.post("/api/v1/referrals", headers={**fsa, "Idempotency-Key": "send-1"},
                       json={"case_id": case["id"], "need": "health.psychosocial",
                             "urgency": "urgent", "to_organisation_id": str(world.org("psz")),
                             "to_service_id": "beratung", "reason": "Erstgespräch bitte"})
    assert sent.status_code == 201, sent.get_data(as_text=True)
    referral = sent.get_json()
    assert referral["status"] == "requested" and referral["deadline"]["stage"] == "receive"
    again = client.post("/api/v1/referrals", headers={**fsa, "Idempotency-Key": "send-1"},
                        json={"case_id": case["id"], "need": "health.psychosocial",
                              "urgency": "urgent", "to_organisation_id": str(world.org("psz")),
                              "to_service_id": "beratung", "reason": "Erstgespräch bitte"})
    assert again.json["id"] == referral["id"], "the same key sends once"

    updater.catch_up()
    inbox = client.get("/api/v1/inbox", headers=psz)
    assert inbox.status_code == 200 and inbox.headers["X-Views-Behind"] == "0"
    assert [row["referral_id"] for row in inbox.json] == [referral["id"]]
    assert '"total": 1' in inbox.headers["X-Pagination"]

    url = f"/api/v1/referrals/{referral['id']}"
    seen = client.get(url, headers=psz)
    assert seen.json["case"]["person"]["display_name"] == "Familie A.", "consent holds"
    assert set(seen.json["commands"]) >= {"receive", "accept", "reject", "forward"}
    etag = seen.headers["ETag"]
    received = client.post(f"{url}/receive", headers={**psz, "If-Match": etag})
    assert received.status_code == 200 and received.json["status"] == "received"

    before = events(web_app)
    stale = client.post(f"{url}/accept", headers={**psz, "If-Match": etag}, json={})
    assert_problem(stale, 412)
    assert stale.headers["ETag"] == received.headers["ETag"]
    assert events(web_app) == before, "a stale version stores nothing"

    unknown = client.post(f"{url}/reject", headers=psz, json={"reason": "x", "because": 1})
    assert_problem(unknown, 422, "#/because")
    empty = client.post(f"{url}/reject", headers=psz, json={"reason": ""})
    assert_problem(empty, 422, "#/reason")
    wrong_side = client.post(f"{url}/cancel", headers=psz, json={"reason": "nicht meins"})
    assert_problem(wrong_side, 403)
    assert events(web_app) == before, "refused commands store nothing"

    accepted = client.post(f"{url}/accept", headers={**psz, "If-Match": received.headers[
        "ETag"]}, json={})
    assert accepted.status_code == 200 and accepted.json["status"] == "accepted"

    history = client.get(f"/api/v1/cases/{case['id']}/history", headers=supervisor)
    assert history.status_code == 200
    assert [e["event"] for e in history.json if e["subject"] == "referral"] == [
        "Referral.Created", "Referral.Received", "Referral.Accepted"]
    assert {e["user"] for e in history.json} >= {"api:fachverfahren", "api:klinik-kis"}
    assert all(e["correlation_id"] for e in history.json)

    revoked = web_app.extensions["fallnetz.application"].integrations.revoke_api_token(
        Stamp.system("test"), world.org("psz"), psz["X-Token-Id"])
    assert revoked
    assert_problem(client.get(url, headers=psz), 401)


def test_the_api_keeps_the_webs_access_rules(web_app: Flask, world: World) -> None:
    client = web_app.test_client()
    fsa = token(web_app, world, "fsa-sachsendorf", "fachverfahren", Role.CASEWORKER)
    jobcenter = token(web_app, world, "jobcenter", "jc", Role.CASEWORKER)
    reader = token(web_app, world, "fsa-sachsendorf", "nur-lesen", Role.CASEWORKER,
                   ["cases:read"])
    coordinator = token(web_app, world, "koordinierungsstelle", "ko", Role.COORDINATOR)
    case = open_case(client, fsa)

    assert_problem(client.get(f"/api/v1/cases/{case['id']}", headers=jobcenter), 404)
    assert_problem(client.post(f"/api/v1/cases/{case['id']}/close", headers=jobcenter,
                               json={"reason": "x"}), 404)
    assert client.get(f"/api/v1/cases/{case['id']}", headers=reader).status_code == 200
    assert_problem(client.post(f"/api/v1/cases/{case['id']}/close", headers=reader,
                               json={"reason": "x"}), 403)
    assert_problem(client.get("/api/v1/cases", headers=coordinator), 403)
    assert_problem(client.get(f"/api/v1/cases/{case['id']}/history", headers=fsa), 403)
    assert_problem(client.get("/api/v1/cases"), 401)
    assert_problem(client.get("/api/v1/cases", headers={"Authorization": "Bearer nonsense"}),
                   401)
    assert client.get("/api/v1/organisations", headers=coordinator).status_code == 200


def test_a_signed_in_user_may_call_the_api_with_the_csrf_token(web_app: Flask,
                                                               world: World) -> None:
    from testbed.web import PASSWORD, csrf_token, give_passwords, sign_in

    give_passwords(web_app.extensions["fallnetz.application"])
    anna = sign_in(web_app, "anna", PASSWORD)
    assert anna.get("/api/v1/cases").status_code == 200
    body = {"person": {"display_name": "Familie B.", "district": "Sachsendorf"},
            "housing_stage": "shared_accommodation", "residence_status": "gestattung"}
    assert_problem(anna.post("/api/v1/cases", json=body), 400)
    token_value = csrf_token(anna, "/faelle/neu")
    created = anna.post("/api/v1/cases", json=body, headers={"X-CSRFToken": token_value})
    assert created.status_code == 201 and created.json["lead_caseworker"] == "anna"


def test_the_spec_and_its_docs_are_served(web_app: Flask) -> None:
    client = web_app.test_client()
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    assert spec["components"]["securitySchemes"]["token"]["scheme"] == "bearer"
    for path in ("/api/v1/cases", "/api/v1/referrals/{referral_id}/accept",
                 "/api/v1/inbox", "/api/v1/outbox", "/api/v1/cases/{case_id}/history",
                 "/api/v1/directory/hsds", "/api/v1/referrals/{referral_id}/fhir",
                 "/api/v1/organisations/{organisation_id}/webhooks"):
        assert path in spec["paths"], path
    docs = client.get("/api/v1/docs")
    assert docs.status_code == 200 and b"swagger-ui-bundle.js" in docs.data
    assert b"<script>" not in docs.data, "no inline script under the site's CSP"
    asset = client.get("/api/v1/docs/assets/swagger-ui-bundle.js")
    assert asset.status_code == 200 and len(asset.data) > 100_000


def test_tokens_are_kept_by_the_organisations_supervisor(web_app: Flask,
                                                         world: World) -> None:
    from testbed.web import csrf_token, give_passwords, sign_in

    client = web_app.test_client()
    supervisor = token(web_app, world, "psz", "leitung", Role.SUPERVISOR,
                       ["integrations:write"])
    psz = world.org("psz")
    # A token does not make tokens: they would outlive its revocation.
    before = world.application.recorder.max_notification_id()
    assert_problem(client.post(f"/api/v1/organisations/{psz}/tokens", headers=supervisor,
                               json={"name": "kis", "role": "caseworker",
                                     "scopes": ["referrals:read"]}), 403)
    assert world.application.recorder.max_notification_id() == before
    # The supervisor signed in does, for a year unless said otherwise.
    give_passwords(world.application)
    ulrike = sign_in(web_app, "ulrike")
    signed_in = {"X-CSRFToken": csrf_token(ulrike, "/eingang")}
    issued = ulrike.post(f"/api/v1/organisations/{psz}/tokens", headers=signed_in,
                         json={"name": "kis", "role": "caseworker",
                               "scopes": ["referrals:read"]})
    assert issued.status_code == 201, issued.get_data(as_text=True)
    assert issued.json["expires_on"] == str(world.application.today() + timedelta(days=365))
    assert_problem(ulrike.post(f"/api/v1/organisations/{psz}/tokens", headers=signed_in,
                               json={"name": "ewig", "role": "caseworker",
                                     "scopes": ["referrals:read"],
                                     "expires_on": "2099-12-31"}), 422, "#/expires_on")
    kis = {"Authorization": f"Bearer {issued.json['token']}"}
    assert client.get("/api/v1/inbox", headers=kis).status_code == 200
    listed = client.get(f"/api/v1/organisations/{psz}/tokens", headers=supervisor).json
    assert {t["name"] for t in listed} == {"leitung", "kis"}
    assert all("token" not in t and "secret_hash" not in t for t in listed)
    assert_problem(client.get(f"/api/v1/organisations/{world.org('jobcenter')}/tokens",
                              headers=supervisor), 403)
    for higher in ("admin", "coordinator"):  # no more than the supervisor's own role
        assert_problem(client.post(f"/api/v1/organisations/{psz}/tokens", headers=supervisor,
                                   json={"name": "hoch", "role": higher,
                                         "scopes": ["cases:read"]}), 422, "#/role")
    admin = token(web_app, world, "koordinierungsstelle", "it", Role.ADMIN)
    assert_problem(client.post(f"/api/v1/organisations/{psz}/tokens", headers=admin,
                               json={"name": "kis2", "role": "caseworker",
                                     "scopes": ["cases:read"]}), 403)
    assert_problem(client.post(f"/api/v1/organisations/{psz}/webhooks", headers=admin,
                               json={"url": "https://example.org/hook"}), 403)
    assert_problem(client.post(f"/api/v1/organisations/{psz}/webhooks", headers=supervisor,
                               json={"url": "http://example.org/hook"}), 422, "#/url")
    removed = client.delete(f"/api/v1/organisations/{psz}/tokens/{issued.json['token_id']}",
                            headers=supervisor)
    assert removed.status_code == 204
    assert_problem(client.get("/api/v1/inbox", headers=kis), 401)
    assert UUID(str(psz))


def test_a_token_is_refused_from_the_day_after_it_expires(web_app: Flask,
                                                         world: World) -> None:
    application = world.application
    today = application.today()
    issued = application.integrations.issue_api_token(
        Stamp.system("test"), world.org("psz"), "kurz", Role.CASEWORKER, ["referrals:read"],
        expires_on=today + timedelta(days=1))
    headers = {"Authorization": f"Bearer {issued['token']}"}
    client = web_app.test_client()
    real_clock = application.clock
    application.clock = lambda: real_clock() + timedelta(days=1)
    assert client.get("/api/v1/inbox", headers=headers).status_code == 200  # its last day
    application.clock = lambda: real_clock() + timedelta(days=2)
    assert_problem(client.get("/api/v1/inbox", headers=headers), 401)


def test_operators_issue_list_and_revoke_tokens_on_the_command_line(app: Flask,
                                                                     tmp_path) -> None:  # type: ignore[no-untyped-def]
    application = app.extensions["fallnetz.application"]
    World.build(application)
    runner = app.test_cli_runner()
    issued = runner.invoke(args=["tokens", "issue", "psz", "klinik-kis", "--role",
                                 "caseworker", "--scope", "referrals:read"])
    assert issued.exit_code == 0, issued.output
    text = issued.output.strip().splitlines()[-1]
    token_id = issued.output.split()[1]
    client = app.test_client()
    assert client.get("/api/v1/inbox", headers={"Authorization": f"Bearer {text}"}
                      ).status_code == 200
    listed = runner.invoke(args=["tokens", "list", "psz"])
    assert f"{token_id}  klinik-kis" in listed.output and "active" in listed.output
    assert text.split("_")[-1] not in listed.output, "the secret is shown once only"
    unknown = runner.invoke(args=["tokens", "issue", "nope", "x1", "--role", "caseworker",
                                  "--scope", "cases:read"])
    assert unknown.exit_code != 0 and "No organisation" in unknown.output
    revoked = runner.invoke(args=["tokens", "revoke", "psz", token_id])
    assert revoked.exit_code == 0, revoked.output
    assert client.get("/api/v1/inbox", headers={"Authorization": f"Bearer {text}"}
                      ).status_code == 401

    exported = tmp_path / "verzeichnis.json"
    assert runner.invoke(args=["hsds", "export", str(exported)]).exit_code == 0
    again = runner.invoke(args=["hsds", "import", str(exported)])
    assert again.exit_code == 0 and "unchanged 7" in again.output, again.output
