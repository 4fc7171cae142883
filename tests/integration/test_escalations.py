"""The escalation scan and the notification outbox with a real SMTP server on localhost
(SQLite and PostgreSQL)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone
from uuid import UUID

import pytest

from domain.application import ReferralNetwork
from domain.notification import Notification
from testbed.processes import free_port
from tests.smtp import smtp_server
from testbed.world import World
from workers.escalation import scan
from workers.mail import MailSettings, send_due
from readmodel.runner import ViewUpdater

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc)  # a Friday


def sent_at(world: World, moment: datetime, **kwargs) -> UUID:  # type: ignore[no-untyped-def]
    original = world.application.clock
    world.application.clock = lambda: moment
    try:
        case_id = world.open_case()
        world.consent(case_id)
        return world.send(case_id, **kwargs)
    finally:
        world.application.clock = original


def overdue_routine_referral(world: World, updater: ViewUpdater) -> UUID:
    """Sent Monday 16 Nov, receipt due Thursday night: at NOW its level 1 is recorded."""
    referral_id = sent_at(world, datetime(2026, 11, 16, 9, 0, tzinfo=timezone.utc),
                          urgency="routine")
    updater.catch_up()
    scan(world.application, updater.store, NOW)
    updater.catch_up()
    return referral_id


def escalation_events(application: ReferralNetwork, referral_id: UUID) -> list[tuple[str, int]]:
    return [(e.stage, e.level) for e in application.events.get(referral_id)
            if type(e).__name__ == "Escalated"]


def test_a_missed_receipt_escalates_level_by_level_once(world: World,
                                                        updater: ViewUpdater) -> None:
    # Routine, sent Monday 16 Nov 10:00 Berlin: receipt due at the end of Thursday 19 Nov,
    # level 2 one working day later (end of Friday), level 3 three more (end of Wed 25 Nov).
    referral_id = sent_at(world, datetime(2026, 11, 16, 9, 0, tzinfo=timezone.utc),
                          urgency="routine")
    application = world.application
    updater.catch_up()
    assert scan(application, updater.store, NOW, dry_run=True)[0].level == 1
    assert escalation_events(application, referral_id) == []  # a dry run records nothing

    for _ in range(3):  # repeated scans, with and without the views caught up
        scan(application, updater.store, NOW)
    updater.catch_up()
    scan(application, updater.store, NOW)
    assert escalation_events(application, referral_id) == [("receive", 1)]

    friday_night = datetime(2026, 11, 21, 8, 0, tzinfo=timezone.utc)
    scan(application, updater.store, friday_night)
    scan(application, updater.store, friday_night)
    assert escalation_events(application, referral_id) == [("receive", 1), ("receive", 2)]

    # The receiver acts: receipt escalations stop; the next stage's clock runs.
    application.referrals.receive_referral(world.nadia, referral_id)
    updater.catch_up()
    later = datetime(2026, 11, 26, 8, 0, tzinfo=timezone.utc)
    found = scan(application, updater.store, later)
    assert all(e.stage == "decide" for e in found)
    assert ("receive", 3) not in escalation_events(application, referral_id)


def test_each_escalation_sends_one_mail_to_the_designs_recipients(
        world: World, updater: ViewUpdater) -> None:
    referral_id = sent_at(world, datetime(2026, 11, 16, 9, 0, tzinfo=timezone.utc))
    application = world.application
    updater.catch_up()
    moment = datetime(2026, 11, 26, 8, 0, tzinfo=timezone.utc)  # levels 1-3 of receipt due
    scan(application, updater.store, moment)
    updater.catch_up()
    with smtp_server() as (inbox, port):
        mail = MailSettings(port=port, base_url="https://fallnetz.example")
        first = send_due(application, updater.store, mail, moment)
        updater.catch_up()
        again = send_due(application, updater.store, mail, moment)
    assert first["delivered"] == 3 and again == {"delivered": 0, "retry": 0, "failed": 0,
                                                 "skipped": 0, "unknown": 0}
    assert len(inbox.messages) == 3
    by_level = {int(m["Subject"].split("Eskalationsstufe ")[1][0]): m for m in inbox.messages}
    assert by_level[1]["To"] == "psz@test.invalid"  # the receiver's inbox
    # level 2: the receiving supervisor and the sending caseworker (no e-mail: FSA's inbox)
    assert set(by_level[2]["To"].split(", ")) == {"psz@test.invalid",
                                                  "fsa-sachsendorf@test.invalid"}
    assert by_level[3]["To"] == "koordinierungsstelle@test.invalid"
    for message in inbox.messages:
        assert "Familie" not in message["Subject"]
        assert f"https://fallnetz.example/vermittlungen/{referral_id}" in message.get_payload()


def test_an_smtp_outage_retries_later_without_sending_twice(world: World,
                                                            updater: ViewUpdater) -> None:
    referral_id = overdue_routine_referral(world, updater)
    application = world.application
    port = free_port()  # nobody listens here yet
    mail = MailSettings(port=port, timeout=2)
    assert send_due(application, updater.store, mail, NOW)["retry"] == 1
    updater.catch_up()
    assert send_due(application, updater.store, mail, NOW)["delivered"] == 0  # backing off
    with smtp_server(port) as (inbox, _):
        assert (send_due(application, updater.store, mail,
                         NOW + timedelta(minutes=2))["delivered"] == 1)
        updater.catch_up()
        send_due(application, updater.store, mail, NOW + timedelta(hours=3))
    assert len(inbox.messages) == 1
    notification = application.repository.get(Notification.id_for(referral_id, "receive", 1))
    assert (notification.status, notification.attempts) == ("delivered", 2)


def test_a_crash_between_sending_and_recording_never_sends_again(
        world: World, updater: ViewUpdater) -> None:
    referral_id = overdue_routine_referral(world, updater)
    application = world.application
    notification_id = Notification.id_for(referral_id, "receive", 1)
    # The sender claimed it and (we assume) handed it to the mail server, then died.
    assert application.escalations.claim_notification(notification_id, NOW) is not None
    updater.catch_up()
    with smtp_server() as (inbox, port):
        counts = send_due(application, updater.store, MailSettings(port=port),
                          NOW + timedelta(days=1))
    assert inbox.messages == [] and counts["delivered"] == 0
    assert application.repository.get(notification_id).status == "sending"


@pytest.mark.parametrize("urgency", ["crisis"])
def test_crisis_escalations_follow_in_hours(world: World, updater: ViewUpdater,
                                            urgency: str) -> None:
    referral_id = sent_at(world, datetime(2026, 11, 18, 8, 0, tzinfo=timezone.utc),
                          urgency=urgency)
    updater.catch_up()
    found = scan(world.application, updater.store, datetime(2026, 11, 18, 14, 30,
                                                    tzinfo=timezone.utc))
    # receipt due at 12:00 UTC (4 h), level 2 two hours later, level 3 one working day on
    assert [(e.stage, e.level) for e in found] == [("receive", 1), ("receive", 2)]
    assert Counter(escalation_events(world.application, referral_id)) == Counter(
        [("receive", 1), ("receive", 2)])


def test_a_server_refusing_the_data_means_a_retry_not_a_lost_mail(
        world: World, updater: ViewUpdater) -> None:
    from aiosmtpd.controller import Controller

    class Busy:
        async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
            return "451 Try again later"

    referral_id = overdue_routine_referral(world, updater)
    application = world.application
    port = free_port()
    busy = Controller(Busy(), hostname="127.0.0.1", port=port)
    busy.start()
    try:
        assert send_due(application, updater.store, MailSettings(port=port), NOW)["retry"] == 1
    finally:
        busy.stop()
    updater.catch_up()
    with smtp_server(port) as (inbox, _):
        send_due(application, updater.store, MailSettings(port=port), NOW + timedelta(hours=1))
    assert len(inbox.messages) == 1
    assert application.repository.get(Notification.id_for(referral_id, "receive", 1)).status == \
        "delivered"


def test_an_operator_releases_a_stuck_notification_after_checking(
        world: World, updater: ViewUpdater) -> None:
    from readmodel.queries import stuck_notifications

    referral_id = overdue_routine_referral(world, updater)
    application = world.application
    notification_id = Notification.id_for(referral_id, "receive", 1)
    application.escalations.claim_notification(notification_id, NOW)
    updater.catch_up()
    stuck = stuck_notifications(updater.store, datetime.now(timezone.utc))
    assert [row["notification_id"] for row in stuck] == [str(notification_id)]
    application.escalations.release_notification(notification_id, "Nicht im Log des Mailservers",
                                                 NOW)
    updater.catch_up()
    with smtp_server() as (inbox, port):
        send_due(application, updater.store, MailSettings(port=port), NOW)
    assert len(inbox.messages) == 1


def test_hold_and_resume_before_first_contact_moves_the_first_contact_deadline(
        world: World, updater: ViewUpdater) -> None:
    """Accepted, three working days on hold, resumed without a first contact: the first
    contact is still owed, three working days later than before."""
    application = world.application
    monday = datetime(2026, 11, 2, 8, 0, tzinfo=timezone.utc)
    referral_id = sent_at(world, monday, urgency="urgent")  # first contact: 10 wd → Mon 16th

    def at(moment: datetime, command, *args) -> None:  # type: ignore[no-untyped-def]
        original = application.clock
        application.clock = lambda: moment
        try:
            command(world.nadia, referral_id, *args)
        finally:
            application.clock = original

    at(monday + timedelta(hours=1), application.referrals.accept_referral)
    updater.catch_up()
    with updater.store.reading() as cur:
        before = cur.one("SELECT due_at FROM {p}deadlines WHERE referral_id = ?",
                         (str(referral_id),))["due_at"]
    at(datetime(2026, 11, 4, 9, 0, tzinfo=timezone.utc), application.referrals.hold_referral,
       "Klinik")
    at(datetime(2026, 11, 9, 9, 0, tzinfo=timezone.utc), application.referrals.resume_referral)
    updater.catch_up()
    with updater.store.reading() as cur:
        row = cur.one("SELECT stage, due_at FROM {p}deadlines WHERE referral_id = ?",
                      (str(referral_id),))
    assert before.startswith("2026-11-16T22:59:59")
    assert (row["stage"], row["due_at"][:19]) == ("first_contact", "2026-11-19T22:59:59")
    assert application.escalations.deadline_of(
        world.referral(referral_id), "first_contact"
    ).due_at == datetime(2026, 11, 19, 22, 59, 59, tzinfo=timezone.utc)
    # The first contact ends the clock.
    at(datetime(2026, 11, 10, 9, 0, tzinfo=timezone.utc), application.referrals.start_referral)
    updater.catch_up()
    assert scan(application, updater.store, datetime(2027, 1, 1, tzinfo=timezone.utc)) == []
