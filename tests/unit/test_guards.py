"""Guards that keep commands honest: idempotency keys belong to one user and one command,
the application's own authority cannot be claimed, consent races conflict, stale handoffs and
superseded drafts do not apply (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading

import pytest

from domain.base import ConflictError, PermissionDenied
from domain.case import InvalidPersonData
from domain.receipt import IdempotencyKeyReused
from domain.referral import NotReceiversSide
from domain.services.referrals import LeadMovedMeanwhile, ReferralService
from domain.stamp import Stamp
from testbed.world import World


def test_an_idempotency_key_belongs_to_its_user(world: World) -> None:
    case_id = world.open_case()
    world.consent(case_id)
    annas = world.send(case_id, idempotency_key="k-1")
    # Birgit, same organisation, same key: her own command, her own referral.
    birgits = world.application.referrals.send_referral(
        world.birgit,
        case_id,
        "health.psychosocial",
        "urgent",
        world.org("psz"),
        "Zweitmeinung",
        idempotency_key="k-1",
    )["referral_id"]
    assert birgits != annas
    # Someone who is not a member cannot harvest anna's result with the same key.
    impostor = Stamp("mallory", world.org("fsa-sachsendorf"), "caseworker", "r")
    with pytest.raises(PermissionDenied):
        world.application.referrals.send_referral(impostor, case_id, "health.psychosocial",
                                                  "urgent", world.org("psz"), "x",
                                                  idempotency_key="k-1")


def test_an_idempotency_key_reused_with_other_arguments_is_refused(world: World) -> None:
    case_id = world.open_case()
    world.consent(case_id)
    first = world.send(case_id)
    second = world.send(case_id)
    world.application.referrals.receive_referral(world.nadia, first, idempotency_key="open-1")
    with pytest.raises(IdempotencyKeyReused):
        world.application.referrals.receive_referral(world.nadia, second, idempotency_key="open-1")
    assert world.referral(second).status == "requested"


def test_the_system_role_cannot_be_claimed(world: World) -> None:
    forged = Stamp("mallory", None, "system", "r")
    with pytest.raises(PermissionDenied, match="cannot be claimed"):
        world.application.directory.register_user(forged, "mallory", "Mallory")
    with pytest.raises(PermissionDenied):
        world.application.cases.open_case(forged, {"display_name": "X", "district": "Mitte"},
                                          "own_flat", "gestattung")


def test_a_revocation_saved_while_a_referral_is_sent_makes_the_send_conflict(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    case_id = world.open_case()
    consent_id = world.consent(case_id)
    real_lookup = ReferralService._consent_for

    def revoke_meanwhile(self, case, receiver, need):  # type: ignore[no-untyped-def]
        found = real_lookup(self, case, receiver, need)
        monkeypatch.setattr(ReferralService, "_consent_for", real_lookup)
        # Another request, in a thread of its own (its own loads), saves meanwhile.
        other = threading.Thread(target=lambda: world.application.cases.revoke_consent(
            world.anna, case_id, consent_id, "Widerruf am Telefon"))
        other.start()
        other.join(60)
        return found

    monkeypatch.setattr(ReferralService, "_consent_for", revoke_meanwhile)
    before = world.application.recorder.max_notification_id()
    with pytest.raises(ConflictError):
        world.send(case_id)
    assert world.application.recorder.max_notification_id() == before + 1  # only the revocation
    assert world.case(case_id).consents[consent_id]["state"] == "revoked"


def test_sending_records_on_the_case_which_consent_or_override_was_used(world: World) -> None:
    case_id = world.open_case()
    consent_id = world.consent(case_id)
    with_consent = world.send(case_id)
    override = world.send(case_id, to="jobcenter", need="benefits", urgency="crisis",
                          crisis_override_reason="Stromsperre droht heute")
    events = [e for e in world.application.events.get(case_id)
              if type(e).__name__ in ("ConsentUsed", "ConsentOverridden")]
    assert [(type(e).__name__, e.referral_id) for e in events] == [
        ("ConsentUsed", with_consent), ("ConsentOverridden", override)]
    assert events[0].consent_id == consent_id
    assert events[1].reason == "Stromsperre droht heute"


def test_a_lead_handoff_accepted_after_the_lead_moved_is_refused(world: World) -> None:
    case_id = world.open_case(residence_status="gestattung")
    drafts = world.application.cases.change_residence_status(world.anna, case_id,
                                               "permit_25")["draft_referral_ids"]
    world.consent(case_id, ["benefits"], sector="employment")
    world.consent(case_id, ["benefits"], sector="social_work")
    for draft in drafts:
        world.application.referrals.send_draft(world.anna, draft)
    by_receiver = {world.referral(d).to_organisation_id: d for d in drafts}
    world.application.referrals.accept_referral(world.claudia, by_receiver[world.org("jobcenter")])
    jana = world.as_("jana", "mbe")
    with pytest.raises(LeadMovedMeanwhile):
        world.application.referrals.accept_referral(jana, by_receiver[world.org("mbe")])
    assert world.case(case_id).lead_organisation_id == world.org("jobcenter")


def test_drafts_of_an_earlier_legal_sphere_change_are_cancelled(world: World) -> None:
    case_id = world.open_case(residence_status="gestattung")
    drafts = world.application.cases.change_residence_status(world.anna, case_id,
                                               "permit_25")["draft_referral_ids"]
    world.application.cases.change_residence_status(world.anna, case_id, "duldung")
    assert {world.referral(d).status for d in drafts} == {"cancelled"}
    assert world.case(case_id).legal_sphere == "AsylbLG"


def test_forwarding_by_an_outsider_is_refused_before_anything_else(world: World) -> None:
    case_id = world.open_case()
    world.consent(case_id)
    referral_id = world.send(case_id)
    with pytest.raises(NotReceiversSide):
        world.application.referrals.forward_referral(world.claudia, referral_id,
                                                     world.org("sozialamt"), "x")


@pytest.mark.parametrize(("person", "field"), [
    ({"district": "Hauptstr. 5"}, "district"),
    ({"birth_year": "19x0"}, "birth_year"),
    ({"languages": "ar"}, "languages"),
    ({"household_size": 0}, "household_size"),
])
def test_person_data_is_checked_field_by_field(world: World, person: dict,
                                               field: str) -> None:
    from domain.base import DomainError

    data = {"display_name": "Familie T.", "district": "Mitte", **person}
    before = world.application.recorder.max_notification_id()
    with pytest.raises((InvalidPersonData, DomainError)) as error:
        world.application.cases.open_case(world.anna, data, "own_flat", "gestattung")
    assert error.value.field == field
    assert world.application.recorder.max_notification_id() == before
