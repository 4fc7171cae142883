"""The operators' commands: views status and rebuild, the escalation scan with --now and
--dry-run."""

from __future__ import annotations

from domain.referral import Referral


def test_views_status_rebuild_and_a_dry_run_scan(app, runner) -> None:  # type: ignore[no-untyped-def]
    assert runner.invoke(args=["load-demo"]).exit_code == 0
    application = app.extensions["fallnetz.application"]
    last = application.recorder.max_notification_id()

    status = runner.invoke(args=["views", "status"])
    assert f"position 0 of {last} ({last} behind)" in status.output

    rebuilt = runner.invoke(args=["views", "rebuild"])
    assert rebuilt.exit_code == 0, rebuilt.output
    assert f"{last} events in" in rebuilt.output and "events/s" in rebuilt.output
    assert f"position {last} of {last} (0 behind)" in runner.invoke(
        args=["views", "status"]).output

    dry = runner.invoke(args=["escalations", "scan", "--now", "2030-01-01T00:00",
                              "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "would escalate: referral" in dry.output and "(dry run)" in dry.output
    escalated = [e for r in application.all_referrals() for e in application.events.get(r.id)
                 if type(e).__name__ == "Escalated"]
    assert escalated == []

    real = runner.invoke(args=["escalations", "scan", "--now", "2030-01-01T00:00"])
    assert "escalated: referral" in real.output
    assert any(r.escalations for r in application.all_referrals() if isinstance(r, Referral))
    again = runner.invoke(args=["escalations", "scan", "--now", "2030-01-01T00:00"])
    assert again.output.strip().endswith("0 escalation(s) at 2030-01-01T00:00+00:00")


def test_a_bad_now_is_named(runner) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(args=["escalations", "scan", "--now", "next tuesday"])
    assert result.exit_code != 0
    assert "--now" in result.output
