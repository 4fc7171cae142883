"""Schemathesis against the served OpenAPI description: generated valid and invalid requests
to every operation (a bounded number each), and stateful runs along the links the spec
defines (a case opened → read, changed, referred; a referral sent → read, acted on).

Checked on every response: no 5xx, status codes, content types, headers and bodies as
documented, invalid data refused."""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from domain.settings import Settings
from domain.stamp import Role, Stamp
from testbed.world import World

MAX_EXAMPLES = 6
# Schema-valid input can still break a rule of the domain (an unknown district, a member
# that is none): the API answers 422 with the reason, which this check would count as a
# failure. Everything else is checked.
ACCEPTANCE = positive_data_acceptance
SCOPES = ["cases:read", "cases:write", "referrals:read", "referrals:write", "directory:read",
          "directory:write", "audit:read", "integrations:write", "reports:read"]
# A supervisor reaches cases, referrals, histories, capacities, tokens and webhooks; a
# coordinator the directory's import.
CALLERS = {"supervisor": ("fsa-sachsendorf", Role.SUPERVISOR),
           "coordinator": ("koordinierungsstelle", Role.COORDINATOR)}


@pytest.fixture(params=sorted(CALLERS))
def api_app(tmp_path: Path, network, request: pytest.FixtureRequest) -> Flask:  # type: ignore[no-untyped-def]
    from web import create_app

    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'api.sqlite3'}",
                              secret_key="test-secret"),
                     config={"TESTING": True, "NUDGE_WORKERS": False})
    world = World.build(app.extensions["fallnetz.application"])
    case_id = world.open_case()
    world.consent(case_id)
    world.send(case_id)
    organisation, role = CALLERS[request.param]
    issued = app.extensions["fallnetz.application"].integrations.issue_api_token(
        Stamp.system("test-setup"), world.org(organisation), "schemathesis", role, SCOPES)
    app.config["TEST_TOKEN"] = issued["token"]
    yield app
    app.extensions["fallnetz.application"].close()


@pytest.fixture
def api_schema(api_app: Flask):  # type: ignore[no-untyped-def]
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", api_app)
    schema.config.generation.update(
        modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
        max_examples=MAX_EXAMPLES, database="none")
    token = api_app.config["TEST_TOKEN"]

    @schema.auth()
    class BearerToken:
        """Schemathesis's own auth hook, so its checks can also try requests without it."""
        def get(self, case, context):  # type: ignore[no-untyped-def]
            return token

        def set(self, case, data, context):  # type: ignore[no-untyped-def]
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}
    return schema


def test_every_operation_answers_as_documented(api_schema, api_app: Flask) -> None:  # type: ignore[no-untyped-def]
    # Driven by hand rather than by schemathesis's pytest plugin, which does not run on
    # pytest 9 yet.
    failures: dict[str, str] = {}
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) > 30
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            @given(case=operation.as_strategy(generation_mode=mode))
            # The same examples every run: the suite stays repeatable; exploring belongs to
            # longer runs with more examples.
            @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None,
                      derandomize=True,
                      suppress_health_check=list(HealthCheck))
            def check(case) -> None:  # type: ignore[no-untyped-def]
                case.call_and_validate(excluded_checks=[ACCEPTANCE])
            try:
                check()
            except (Exception, BaseExceptionGroup) as failure:  # reported together below
                failures[f"{operation.label} ({mode.value})"] = str(failure)[:2000]
    assert not failures, "\n\n".join(f"{k}:\n{v}" for k, v in failures.items())


def test_the_stateful_links_hold(api_schema) -> None:  # type: ignore[no-untyped-def]
    class Workflow(api_schema.as_state_machine()):  # type: ignore[misc]
        def validate_response(self, response, case, additional_checks=None,  # type: ignore[no-untyped-def]
                              **kwargs):
            case.validate_response(response, additional_checks=additional_checks,
                                   excluded_checks=[ACCEPTANCE], transport_kwargs=kwargs or None,
                                   recorder=self.recorder)

    Workflow.run(settings=settings(max_examples=MAX_EXAMPLES, stateful_step_count=6,
                                   derandomize=True,
                                   deadline=None, suppress_health_check=list(HealthCheck)))
