"""Every route of the API against DESIGN §8, walked over the URL map so a new route cannot
be forgotten: tokens of organisations that have nothing to do with a case, its referral or
another organisation's integrations are refused on each of them (403 or 404, nothing
recorded), whatever their scopes; a coordinator's and an admin's tokens reach no case
content. Only the directory and the caller's own lists answer them."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask

from domain.stamp import Role, Stamp
from testbed.web import events
from testbed.world import World

ALL_SCOPES = ["cases:read", "cases:write", "referrals:read", "referrals:write",
              "directory:read", "directory:write", "audit:read", "integrations:write",
              "reports:read"]
# Routes that name no case, referral or other organisation's secrets: open to every token
# (the directory; one's own, possibly empty, lists).
OPEN_TO_ALL = {"api_directory.organisations", "api_directory.organisation_detail",
               "api_directory.export_hsds"}
OWN_LISTS = {"api_cases.cases", "api_mailboxes.inbox", "api_mailboxes.outbox"}
NOT_API = {"api-docs.openapi_json", "api-docs.openapi_swagger_ui", "api_docs_assets"}
# Opening a case is every caseworker's right, for their own organisation: not a refusal.
OWN_ORGANISATION = {"api_cases.open_case"}


def body(rule: str, values: dict[str, Any]) -> Any:
    """A valid body for the route, so a refusal is about access, not about the input."""
    last = rule.rsplit("/", 1)[-1]
    reason, outcome = {"reason": "Grund"}, {"outcome": "Ergebnis"}
    return {
        "needs": {"need": "health.psychosocial"}, "resolve": {"note": ""},
        "consents": {"purposes": ["health"], "expires_on": str(date.today() + timedelta(days=300)),
                     "sector": "health"},
        "residence-status": {"residence_status": "duldung"},
        "housing-stage": {"housing_stage": "own_flat"}, "person": {"display_name": "X"},
        "close": reason, "reopen": reason, "revoke": reason, "reject": reason, "hold": reason,
        "waitlist": reason,
        "cancel": reason, "mark-entered-in-error": reason, "complete": outcome,
        "fail": outcome, "send": {}, "receive": {}, "accept": {}, "start": {},
        "resume": {},
        "forward": {"to_organisation_id": str(values["elsewhere"]), "reason": "Grund"},
        "capacity": {"capacity": 3}, "hsds": [],
        "tokens": {"name": "t1", "role": "caseworker", "scopes": ["cases:read"]},
        "webhooks": {"url": "https://example.org/x"},
        "members": {"username": "neu", "display_name": "Neu", "role": "caseworker"},
        "<uuid:user_id>": {"role": "supervisor"}, "disable": reason, "enable": {},
        "setup-link": {},
        "referrals": {"case_id": str(values["case_id"]), "need": "health.psychosocial",
                      "urgency": "urgent", "to_organisation_id": str(values["elsewhere"]),
                      "reason": "Grund"},
    }.get(last, {})


@pytest.fixture
def setting(app: Flask) -> dict[str, Any]:
    application = app.extensions["fallnetz.application"]
    world = World.build(application)
    case_id = world.open_case()
    world.consent(case_id)
    referral_id = world.send(case_id)
    system = Stamp.system("test")
    tokens = {}
    for name, (organisation, role) in {
            "outsider": ("sozialamt", Role.CASEWORKER),
            "outside_supervisor": ("mbe", Role.SUPERVISOR),
            "coordinator": ("koordinierungsstelle", Role.COORDINATOR),
            "admin": ("koordinierungsstelle", Role.ADMIN)}.items():
        issued = application.integrations.issue_api_token(system, world.org(organisation),
                                                          name.replace("_", "-"), role, ALL_SCOPES)
        tokens[name] = {"Authorization": f"Bearer {issued['token']}"}
    return {"world": world, "tokens": tokens, "values": {
        "case_id": case_id, "referral_id": referral_id, "organisation_id":
        world.org("fsa-sachsendorf"), "need": "health.psychosocial", "consent_id": "x",
        "service_id": "beratung", "token_id": "x", "webhook_id": "x",
        "elsewhere": world.org("gesundheitsamt"),
        "user_id": application.directory.user("anna").id}}


def api_routes(app: Flask) -> list[tuple[str, str, str]]:
    found = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/") or rule.endpoint in NOT_API:
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            found.append((rule.endpoint, method, rule.rule))
    return found


def url(rule: str, values: dict[str, Any]) -> str:
    return re.sub(r"<(?:[a-z]+:)?(\w+)>", lambda m: str(values[m.group(1)]), rule)


def test_uninvolved_tokens_are_refused_on_every_route(app: Flask,
                                                      setting: dict[str, Any]) -> None:
    client = app.test_client()
    routes = api_routes(app)
    assert len(routes) > 30
    before = events(app)
    wrong = []
    for who, headers in setting["tokens"].items():
        for endpoint, method, rule in routes:
            if (endpoint in OPEN_TO_ALL and method == "GET") or endpoint in OWN_ORGANISATION:
                continue
            if endpoint in OWN_LISTS and method == "GET":
                response = client.get(url(rule, setting["values"]), headers=headers)
                rows = response.get_json() if response.status_code == 200 else []
                if any(str(setting["values"]["case_id"]) in str(row) for row in rows):
                    wrong.append((who, method, rule, "lists the FSA's case"))
                continue
            if endpoint.startswith("api_reports.") and who in ("coordinator",
                                                                "outside_supervisor"):
                # Aggregates: the coordinator's of the whole network; a supervisor's of
                # their own organisation's referrals only, so nothing of the FSA's.
                response = client.get(url(rule, setting["values"]), headers=headers)
                if response.status_code != 200 or (
                        who == "outside_supervisor" and str(
                            setting["values"]["organisation_id"]) in response.get_data(
                            as_text=True)):
                    wrong.append((who, method, rule, response.status_code))
                continue
            if endpoint == "api_directory.import_hsds" and who in ("coordinator", "admin"):
                continue  # they keep the directory (tests/integration/test_hsds.py)
            if endpoint == "api_directory.change_capacity" and who in ("coordinator", "admin"):
                continue  # they keep capacities too (DESIGN §5)
            if endpoint.startswith("api_integrations.") and who == "admin":
                continue  # admins keep every organisation's tokens and webhooks
            response = client.open(url(rule, setting["values"]), method=method,
                                   headers=headers,
                                   json=body(rule, setting["values"]) if method != "GET"
                                   else None)
            if response.status_code not in (403, 404):
                wrong.append((who, method, rule, response.status_code,
                              response.get_data(as_text=True)[:200]))
    assert not wrong, wrong
    assert events(app) == before, "refused requests record nothing"
