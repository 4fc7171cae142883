"""A residence status change that changes the legal sphere and the draft lead handoffs it
creates are one transaction (SQLite and PostgreSQL)."""

from __future__ import annotations

from uuid import uuid5

import pytest

from domain.base import ConflictError
from domain.referral import Referral
from testbed.world import World


def test_status_change_and_drafts_are_recorded_together(world: World) -> None:
    case_id = world.open_case(residence_status="gestattung")
    before = world.application.recorder.max_notification_id()
    result = world.application.cases.change_residence_status(world.anna, case_id, "permit_25")
    notifications = world.application.notification_log.select(before + 1, 100)
    topics = [n.topic.rsplit(".", 1)[-1] for n in notifications]
    assert topics == ["ResidenceStatusChanged", "LegalSphereChanged", "LeadHandoffsProposed",
                      "Created", "Created"]
    assert {n.originator_id for n in notifications[3:]} == set(result["draft_referral_ids"])


def test_when_a_draft_cannot_be_saved_the_status_change_is_not_saved_either(
        world: World) -> None:
    case_id = world.open_case(residence_status="gestattung")
    case = world.case(case_id)
    # Occupy the id the Jobcenter draft will get (ids of drafts derive from the case's
    # version after the change: status + sphere events), so the drafts' insert fails.
    occupied = uuid5(case_id, f"lead-handoff-draft:{case.version + 2}:jobcenter")
    squatter = Referral.create(
        id=occupied, case_id=case_id, need="benefits", urgency="routine", kind="service",
        from_organisation_id=world.org("fsa-sachsendorf"), from_user="anna",
        to_organisation_id=world.org("sozialamt"), to_service_id=None, reason="x",
        by=world.anna, draft=True)
    world.application.save(squatter)
    before = world.application.recorder.max_notification_id()

    with pytest.raises(ConflictError):
        world.application.cases.change_residence_status(world.anna, case_id, "permit_25")

    assert world.application.recorder.max_notification_id() == before
    unchanged = world.case(case_id)
    assert (unchanged.residence_status, unchanged.legal_sphere) == ("gestattung", "AsylbLG")
    assert unchanged.version == case.version
