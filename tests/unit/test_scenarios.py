"""Narrative scenarios of the referral workflow, each run against SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain.base import ConflictError, MembershipRequired, NotFound, PermissionDenied
from domain.case import CaseClosed
from domain.receipt import IdempotencyKeyReused
from domain.referral import ConsentRequired, IllegalTransition, NotReceiversSide
from domain.stamp import Stamp
from testbed.world import World


def test_a_crisis_referral_is_sent_received_accepted_and_completed(world: World) -> None:
    case_id = world.open_case()
    world.consent(case_id)
    referral_id = world.send(case_id, urgency="crisis")
    application = world.application

    application.referrals.receive_referral(world.nadia, referral_id)
    application.referrals.accept_referral(world.nadia, referral_id)
    application.referrals.start_referral(world.nadia, referral_id)
    application.referrals.hold_referral(world.nadia, referral_id, "Klinikaufenthalt")
    application.referrals.resume_referral(world.nadia, referral_id)
    application.referrals.complete_referral(world.nadia, referral_id,
                                            "Anbindung an Beratung erfolgt")

    referral = world.referral(referral_id)
    assert referral.status == "completed"
    assert referral.outcome == "Anbindung an Beratung erfolgt"
    assert referral.policy_version == application.network.deadlines.version
    history = list(application.events.get(referral_id))
    assert [type(e).__name__ for e in history] == [
        "Created", "Received", "Accepted", "FirstContactMade", "PutOnHold", "Resumed",
        "Completed"]
    # Every event says who (user, organisation, role), when (UTC) and in which request.
    assert {e.by.user for e in history} == {"anna", "nadia"}
    assert history[0].by.organisation_id == world.org("fsa-sachsendorf")
    assert history[1].by.organisation_id == world.org("psz")
    assert all(e.timestamp.utcoffset() == timedelta(0) for e in history)
    assert len({e.by.correlation_id for e in history}) == len(history)


def test_the_receiver_rejects_with_a_reason_and_only_with_one(world: World) -> None:
    case_id = world.open_case()
    world.consent(case_id)
    referral_id = world.send(case_id)
    with pytest.raises(Exception, match="reason for the rejection is required") as error:
        world.application.referrals.reject_referral(world.nadia, referral_id, "  ")
    assert error.value.field == "reason"
    world.application.referrals.reject_referral(world.nadia, referral_id, "Keine Kapazität")
    assert world.referral(referral_id).status == "rejected"
    assert world.referral(referral_id).status_reason == "Keine Kapazität"


def test_forwarding_creates_a_child_referral_on_the_persons_consent(world: World) -> None:
    case_id = world.open_case()
    world.consent(case_id)  # the health sector: covers the Gesundheitsamt as well
    referral_id = world.send(case_id)
    world.application.referrals.receive_referral(world.nadia, referral_id)
    child_id = world.application.referrals.forward_referral(
        world.nadia, referral_id, world.org("gesundheitsamt"),
        "Erst Untersuchung im Gesundheitsamt")["child_referral_id"]
    parent = world.referral(referral_id)
    child = world.referral(child_id)
    assert parent.child_referral_id == child_id
    assert parent.status == "forwarded"
    assert child.status == "requested"
    assert child.parent_referral_id == referral_id
    assert child.from_organisation_id == world.org("psz")
    assert child.to_organisation_id == world.org("gesundheitsamt")
    assert child.consent_id == parent.consent_id


def test_forwarding_outside_the_consent_is_refused_and_nothing_is_stored(world: World) -> None:
    case_id = world.open_case()
    world.consent(case_id)  # health sector only
    referral_id = world.send(case_id)
    before = world.application.recorder.max_notification_id()
    with pytest.raises(ConsentRequired):
        world.application.referrals.forward_referral(world.nadia, referral_id,
                                                     world.org("jobcenter"), "Leistungsfragen")
    assert world.application.recorder.max_notification_id() == before
    assert world.referral(referral_id).status == "requested"


def test_accepting_a_lead_handoff_moves_the_cases_lead(world: World) -> None:
    case_id = world.open_case(residence_status="permit_25")
    world.consent(case_id, ["benefits"], receiver_organisation_id=world.org("jobcenter"))
    referral_id = world.send(case_id, to="jobcenter", need="benefits", kind="lead_handoff")
    world.application.referrals.accept_referral(world.claudia, referral_id)
    case = world.case(case_id)
    assert case.lead_organisation_id == world.org("jobcenter")
    assert case.lead_caseworker == "claudia"
    # The lead moved in the same save as the acceptance: adjacent notifications.
    last_two = world.application.notification_log.select(
        world.application.recorder.max_notification_id() - 1, 2)
    assert [n.topic.rsplit(".", 1)[-1] for n in last_two] == ["Accepted", "LeadMoved"]
    # The former lead can no longer change the case.
    with pytest.raises(PermissionDenied):
        world.application.cases.record_need(world.anna, case_id, "language")


def test_a_residence_status_change_into_sgb_ii_drafts_lead_handoffs(world: World) -> None:
    case_id = world.open_case(residence_status="gestattung")
    assert world.case(case_id).legal_sphere == "AsylbLG"
    result = world.application.cases.change_residence_status(world.anna, case_id, "permit_25")
    case = world.case(case_id)
    assert (case.residence_status, case.legal_sphere) == ("permit_25", "SGB II")
    drafts = [world.referral(i) for i in result["draft_referral_ids"]]
    assert {d.to_organisation_id for d in drafts} == {world.org("jobcenter"), world.org("mbe")}
    assert all((d.status, d.kind) == ("draft", "lead_handoff") for d in drafts)
    # The caseworker confirms one (on the person's consent) and discards the other.
    world.consent(case_id, ["benefits"], receiver_organisation_id=world.org("jobcenter"))
    jobcenter = next(d for d in drafts if d.to_organisation_id == world.org("jobcenter"))
    mbe = next(d for d in drafts if d.to_organisation_id == world.org("mbe"))
    world.application.referrals.send_draft(world.anna, jobcenter.id)
    world.application.referrals.cancel_referral(world.anna, mbe.id,
                                                "Fallführung geht ans Jobcenter")
    assert world.referral(jobcenter.id).status == "requested"
    assert world.referral(mbe.id).status == "cancelled"


def test_without_a_legal_sphere_change_no_drafts_appear(world: World) -> None:
    case_id = world.open_case(residence_status="gestattung")
    result = world.application.cases.change_residence_status(world.anna, case_id, "duldung")
    assert result["draft_referral_ids"] == []
    assert world.case(case_id).legal_sphere == "AsylbLG"


def test_an_idempotent_command_records_once_and_returns_the_earlier_result(
        world: World) -> None:
    case_id = world.open_case()
    world.consent(case_id)
    first = world.send(case_id, idempotency_key="form-123")
    count = world.application.recorder.max_notification_id()
    again = world.send(case_id, idempotency_key="form-123")
    assert again == first
    assert world.application.recorder.max_notification_id() == count
    with pytest.raises(IdempotencyKeyReused):
        world.application.cases.open_case(world.anna, person={"display_name": "X",
                                                              "district": "Mitte"},
                                          housing_stage="own_flat", residence_status="gestattung",
                                          idempotency_key="form-123")


def test_a_stale_expected_version_conflicts(world: World) -> None:
    case_id = world.open_case()
    world.consent(case_id)
    referral_id = world.send(case_id)
    world.application.referrals.receive_referral(world.nadia, referral_id, expected_version=1)
    with pytest.raises(ConflictError, match="changed meanwhile"):
        world.application.referrals.accept_referral(world.nadia, referral_id, expected_version=1)
    world.application.referrals.accept_referral(world.nadia, referral_id, expected_version=2)
    assert world.referral(referral_id).version == 3


def test_acting_for_an_organisation_one_is_not_a_member_of_is_refused(world: World) -> None:
    case_id = world.open_case()
    world.consent(case_id)
    referral_id = world.send(case_id)
    impostor = Stamp("anna", world.org("psz"), "caseworker", "req-x")
    with pytest.raises(MembershipRequired):
        world.application.referrals.accept_referral(impostor, referral_id)
    wrong_role = Stamp("anna", world.org("fsa-sachsendorf"), "supervisor", "req-y")
    with pytest.raises(MembershipRequired):
        world.application.referrals.mark_referral_entered_in_error(wrong_role, referral_id,
                                                                   "Irrtum")
    # A real member of another organisation is not the receiver.
    with pytest.raises(NotReceiversSide):
        world.application.referrals.accept_referral(world.claudia, referral_id)
    assert world.referral(referral_id).status == "requested"


def test_the_senders_supervisor_marks_a_referral_entered_in_error(world: World) -> None:
    case_id = world.open_case()
    world.consent(case_id)
    referral_id = world.send(case_id)
    world.application.referrals.accept_referral(world.nadia, referral_id)
    with pytest.raises(PermissionDenied):
        world.application.referrals.mark_referral_entered_in_error(world.anna, referral_id,
                                                                   "Falscher Fall")
    world.application.referrals.mark_referral_entered_in_error(world.birgit, referral_id,
                                                               "Falscher Fall")
    referral = world.referral(referral_id)
    assert referral.status == "entered-in-error"
    assert len(list(world.application.events.get(referral_id))) == 3  # the history stays
    with pytest.raises(IllegalTransition):
        world.application.referrals.mark_referral_entered_in_error(world.birgit, referral_id,
                                                                   "nochmal")


def test_a_closed_case_sends_nothing_until_reopened(world: World) -> None:
    case_id = world.open_case()
    world.consent(case_id)
    world.application.cases.close_case(world.anna, case_id, "Weggezogen")
    with pytest.raises(CaseClosed):
        world.send(case_id)
    world.application.cases.reopen_case(world.anna, case_id, "Zurückgekehrt")
    assert world.referral(world.send(case_id)).status == "requested"


def test_case_reference_numbers_count_up_per_year(world: World) -> None:
    first = world.application.repository.get(world.open_case()).reference
    second = world.application.repository.get(world.open_case()).reference
    year = world.application.clock().year
    assert first == f"CB-{year}-00001"
    assert second == f"CB-{year}-00002"


def test_unknown_objects_are_not_found(world: World) -> None:
    import uuid
    with pytest.raises(NotFound):
        world.application.referrals.accept_referral(world.nadia, uuid.uuid4())
