"""Referrals exported as FHIR R4 ServiceRequest + Task, after the HL7 SDOH Clinical Care
closed-loop referral: every exported Bundle parses with the ``fhir.resources`` R4B models,
and the guide's rules the library does not enforce are checked here — the task status
value set, statusReason exactly for rejected, on-hold, cancelled and failed, requester and
owner as Organization references, forwarded referrals as sub-Tasks of one ServiceRequest."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

import pytest
from fhir.resources.R4B.bundle import Bundle
from flask import Flask

from domain.stamp import Role, Stamp
from testbed.world import World

# The guide's SDOHCC ValueSet Referral Task Status: FHIR's task-status without ready, received.
REFERRAL_TASK_STATUS = {"draft", "requested", "accepted", "rejected", "cancelled",
                        "in-progress", "on-hold", "failed", "completed", "entered-in-error"}
REASON_REQUIRED = {"rejected", "on-hold", "cancelled", "failed"}
SERVICE_REQUEST_STATUS = {"requested": "active", "received": "active", "accepted": "active",
                          "in-progress": "active", "on-hold": "on-hold",
                          "completed": "completed", "failed": "revoked",
                          "rejected": "revoked", "cancelled": "revoked",
                          "entered-in-error": "entered-in-error"}


@pytest.fixture
def world(web_app: Flask) -> World:
    return World.build(web_app.extensions["fallnetz.application"])


def headers_for(app: Flask, world: World, organisation: str, role: Role = Role.CASEWORKER,
                ) -> dict[str, str]:
    issued = app.extensions["fallnetz.application"].integrations.issue_api_token(
        Stamp.system("test"), world.org(organisation), f"fhir-{role.value}", role,
        ["referrals:read"])
    return {"Authorization": f"Bearer {issued['token']}"}


def exported(app: Flask, headers: dict[str, str], referral_id: UUID) -> dict[str, Any]:
    response = app.test_client().get(f"/api/v1/referrals/{referral_id}/fhir", headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/fhir+json"
    bundle = response.get_json()
    Bundle.model_validate(bundle)  # R4B structure and types
    check_guide_rules(bundle)
    return bundle


def resources(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def check_guide_rules(bundle: dict[str, Any]) -> None:
    full_urls = [e["fullUrl"] for e in bundle["entry"]]
    assert len(set(full_urls)) == len(full_urls), "fullUrl is unique in a Bundle (bdl-7)"
    task_urls = {f"urn:uuid:{t['id']}" for t in resources(bundle, "Task")}
    organisations = {f"urn:uuid:{o['id']}" for o in resources(bundle, "Organization")}
    [service_request] = resources(bundle, "ServiceRequest")
    tasks = resources(bundle, "Task")
    assert tasks
    assert service_request["intent"] == "order" and service_request["subject"]["identifier"]
    assert service_request["requester"]["reference"] in organisations
    for task in tasks:
        assert task["status"] in REFERRAL_TASK_STATUS
        assert ("statusReason" in task) == (task["status"] in REASON_REQUIRED), task
        assert task["intent"] == "order" and task["code"]["coding"][0]["code"] == "fulfill"
        assert task["focus"]["reference"] == f"urn:uuid:{service_request['id']}"
        assert task["requester"]["reference"] in organisations
        assert task["owner"]["reference"] in organisations
        assert task["authoredOn"]
        for part in task.get("partOf", []):
            assert part["reference"] in task_urls
    last = tasks[-1]
    assert service_request["status"] == SERVICE_REQUEST_STATUS[
        last["businessStatus"]["coding"][0]["code"]]


def step(world: World, referral_id: UUID, nadia: Callable[[], Stamp]) -> dict[str, Callable]:
    application = world.application
    return {"received": lambda: application.referrals.receive_referral(nadia(), referral_id),
            "accepted": lambda: application.referrals.accept_referral(nadia(), referral_id),
            "in-progress": lambda: application.referrals.start_referral(nadia(), referral_id),
            "on-hold": lambda: application.referrals.hold_referral(nadia(), referral_id,
                                                                   "Klient im Krankenhaus"),
            "resumed": lambda: application.referrals.resume_referral(nadia(), referral_id),
            "completed": lambda: application.referrals.complete_referral(nadia(), referral_id,
                                                                         "Beratung erfolgt")}


def test_every_state_of_a_referral_exports_by_the_guides_rules(web_app: Flask,
                                                               world: World) -> None:
    case_id = world.open_case()
    world.consent(case_id)
    referral_id = world.send(case_id)
    sender = headers_for(web_app, world, "fsa-sachsendorf")
    receiver = headers_for(web_app, world, "psz")
    bundle = exported(web_app, sender, referral_id)
    [task] = resources(bundle, "Task")
    assert task["status"] == "requested" and task["priority"] == "urgent"
    assert task["owner"]["display"] == "Psychosoziales Zentrum"

    statuses = []
    for name, command in step(world, referral_id, lambda: world.as_("nadia", "psz")).items():
        command()
        [task] = resources(exported(web_app, receiver, referral_id), "Task")
        statuses.append((name, task["status"], task["businessStatus"]["text"]))
        if name == "on-hold":
            assert task["statusReason"]["text"] == "Klient im Krankenhaus"
    assert statuses == [
        ("received", "requested", "received"), ("accepted", "accepted", "accepted"),
        ("in-progress", "in-progress", "in-progress"), ("on-hold", "on-hold", "on-hold"),
        ("resumed", "in-progress", "in-progress"),
        ("completed", "completed", "completed")]


@pytest.mark.parametrize("ending", ["rejected", "cancelled", "failed"])
def test_an_ending_carries_its_reason(web_app: Flask, world: World, ending: str) -> None:
    application = world.application
    case_id = world.open_case()
    world.consent(case_id)
    referral_id = world.send(case_id)
    nadia = world.as_("nadia", "psz")
    if ending == "rejected":
        application.referrals.reject_referral(nadia, referral_id, "Keine Kapazität")
    elif ending == "cancelled":
        application.referrals.cancel_referral(world.anna, referral_id, "Familie verzogen")
    else:
        application.referrals.accept_referral(nadia, referral_id)
        application.referrals.fail_referral(world.as_("nadia", "psz"), referral_id,
                                            "Nicht erreichbar")
    [task] = resources(exported(web_app, headers_for(web_app, world, "fsa-sachsendorf"),
                                referral_id), "Task")
    assert task["status"] == ending
    assert task["statusReason"]["coding"][0]["code"] == ending
    assert task["statusReason"]["text"] in ("Keine Kapazität", "Familie verzogen",
                                            "Nicht erreichbar")


def test_a_forwarded_referral_is_a_sub_task_of_the_same_service_request(
        web_app: Flask, world: World) -> None:
    application = world.application
    case_id = world.open_case()
    world.consent(case_id)
    referral_id = world.send(case_id)
    child_id = application.referrals.forward_referral(world.as_("nadia", "psz"), referral_id,
                                    world.org("gesundheitsamt"), "Zuständig ist das Amt")[
        "child_referral_id"]
    bundle = exported(web_app, headers_for(web_app, world, "fsa-sachsendorf"), referral_id)
    parent, child = resources(bundle, "Task")
    assert (parent["id"], child["id"]) == (str(referral_id), str(child_id))
    assert parent["status"] == "completed" and parent["businessStatus"]["text"] == "forwarded"
    assert parent["output"][0]["valueReference"]["reference"] == f"urn:uuid:{child_id}"
    assert child["partOf"] == [{"reference": f"urn:uuid:{referral_id}"}]
    assert child["status"] == "requested"
    assert child["owner"]["display"] == "Gesundheitsamt"
    [service_request] = resources(bundle, "ServiceRequest")
    assert service_request["performer"][0]["display"] == "Gesundheitsamt"

    # The new receiver sees its own Task only, still pointing at the same ServiceRequest.
    seen_by_office = exported(web_app, headers_for(web_app, world, "gesundheitsamt"),
                              child_id)
    [only] = resources(seen_by_office, "Task")
    assert only["id"] == str(child_id) and "partOf" not in only
    assert resources(seen_by_office, "ServiceRequest")[0]["id"] == service_request["id"], \
        "every party names the chain's ServiceRequest alike"


def test_the_receiver_sees_no_reason_text_once_consent_is_revoked(web_app: Flask,
                                                                  world: World) -> None:
    application = world.application
    case_id = world.open_case()
    consent_id = world.consent(case_id)
    referral_id = world.send(case_id)
    application.referrals.accept_referral(world.as_("nadia", "psz"), referral_id)
    application.referrals.hold_referral(world.as_("nadia", "psz"), referral_id,
                                        "Klient im Krankenhaus")
    application.cases.revoke_consent(world.anna, case_id, consent_id, "widerrufen")
    bundle = exported(web_app, headers_for(web_app, world, "psz"), referral_id)
    [task] = resources(bundle, "Task")
    [service_request] = resources(bundle, "ServiceRequest")
    assert task["statusReason"] == {"coding": [{"system": "urn:fallnetz:status-reason",
                                                "code": "on-hold"}]}
    assert "reasonCode" not in service_request
