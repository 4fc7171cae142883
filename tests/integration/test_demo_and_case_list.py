"""The demo network loads idempotently with referrals in every state, and the case list
shows it without personal data."""

from __future__ import annotations

from domain.referral import ALL_STATES
from domain.settings import PROJECT_ROOT


def test_load_demo_is_idempotent_and_covers_every_state(app, runner) -> None:  # type: ignore[no-untyped-def]
    application = app.extensions["fallnetz.application"]
    first = runner.invoke(args=["load-demo"])
    assert first.exit_code == 0, first.output
    assert "26 organisations" in first.output and "40 cases" in first.output
    recorded = application.recorder.max_notification_id()

    second = runner.invoke(args=["load-demo"])
    assert second.exit_code == 0, second.output
    assert application.recorder.max_notification_id() == recorded

    assert {r.status for r in application.all_referrals()} == ALL_STATES
    assert len(application.all_cases()) == 40
    organisations = application.organisations()
    sectors = {o.sector for o in organisations}
    assert sectors == {"social_work", "health", "housing", "employment", "education",
                       "administration", "civil_society"}
    paediatric = [o for o in organisations if o.offers("health.paediatric")]
    assert len(paediatric) == 4
    assert all(s["capacity"] <= 4 for o in paediatric for s in o.services.values())
    roles = {role for o in organisations for role in o.members.values()}
    assert roles == {"caseworker", "supervisor", "coordinator", "admin", "data_protection"}
    # A confirmed lead handoff moved some cases to the Jobcenter.
    jobcenter = application.organisation_by_key("jobcenter")
    assert any(c.lead_organisation_id == jobcenter.id for c in application.all_cases())


def test_the_demo_logins_reach_their_pages(app, runner) -> None:  # type: ignore[no-untyped-def]
    """The README's demo logins, one per role, sign in and reach working pages."""
    from testbed.web import sign_in

    runner.invoke(args=["load-demo"])
    password = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    for user, pages in {"a.schulz": ["/faelle", "/eingang", "/ausgang", "/verzeichnis"],
                        "n.koch": ["/eingang", "/faelle", "/ausgang"],
                        "b.wagner": ["/faelle", "/benachrichtigungen"],
                        "k.lehmann": ["/koordination/eskalationen", "/verzeichnis"],
                        "admin": ["/verzeichnis"]}.items():
        assert f"`{user}`" in password, f"the README does not list {user}"
        client = sign_in(app, user, "fallnetz-demo")
        for page in pages:
            response = client.get(page)
            assert response.status_code == 200, (user, page)
            assert 'lang="de"' in response.get_data(as_text=True)


def test_an_unknown_page_is_a_plain_404(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "Diese Seite gibt es nicht" in response.get_data(as_text=True)
