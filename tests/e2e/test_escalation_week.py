"""Two processes doing the beat's work — catch up, scan, send — over a simulated week on the
same PostgreSQL and the same mail server: exactly one escalation event and exactly one mail
per (referral, stage, level)."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import pytest

from runtime.bootstrap import bootstrap
from domain.network import NetworkConfig
from domain.settings import PROJECT_ROOT, Settings
from tests.conftest import database_url
from testbed.processes import worker_env
from tests.smtp import smtp_server
from testbed.world import World

MONDAY = datetime(2026, 11, 16, 7, 0, tzinfo=timezone.utc)


@pytest.mark.postgres
def test_two_scanners_over_a_week_escalate_and_mail_once(
        tmp_path: Path, request: pytest.FixtureRequest, network: NetworkConfig) -> None:
    url = database_url("postgres", tmp_path, request)
    application = bootstrap(Settings(database_url=url), network=network).application
    world = World.build(application)
    application.clock = lambda: MONDAY
    referrals = []
    for urgency in ("crisis", "urgent", "routine", "crisis"):
        case_id = world.open_case()
        world.consent(case_id)
        referrals.append(world.send(case_id, urgency=urgency))
    world.application.referrals.receive_referral(world.nadia, referrals[3])

    with smtp_server() as (inbox, port):
        env = worker_env(url, tmp_path)
        command = [sys.executable, "-m", "tests.scan_week", url, str(port),
                   MONDAY.isoformat(), str(7 * 24)]
        scanners = [subprocess.Popen(command, cwd=PROJECT_ROOT, env=env,
                                     stderr=(tmp_path / f"scanner{i}.log").open("w"))
                    for i in range(2)]
        for scanner in scanners:
            assert scanner.wait(timeout=600) == 0, (tmp_path / "scanner0.log").read_text()

    escalations = Counter((e.originator_id, e.stage, e.level) for r in referrals
                          for e in application.events.get(r) if type(e).__name__ == "Escalated")
    mails = Counter(m["Message-ID"] for m in inbox.messages)
    assert escalations and max(escalations.values()) == 1
    assert len(mails) == len(escalations) and max(mails.values()) == 1
    # Each waiting stage escalated as far as the week reached (DESIGN §6, Brandenburg):
    stages = Counter((rid, stage) for rid, stage, _ in escalations)
    assert stages[(referrals[0], "receive")] == 3  # crisis: 4 h, +2 h, +1 working day
    assert stages[(referrals[1], "receive")] == 2  # urgent: Tue, Wed; level 3 Mon night
    assert stages[(referrals[2], "receive")] == 2  # routine: Thu, Fri; level 3 next Wed
    assert stages[(referrals[3], "decide")] == 3   # received at once; crisis decision
    assert (referrals[3], "receive") not in stages
    application.close()
