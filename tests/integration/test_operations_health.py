"""Health, readiness and metrics of the web app, on SQLite and the real PostgreSQL, with the
real Redis as broker: each check's status code and JSON body, the thresholds for view lag
and mail backlog, route rules (not paths) as labels, command outcomes, and request ids."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from domain.application import ReferralNetwork
from domain.settings import Settings
from domain.stamp import Stamp
from testbed.processes import REDIS_URL
from tests.e2e.test_operations_stack import metric
from testbed.web import hidden_fields, sign_in, submit, web_world
from testbed.world import World
from readmodel.runner import ViewUpdater

UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"


def served(application: ReferralNetwork, settings: Settings, tmp_path: Path, **changes: Any,
           ) -> Flask:
    from dataclasses import replace

    from web import create_app

    settings = replace(settings, **{"broker_url": REDIS_URL, "instance_dir": str(tmp_path),
                                    "secret_key": "health-secret-" + "x" * 32, **changes})
    return create_app(settings, application=application,
                      config={"TESTING": True, "NUDGE_WORKERS": False})


def overdue_escalation(world: World) -> None:
    """A referral past its receipt deadline, escalated: one notification in the outbox."""
    case_id = world.open_case()
    world.consent(case_id)
    referral_id = world.send(case_id, urgency="crisis")
    later = datetime.now(timezone.utc) + timedelta(hours=5)
    assert world.application.escalations.escalate_referral(referral_id, "receive", 1,
                                                           later)["escalated"]


def test_live_ready_and_full_health_answer_200_with_their_checks(
        application: ReferralNetwork, settings: Settings, updater: ViewUpdater,
        tmp_path: Path) -> None:
    World.build(application)
    updater.catch_up()
    client = served(application, settings, tmp_path).test_client()

    assert client.get("/health/live").json == {"status": "ok"}
    ready = client.get("/health/ready")
    assert (ready.status_code, ready.json["checks"]) == (200, {"database": {"ok": True}})
    full = client.get("/health")
    assert full.status_code == 200
    assert full.headers["Content-Type"] == "application/json"
    assert full.json["status"] == "ok"
    assert full.json["checks"]["views"] == {"ok": True, "behind": 0, "limit": 1000}
    assert full.json["checks"]["broker"] == {"ok": True}
    assert full.json["checks"]["outbox"]["backlog"] == 0


def test_an_unreachable_broker_fails_the_full_check_but_not_readiness(
        application: ReferralNetwork, settings: Settings, tmp_path: Path) -> None:
    client = served(application, settings, tmp_path, broker_url=UNREACHABLE_REDIS).test_client()
    full = client.get("/health")
    assert (full.status_code, full.json["status"]) == (503, "failing")
    assert full.json["checks"]["broker"] == {"ok": False}
    assert full.json["checks"]["database"] == {"ok": True}
    assert client.get("/health/ready").status_code == 200


def test_views_lagging_beyond_the_limit_fail_the_full_check(
        application: ReferralNetwork, settings: Settings, updater: ViewUpdater,
        tmp_path: Path) -> None:
    World.build(application)
    behind = application.recorder.max_notification_id()
    client = served(application, settings, tmp_path, health_max_view_lag=behind - 1).test_client()
    full = client.get("/health")
    assert full.status_code == 503
    assert full.json["checks"]["views"] == {"ok": False, "behind": behind,
                                            "limit": behind - 1}
    updater.catch_up()
    assert client.get("/health").status_code == 200


def test_a_mail_backlog_beyond_the_limit_fails_the_full_check(
        application: ReferralNetwork, settings: Settings, updater: ViewUpdater,
        tmp_path: Path) -> None:
    overdue_escalation(World.build(application))
    updater.catch_up()
    client = served(application, settings, tmp_path, health_max_outbox_backlog=0).test_client()
    full = client.get("/health")
    assert full.status_code == 503
    assert full.json["checks"]["outbox"] == {"ok": False, "backlog": 1, "limit": 0,
                                             "pending": 1, "retry": 0, "sending": 0,
                                             "failed": 0}
    assert full.json["checks"]["views"]["ok"] is True


def test_an_unreachable_database_fails_readiness(application: ReferralNetwork, settings: Settings,
                                                 tmp_path: Path) -> None:
    elsewhere = "postgresql://postgres@127.0.0.1:1/nowhere?connect_timeout=1"
    client = served(application, settings, tmp_path, database_url=elsewhere).test_client()
    ready = client.get("/health/ready")
    assert (ready.status_code, ready.json) == (503, {
        "status": "unavailable", "checks": {"database": {"ok": False}}})
    full = client.get("/health")
    assert full.status_code == 503
    assert full.json["checks"]["database"] == {"ok": False}
    assert client.get("/health/live").status_code == 200


def test_a_request_that_lost_a_lock_conflict_is_answered_503_alone(
        application: ReferralNetwork, settings: Settings, tmp_path: Path) -> None:
    """A deadlock or a lock waited for too long ends one request with 503 and Retry-After;
    unlike a database that went away, the process goes on answering the others."""
    import psycopg

    app = served(application, settings, tmp_path)
    raised = {"deadlock": psycopg.errors.DeadlockDetected,
              "lock": psycopg.errors.LockNotAvailable,
              "gone": psycopg.OperationalError}
    app.add_url_rule("/test-raises/<kind>", "test_raises",
                     lambda kind: (_ for _ in ()).throw(raised[kind]("a test's error")))
    client = app.test_client()
    for kind in ("deadlock", "lock"):
        answer = client.get(f"/test-raises/{kind}")
        assert (answer.status_code, answer.headers["Retry-After"]) == (503, "5")
        assert client.get("/health/live").status_code == 200
        assert client.get("/anmelden").status_code == 200, kind
    assert client.get("/test-raises/gone").status_code == 503
    assert client.get("/anmelden").status_code == 503  # an outage: refused until probed


def test_metrics_label_route_rules_count_command_outcomes_and_read_the_store(
        application: ReferralNetwork, settings: Settings, updater: ViewUpdater,
        tmp_path: Path) -> None:
    app = served(application, settings, tmp_path)
    world = web_world(app)
    case_id = world.open_case()
    anna = sign_in(app, "anna")
    page = f"/faelle/{case_id}"
    assert anna.get(page).status_code == 200
    done = submit(anna, page, f"/faelle/{case_id}/bedarfe", need="health.general")
    stale = submit(anna, page, f"/faelle/{case_id}/bedarfe", need="housing.search",
                   expected_version="1")
    invalid = submit(anna, page, f"/faelle/{case_id}/bedarfe", need="no.such.need")
    assert [r.status_code for r in (done, stale, invalid)] == [302, 409, 422]
    world.application.integrations.subscribe_webhook(Stamp.system("test"), world.org("psz"),
                                "https://kis.example.org/fallnetz")
    overdue_escalation(world)  # its referral's "requested" is owed to the PSZ's webhook
    updater.catch_up()

    exposed = app.test_client().get("/metrics")
    assert exposed.status_code == 200
    assert exposed.headers["Content-Type"].startswith("text/plain")
    text = exposed.get_data(as_text=True)
    assert str(case_id) not in text, "a path with its id became a label"
    assert metric(text, "fallnetz_http_requests_total", method="GET",
                  route="/faelle/<uuid:case_id>", status="200") >= 1
    assert metric(text, "fallnetz_http_request_duration_seconds_count", method="POST",
                  route="/faelle/<uuid:case_id>/bedarfe") >= 3
    for outcome in ("done", "conflict", "invalid"):
        assert metric(text, "fallnetz_commands_total", command="cases.record_need",
                      outcome=outcome) >= 1
    assert metric(text, "fallnetz_escalations_total", stage="receive", level="1") == 1
    assert metric(text, "fallnetz_outbox_notifications", status="pending") == 1
    assert metric(text, "fallnetz_outbox_backlog") == 1
    assert metric(text, "fallnetz_mails_sent_total") == 0
    assert metric(text, "fallnetz_webhook_deliveries", status="pending") == 1
    assert metric(text, "fallnetz_view_lag_events", view="handoff_views") == 0
    assert metric(text, "fallnetz_store_up") == 1


@pytest.mark.parametrize("given, kept", [
    ("5f0c2a9e-81b4-4d7e-9a51-0c7d2e3b4f60", True),
    ("Zarathustra-Quellenberg", False),   # letters beyond hex: could carry a name
    ("1234", False),                      # too short to tell requests apart
    ("ada-bebe-cafe", False),             # hex letters, but not the shape of an id
    ("0123456789abcdef", True),
])
def test_request_ids_are_kept_when_they_look_like_ids_and_reach_the_events(
        app: Flask, given: str, kept: bool) -> None:
    application = app.extensions["fallnetz.application"]
    world = web_world(app)
    case_id = world.open_case()
    anna = sign_in(app, "anna")
    page = f"/faelle/{case_id}"
    form = hidden_fields(anna.get(page).get_data(as_text=True), f"/faelle/{case_id}/bedarfe")
    response = anna.post(f"/faelle/{case_id}/bedarfe", data={**form, "need": "health.general"},
                         headers={"X-Request-ID": given})
    assert response.status_code == 302
    answered = response.headers["X-Request-ID"]
    assert (answered == given) is kept
    assert re.fullmatch(r"[0-9a-f-]{16,64}", answered)
    last = list(application.repository.event_store.get(case_id))[-1]
    assert type(last).__name__ == "NeedRecorded"
    assert last.by.correlation_id == answered


def test_every_answer_carries_the_security_headers_and_https_adds_hsts(
        application: ReferralNetwork, settings: Settings, tmp_path: Path) -> None:
    client = served(application, settings, tmp_path).test_client()
    for path in ("/anmelden", "/health/live", "/metrics", "/api/v1/cases", "/gibt-es-nicht"):
        answer = client.get(path)
        assert answer.headers["X-Content-Type-Options"] == "nosniff", path
        assert answer.headers["X-Frame-Options"] == "DENY", path
        assert "frame-ancestors 'none'" in answer.headers["Content-Security-Policy"], path
        assert "Strict-Transport-Security" not in answer.headers, path
    secure = served(application, settings, tmp_path,
                    public_base_url="https://fallnetz.example").test_client()
    for path in ("/anmelden", "/health/live", "/metrics"):
        assert secure.get(path).headers["Strict-Transport-Security"].startswith(
            "max-age=31536000"), path


def test_metrics_answer_this_host_or_the_token_only(
        application: ReferralNetwork, settings: Settings, tmp_path: Path) -> None:
    client = served(application, settings, tmp_path, metrics_token="scrape-" + "y" * 24
                    ).test_client()
    assert client.get("/metrics").status_code == 200  # Prometheus on this host
    through_proxy = client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"})
    assert through_proxy.status_code == 403
    elsewhere = client.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert elsewhere.status_code == 403 and b"fallnetz_" not in elsewhere.data
    with_token = client.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.9"},
                            headers={"Authorization": "Bearer scrape-" + "y" * 24})
    assert with_token.status_code == 200 and b"fallnetz_" in with_token.data


def test_the_embedded_store_and_its_folder_are_the_installations_alone(
        tmp_path: Path) -> None:
    from domain.settings import Settings as Fresh
    from runtime.bootstrap import bootstrap

    store = tmp_path / "instance" / "fallnetz.sqlite3"
    application = bootstrap(Fresh(database_url=f"sqlite:///{store}")).application
    World.build(application)  # writes, so the WAL file exists too
    for path in (store, store.with_name("fallnetz.sqlite3-wal")):
        assert path.stat().st_mode & 0o777 == 0o600, path
    assert store.parent.stat().st_mode & 0o777 == 0o700
    application.close()
