"""Three hosts made of network namespaces (testbed/hosts.py): a database host with a private
PostgreSQL, Redis and a mail server, and two worker hosts, each running a Celery worker of
one installation that serves three networks. The operator registers the networks and loads
their demos from the worker hosts; the worker of one host is killed with SIGKILL while it
catches a network's views up; the other host's worker, with the installation's one beat
beside it, does the rest. Then, for every network: the views equal their rebuild from the events,
each escalation due is recorded once, and its notification is claimed, delivered and
mailed exactly once.

All traffic stays on the hosts' private LAN; this process reaches the hosts only by running
commands in them. The hosts, with every process in them, are removed at the end, also when
the test fails.

``python -m tests.e2e.test_multi_host probe MOMENT`` is the probe this test runs in a worker
host: what the events and the views of each network say, as JSON."""

from __future__ import annotations

import email
import email.policy
import json
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from domain.notification import Notification
from readmodel.store import ts
from testbed.hosts import PG_PORT, Host, HostMailSink, HostPostgres, HostRedis, HostWorker, \
    Lan, ip
from testbed.processes import CELERY, wait_until, worker_env

pytestmark = pytest.mark.postgres

NETWORKS = ("cottbus", "doebeln", "nordsachsen-land")
FLASK = [str(Path(sys.executable).parent / "flask"), "--app", "web"]
# Short intervals keep the test quick. A view batch of a few events makes a catch-up of a
# demo's ~1000 events last seconds, long enough to be caught in the middle.
INTERVALS = {"VIEW_CATCH_UP_SECONDS": "2", "ESCALATION_SCAN_SECONDS": "3",
             "MAIL_SEND_SECONDS": "3", "WEBHOOK_SEND_SECONDS": "3600",
             "VIEW_BATCH_SIZE": "2"}


def schema(slug: str) -> str:
    """The network's store: `networks add` gives it a schema of the installation's
    database (runtime/installation.py, default_database_url)."""
    return "network_" + slug.replace("-", "_")


@dataclass
class Site:
    lan: Lan
    postgres: HostPostgres
    redis: HostRedis
    mail: HostMailSink
    logs: Path

    def env(self, host: Host) -> dict[str, str]:
        """A host's environment: its own instance folder, the installation's database,
        broker and mail server on the database host, the installation's master key."""
        db = self.lan["db"]
        env = worker_env(self.postgres.url, self.logs / f"{host.role}-instance",
                         SMTP_HOST=db.address, SMTP_PORT=str(HostMailSink.PORT),
                         SECRET_KEY="multi-host-" + "x" * 32, **INTERVALS)
        env["CELERY_BROKER_URL"] = self.redis.url
        return env


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    with ExitStack() as cleanup:
        lan = Lan("db", "w1", "w2")
        # Run last, whatever happened before: every process of the hosts ends, and the
        # namespaces with their veth pairs and bridge go.
        cleanup.callback(lan.close)
        db = lan["db"]
        postgres = HostPostgres(db, lan.folder / "postgres")
        # Stopped by pg_ctl before the hosts' processes are killed: a cleanly stopped
        # server leaves no shared memory behind.
        cleanup.callback(postgres.remove)
        redis = HostRedis(db, lan.folder / "redis", tmp_path / "redis.log")
        cleanup.callback(redis.remove)
        mail = HostMailSink(db, lan.folder / "mail", tmp_path / "mail.log")
        cleanup.callback(mail.remove)
        yield Site(lan, postgres, redis, mail, tmp_path)


