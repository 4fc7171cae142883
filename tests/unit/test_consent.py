"""Sending needs a valid consent of the person that covers the receiver and the purpose;
a crisis override is possible with a reason, and recorded (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain.referral import ConsentRequired
from testbed.world import World


def test_without_any_consent_sending_is_refused(world: World) -> None:
    case_id = world.open_case()
    before = world.application.recorder.max_notification_id()
    with pytest.raises(ConsentRequired) as error:
        world.send(case_id)
    assert error.value.field == "consent_id"
    assert world.application.recorder.max_notification_id() == before


def test_after_revocation_sending_is_refused(world: World) -> None:
    case_id = world.open_case()
    consent_id = world.consent(case_id)
    world.application.cases.revoke_consent(world.anna, case_id, consent_id,
                                           "Person widerruft mündlich")
    with pytest.raises(ConsentRequired):
        world.send(case_id)


def test_after_expiry_sending_is_refused(world: World) -> None:
    case_id = world.open_case()
    today = world.application.today()
    world.consent(case_id, given_on=today - timedelta(days=400),
                  expires_on=today - timedelta(days=1))
    with pytest.raises(ConsentRequired):
        world.send(case_id)


def test_a_consent_for_another_receiver_or_purpose_does_not_cover(world: World) -> None:
    case_id = world.open_case()
    world.consent(case_id, ["health"], receiver_organisation_id=world.org("gesundheitsamt"))
    world.consent(case_id, ["benefits"], sector="health")
    with pytest.raises(ConsentRequired):
        world.send(case_id)


def test_a_receiver_specific_consent_covers(world: World) -> None:
    case_id = world.open_case()
    consent_id = world.consent(case_id, ["health.psychosocial"],
                               receiver_organisation_id=world.org("psz"))
    assert world.referral(world.send(case_id)).consent_id == consent_id


def test_a_crisis_override_is_recorded_with_its_reason(world: World) -> None:
    case_id = world.open_case()
    referral_id = world.send(case_id, urgency="crisis",
                             crisis_override_reason="Suizidgefahr, Person nicht erreichbar")
    referral = world.referral(referral_id)
    assert referral.consent_id is None
    assert referral.crisis_override_reason == "Suizidgefahr, Person nicht erreichbar"
    created = next(iter(world.application.events.get(referral_id)))
    assert created.crisis_override_reason == "Suizidgefahr, Person nicht erreichbar"


def test_an_override_needs_a_crisis_and_a_reason(world: World) -> None:
    case_id = world.open_case()
    with pytest.raises(ConsentRequired, match="only possible for crisis"):
        world.send(case_id, urgency="urgent", crisis_override_reason="eilt")
    with pytest.raises(ConsentRequired):
        world.send(case_id, urgency="crisis", crisis_override_reason="   ")
