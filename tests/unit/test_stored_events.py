"""Stores written by earlier versions keep loading. ``tests/fixtures/store-2026-11.sqlite3``
was recorded by ``tests/fixtures/record_store.py`` from commit 91785a9 (every aggregate and
every event type of that day); today's code must load every aggregate in it, project every
view from it, and go on working with it. An event class that changes shape gets the
library's upcasting (``upcast_v1_v2``, docs/operations.md) so that this test stays green."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path
from uuid import UUID

import pytest
from eventsourcing.domain import AggregateCreated

from domain.account import UserAccount
from domain.agreement import Agreement
from runtime.bootstrap import bootstrap
from runtime.store_encryption import encrypt_store
from domain.case import Case
from domain.demand import DemandEstimate
from domain.notification import Notification
from domain.organisation import Organisation
from domain.receipt import CommandReceipt
from domain.referral import Referral
from domain.responsibilities import ResponsibilityMap
from domain.register import Forum, NeedGroup, PoliticsReport
from domain.sequence import CaseNumberSequence
from domain.settings import PROJECT_ROOT, Settings
from domain.stamp import Stamp
from readmodel import queries
from readmodel.runner import ViewUpdater
from readmodel.store import ViewStore

FIXTURE = PROJECT_ROOT / "tests" / "fixtures" / "store-2026-11.sqlite3"
AGGREGATES = (UserAccount, Case, Notification, Organisation, CommandReceipt, Referral,
              CaseNumberSequence)
# Aggregates and event types that came after the fixture was recorded (a newer fixture would
# have them).
NEWER_AGGREGATES = (DemandEstimate, Forum, NeedGroup, PoliticsReport, Agreement,
                    ResponsibilityMap)
NEWER_THAN_FIXTURE = {"domain.referral:Referral.PutOnWaitingList",
                      "domain.demand:DemandEstimate.Recorded",
                      "domain.demand:DemandEstimate.Revised",
                      "domain.demand:DemandEstimate.Withdrawn",
                      "domain.notification:Notification.Failed",
                      "domain.account:UserAccount.SignedOut",
                      "domain.case:Case.ErasureRequested", "domain.case:Case.ErasureDeclined",
                      "domain.case:Case.Erased", "domain.referral:Referral.Erased",
                      "domain.account:UserAccount.SecondFactorEnrolled",
                      "domain.account:UserAccount.CodeConfirmed",
                      "domain.account:UserAccount.RecoveryCodeUsed",
                      "domain.account:UserAccount.RecoveryCodesRenewed",
                      "domain.account:UserAccount.SecondFactorRemoved",
                      "domain.account:UserAccount.Disabled",
                      "domain.account:UserAccount.Enabled",
                      "domain.account:UserAccount.SetupLinkIssued",
                      "domain.account:UserAccount.PasswordSetByLink",
                      "domain.organisation:Organisation.Reactivated",
                      "domain.organisation:Organisation.DetailsChanged",
                      "domain.organisation:Organisation.Published",
                      "domain.organisation:Organisation.PublicationWithdrawn",
                      "domain.organisation:Organisation.ServiceEnded",
                      "domain.directory_import:DirectoryMapping.TermUnmapped",
                      "domain.directory_import:DirectoryMapping.AreaUnmapped",
                      "domain.directory_import:DirectoryMapping.Started",
                      "domain.directory_import:DirectoryMapping.TermMapped",
                      "domain.directory_import:DirectoryMapping.AreaMapped",
                      "domain.directory_import:DirectoryMapping.SectorChosen",
                      "domain.directory_import:ImportedOrganisation.Imported",
                      "domain.directory_import:ImportedOrganisation.OfferChanged",
                      "domain.directory_import:ImportedOrganisation.Linked",
                      "domain.case:Case.RevocationRequested",
                      "domain.case:Case.ConsentFormSigned",
                      "domain.case:Case.OwnGoalsRecorded",
                      "domain.case:Case.PersonAccessGiven",
                      "domain.case:Case.PersonAccessRevoked",
                      "domain.referral:Referral.FeedbackGiven",
                      "domain.person_access:PersonAccess.Issued",
                      "domain.person_access:PersonAccess.Revoked",
                      # the responsibility map kept in the web, and the public contacts
                      "domain.organisation:Organisation.PublicContactsChosen",
                      *(f"domain.responsibilities:ResponsibilityMap.{e}" for e in (
                          "Started", "RuleAdded", "RuleChanged", "RuleRemoved",
                          "LeadRuleAdded", "LeadRuleChanged", "LeadRuleRemoved",
                          "SelfHelpWritten", "Imported")),
                      # the needs register (domain.register, domain.agreement)
                      *(f"domain.register:Forum.{e}" for e in (
                          "Convened", "ParticipantsChanged", "NeedRaised", "NeedsGrouped",
                          "NeedCorrected", "NeedWithdrawn", "Renamed")),
                      *(f"domain.register:NeedGroup.{e}" for e in (
                          "Formed", "AgreementMade", "Reported", "Resolved", "Reopened",
                          "Described")),
                      "domain.register:PoliticsReport.Sent",
                      *(f"domain.agreement:Agreement.{e}" for e in (
                          "Made", "Done", "Withdrawn", "Escalated", "FollowedUp", "Rescheduled"))}


def stored_topics(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        return {row[0] for row in conn.execute("SELECT DISTINCT topic FROM stored_events")}


def todays_event_topics() -> set[str]:
    """The event classes the aggregates record. The library's own ``Created`` is left out
    where an aggregate is created by an event of its own name (``Opened``)."""
    topics = set()
    for aggregate in (*AGGREGATES, *NEWER_AGGREGATES):
        classes = [value for value in vars(aggregate).values()
                   if isinstance(value, type) and issubclass(value, aggregate.Event)
                   and value is not aggregate.Event]
        creations = [cls for cls in classes if issubclass(cls, AggregateCreated)]
        for cls in classes:
            if cls.__name__ == "Created" and len(creations) > 1:
                continue
            topics.add(f"{cls.__module__}:{cls.__qualname__}")
    return topics


@pytest.fixture
def old_store(tmp_path: Path) -> Path:
    """A copy of the fixture, encrypted as an operator does when upgrading (docs/
    operations.md): the fixture is from before encryption."""
    copy = tmp_path / "store.sqlite3"
    shutil.copyfile(FIXTURE, copy)
    settings = Settings(database_url=f"sqlite:///{copy}")
    outcome = encrypt_store(bootstrap(settings).application, settings)
    assert outcome.rewritten == outcome.events > 100
    return copy


def test_the_fixture_holds_every_event_type_of_today_but_the_newer_ones() -> None:
    today = todays_event_topics()
    assert len(today) > 50, "the aggregates' event classes were not found"
    missing = today - stored_topics(FIXTURE) - NEWER_THAN_FIXTURE
    assert missing == set(), "record a new fixture, or list these as newer than it"
    assert stored_topics(FIXTURE) <= today, "an event type of the fixture has no class today"


def test_every_aggregate_of_an_old_store_loads_and_its_views_project(old_store: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{old_store}")
    application = bootstrap(settings).application
    with sqlite3.connect(old_store) as conn:
        ids = [UUID(row[0]) for row in conn.execute(
            "SELECT DISTINCT originator_id FROM stored_events")]
    loaded = [application.repository.get(i) for i in ids]
    kinds = {type(a).__name__ for a in loaded}
    assert kinds == {a.__name__ for a in AGGREGATES}
    statuses = {a.status for a in loaded if isinstance(a, Referral)}
    assert {"completed", "rejected", "forwarded", "failed", "cancelled", "entered-in-error",
            "accepted", "requested"} <= statuses
    # Rejected became version 2 (with its grounds): the old rejections are upcast.
    assert {a.rejection_grounds for a in loaded
            if isinstance(a, Referral) and a.status == "rejected"} == {"other"}
    updater = ViewUpdater(application, ViewStore(settings))
    assert updater.catch_up() == application.recorder.max_notification_id()
    views = queries.dump(updater.store)
    assert len(views["referrals"]) == sum(isinstance(a, Referral) for a in loaded)


def test_an_old_store_takes_new_commands(old_store: Path) -> None:
    """Old events and new ones side by side in one aggregate: a referral sent and escalated
    by the old version goes on the waiting list with today's."""
    application = bootstrap(Settings(database_url=f"sqlite:///{old_store}")).application
    with sqlite3.connect(old_store) as conn:
        escalated = {UUID(row[0]) for row in conn.execute(
            "SELECT originator_id FROM stored_events "
            "WHERE topic = 'domain.referral:Referral.Escalated'")}
    referral = application.repository.get(escalated.pop())
    assert referral.status == "requested" and referral.escalations == ["receive:1"]
    psz = application.repository.get(referral.to_organisation_id)
    nadia = Stamp("nadia", psz.id, psz.members["nadia"], "fixture-test")
    application.referrals.waitlist_referral(nadia, referral.id, "Warteliste")
    application.referrals.accept_referral(nadia, referral.id)
    reader = bootstrap(Settings(database_url=f"sqlite:///{old_store}")).application
    again = reader.repository.get(referral.id)
    assert (again.status, again.waitlisted, again.over_capacity_reason) == ("accepted", False,
                                                                           "")