def test_a_worker_host_killed_mid_catch_up_leaves_the_other_to_finish_every_network(
        site: Site, tmp_path: Path) -> None:
    lan, postgres = site.lan, site.postgres
    w1, w2 = lan["w1"], lan["w2"]
    assert all(host.reaches(lan["db"].address, port) for host in (w1, w2)
               for port in (PG_PORT, HostRedis.PORT, HostMailSink.PORT))
    assert f" {lan.subnet}." not in ip("-o", "addr").stdout, "the LAN is in the root namespace"

    # The operator registers the three networks from a worker host.
    w1.run([*FLASK, "networks", "add", *(f"networks/{slug}" for slug in NETWORKS)],
           env=site.env(w1))
    workers = {host.role: HostWorker(host, site.env(host), tmp_path / f"{host.role}.log",
                                     name=host.role) for host in (w1, w2)}
    beat = None
    try:
        for worker in workers.values():
            worker.wait_ready()
        # Commands for the three networks, from both hosts at once.
        loads = {slug: host.spawn([*FLASK, "load-demo"], tmp_path / f"load-{slug}.log",
                                  env={**site.env(host), "NETWORK": slug})
                 for slug, host in zip(NETWORKS, (w1, w2, w1))}
        # Whichever worker is found in the middle of a catch-up is killed (the broker
        # hands each nudge to one of them, so either may be the one catching up).
        killed, caught = kill_mid_catch_up(site, list(workers.values()), loads)
        dead = killed.host
        survivor = workers["w2" if killed is workers["w1"] else "w1"]
        lives = survivor.host
        # The database host sees the killed host's connections end and rolls its open batch
        # back.
        wait_until(lambda: postgres.psql(
            f"SELECT count(*) FROM pg_stat_activity WHERE client_addr = '{dead.address}'")
            == [["0"]], 60, f"{dead.role}'s sessions to end")
        # The installation's one beat, on the host that lives on.
        beat = lives.spawn([CELERY, "-A", "workers", "beat", "--loglevel", "INFO"],
                           tmp_path / "beat.log", env=site.env(lives))
        settled_at = wait_until_settled(site, survivor)
        assert survivor.process.poll() is None, f"{lives.role}'s worker ended"
    finally:
        if beat is not None and beat.poll() is None:
            beat.kill()
            beat.wait(timeout=30)
        for worker in workers.values():
            worker.stop()
    slug, position, last = caught
    assert 0 < position < last, \
        f"{dead.role} was not killed in the middle of catching {slug} up"
    # The task the killed worker was running never ended: it did not finish and
    # acknowledge it.
    started = re.findall(r"Task fallnetz\.catch_up_views\[([-0-9a-f]+)\] received",
                         killed.log.read_text())
    assert started and f"[{started[-1]}] succeeded" not in killed.log.read_text()

    report = json.loads(lives.run([sys.executable, "-m", "tests.e2e.test_multi_host",
                                   "probe", settled_at], env=site.env(lives), timeout=300)
                        .stdout.splitlines()[-1])
    assert sorted(report) == sorted(NETWORKS)
    mails = received(site.mail)
    for slug, network in report.items():
        assert network["position"] == network["last"], slug
        assert network["differences"] == {}, f"{slug}: the views differ from their rebuild"
        assert network["due"] == 0 and network["missed"] == 0, \
            f"{slug}: escalations due are not recorded"
        escalations = [tuple(e) for e in network["escalations"]]
        assert escalations, f"{slug}: the demo has overdue referrals, so escalations"
        assert len(escalations) == len(set(escalations)), f"{slug}: an escalation twice"
        notifications = network["notifications"]
        for referral_id, stage, level in escalations:
            assert str(Notification.id_for(UUID(referral_id), stage, level)) in notifications
        # Each notification (the escalations', the missed agreement's, the monthly
        # report's) claimed once, delivered once, and received by the mail server once,
        # with the link into its own network.
        assert {nid: events for nid, events in notifications.items()
                if events != ["Created", "SendingStarted", "Delivered"]} == {}, slug
        assert {nid: mails.get(nid, [])
                for nid in notifications if len(mails.get(nid, [])) != 1} == {}, \
            f"{slug}: not mailed exactly once"
        assert all(f"/n/{slug}/" in mails[nid][0] for nid in notifications), slug
    every = {nid for network in report.values() for nid in network["notifications"]}
    assert set(mails) == every, "mails for no notification"


def kill_mid_catch_up(site: Site, workers: list[HostWorker],
                      loads: dict[str, subprocess.Popen[bytes]]
                      ) -> tuple[HostWorker, tuple[str, int, int]]:
    """Waits for the demos to load, nudges the workers to catch the views up, and kills
    the worker found in the middle of catching a network up (SIGKILL, its process group):
    as the database host sees it, the worker's session holds the lock on the network's
    view position (it is in a batch), and the position is past the start and short of the
    last event. Returns the worker killed and (network, position, last event) then."""
    by_address = {worker.host.address: worker for worker in workers}
    found: list[tuple[HostWorker, tuple[str, int, int]]] = []
    nudged = False
    positions = {slug: (
        f"SELECT '{slug}', (SELECT position FROM {schema(slug)}.view_positions "
        f"WHERE projection = 'handoff_views'), (SELECT coalesce(max(notification_id), 0) "
        f"FROM {schema(slug)}.referralnetwork_events), (SELECT host(a.client_addr) FROM "
        f"pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.relation = "
        f"to_regclass('{schema(slug)}.view_positions') AND l.mode = 'RowShareLock' AND "
        f"l.granted LIMIT 1)") for slug in NETWORKS}

    def catching_up() -> bool:
        nonlocal nudged
        for worker in workers:
            assert worker.process.poll() is None, worker.log.read_text()[-3000:]
        rows = []
        for query in positions.values():  # each on its own: one may be caught up already
            try:
                rows += site.postgres.psql(query)
            except AssertionError as error:
                if "does not exist" not in str(error):
                    raise  # (its views' tables are made by its first catch-up)
        for slug, position, last, holder in rows:
            if holder in by_address and 0 < int(position) < int(last):
                found.append((by_address[holder], (slug, int(position), int(last))))
                return True
        if not nudged and all(load.poll() is not None for load in loads.values()):
            for slug, load in loads.items():
                log = site.logs / f"load-{slug}.log"
                assert load.returncode == 0, f"{slug}: {log.read_text()[-3000:]}"
            # each load-demo nudged the workers for its network as it ended (its nudge
            # goes out before its process does): no beat runs yet, so the catch-ups
            # under way were started by those nudges alone
            nudged = True
        return False
    wait_until(catching_up, 240, "a worker to be catching a network up", interval=0.02)
    killed = found[0][0]
    killed.kill()
    for slug, load in loads.items():
        assert load.wait(timeout=240) == 0, (site.logs / f"load-{slug}.log").read_text()
    return found[0]


def wait_until_settled(site: Site, worker: HostWorker) -> str:
    """Until every network's views have every event, nothing is due that an escalation
    scan would record (deadlines, missed agreements: the queries of readmodel/queries.py
    and readmodel/register.py), and every notification left the outbox, as the views on
    the database host say (cheap to ask, unlike the probe). Returns the moment it was so."""
    state: list[list[str]] = []
    now = ""

    def settled() -> bool:
        nonlocal now
        assert worker.process.poll() is None, worker.log.read_text()[-3000:]
        now = ts(datetime.now(timezone.utc)) or ""
        state[:] = site.postgres.psql(" UNION ALL ".join(
            f"SELECT '{slug}', (SELECT position FROM {s}.view_positions WHERE projection = "
            f"'handoff_views'), (SELECT coalesce(max(notification_id), 0) FROM "
            f"{s}.referralnetwork_events), (SELECT count(*) FROM {s}.view_notifications), "
            f"(SELECT count(*) FROM {s}.view_notifications WHERE status <> 'delivered'), "
            f"(SELECT count(*) FROM {s}.view_deadlines WHERE next_escalation_at <= '{now}') "
            f"+ (SELECT count(*) FROM {s}.view_register_agreements WHERE status = 'open' "
            f"AND escalated = 0 AND due_at <= '{now}')"
            for slug, s in ((slug, schema(slug)) for slug in NETWORKS)))
        return all(position == last and int(total) > 0 and undelivered == due == "0"
                   for _slug, position, last, total, undelivered, due in state)
    try:
        wait_until(settled, 240, "every network to be settled", interval=0.5)
    except AssertionError as error:
        raise AssertionError(f"{error}: (network, position, last event, notifications, "
                             f"not delivered, due) {state}") from None
    return now


def received(mail: HostMailSink) -> dict[str, list[str]]:
    """The links of the mails the mail server received, by the notification each is of
    (its Message-ID)."""
    found: dict[str, list[str]] = {}
    for raw in mail.messages():
        message = email.message_from_bytes(raw, policy=email.policy.default)
        notification_id = re.fullmatch(r"<(.+)@fallnetz>", str(message["Message-ID"]))
        assert notification_id, message["Message-ID"]
        body = message.get_body(preferencelist=("plain",))
        assert body is not None
        links = re.findall(r"https?://\S+", body.get_content())
        found.setdefault(notification_id.group(1), []).append(" ".join(links))
    return found


# -- the probe, run in a worker host -----------------------------------------------------------
def probe(at: datetime) -> dict[str, Any]:
    """For each registered network: its last event and view position, how its views differ
    from a rebuild, every escalation recorded, every notification's events, and what an
    escalation scan at ``at`` would find due. Reads the views as they are (no catch-up)."""
    from domain.services.escalations import escalations_due
    from domain.settings import Settings
    from readmodel import queries
    from readmodel.register import missed_agreements
    from runtime.installation import bootstrap_installation
    from tests.e2e.test_worker_processes import rebuilt_dump

    installation = bootstrap_installation(Settings.from_env(), nudge=None)
    report: dict[str, Any] = {}
    for entry in installation.entries(fresh=True):
        system = installation.system(entry.slug)
        assert system is not None and system.read_store is not None
        application, views = system.application, system.read_store
        network: dict[str, Any] = {
            "last": application.recorder.max_notification_id() or 0,
            "position": queries.position(views),
            "due": len(escalations_due(queries.due_escalations(views, at), at)),
            "missed": len(missed_agreements(views, at)),
        }
        dump, rebuilt = queries.dump(views), rebuilt_dump(application, entry.database_url)
        network["differences"] = {
            table: {"views only": sorted(Counter(dump[table]) - Counter(rebuilt[table]))[:5],
                    "rebuild only": sorted(Counter(rebuilt[table]) - Counter(dump[table]))[:5]}
            for table in dump if dump[table] != rebuilt[table]}
        escalations: list[tuple[str, str, int]] = []
        notifications: dict[str, list[str]] = {}
        start = 1
        while batch := application.notification_log.select(start=start, limit=1000):
            for stored in batch:
                kind = stored.topic.rpartition(":")[2]
                if kind == "Referral.Escalated":
                    event = application.mapper.to_domain_event(stored)
                    escalations.append((str(event.originator_id), event.stage, event.level))
                elif kind.startswith("Notification."):
                    notifications.setdefault(str(stored.originator_id), []).append(
                        kind.partition(".")[2])
            start = batch[-1].id + 1
        network["escalations"], network["notifications"] = escalations, notifications
        report[entry.slug] = network
    installation.close()
    return report


if __name__ == "__main__":
    if sys.argv[1:2] != ["probe"] or len(sys.argv) != 3:
        sys.exit("usage: python -m tests.e2e.test_multi_host probe ISO-MOMENT")
    print(json.dumps(probe(datetime.fromisoformat(sys.argv[2]))))
