"""What health data's protection costs: the command path (referrals sent, then accepted)
and the caseworker's case page, each with encryption at rest, the cases' own keys and the
read audit on — as installed — against the same run with them off, on the same database."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from bench import config
from bench.commands import _rates, _seconds, engine_writer
from bench.timing import medians_in_turns
from domain.settings import Settings
from runtime.bootstrap import bootstrap
from testbed.web import sign_in, web_world
from web import create_app


def _command_rates(sizes: config.Sizes) -> dict[str, float]:
    with config.scratch_schema("privacy_on") as on, config.scratch_schema("privacy_off") as off:
        protected = bootstrap(Settings(database_url=config.schema_url(on))).application
        plain = bootstrap(Settings(database_url=config.schema_url(off),
                                   encrypt_store=False)).application
        from testbed.world import World

        worlds = World.build(protected), World.build(plain)
        try:
            for world in worlds:  # warm both once: first imports, connections
                _seconds([engine_writer(world)], 2)
            rates = _rates([engine_writer(worlds[0])], [engine_writer(worlds[1])],
                           sizes.referrals_per_writer)
        finally:
            protected.close()
            plain.close()
    return {"engine": rates["engine"], "bare": rates["bare"]}


@contextmanager
def _case_page(url: str, protected: bool) -> Iterator[Callable[[], None]]:
    """The caseworker's case page of a case with a few referrals, as a call."""
    settings = Settings(database_url=url, secret_key="bench-secret", encrypt_store=protected)
    app = create_app(settings, config={"NUDGE_WORKERS": False, "READ_AUDIT": protected})
    world = web_world(app)
    case_id = world.open_case()
    world.consent(case_id)
    for _ in range(3):  # a case with a few referrals, as in an office
        world.send(case_id)
    client = sign_in(app, "anna")

    def page() -> None:
        response = client.get(f"/faelle/{case_id}")
        assert response.status_code == 200, response.status_code
    try:
        yield page
    finally:
        app.extensions["fallnetz.application"].close()


def _case_pages_ms(repeats: int) -> tuple[float, float]:
    """Medians of the protected and the plain page, requested in turns (measured one after
    the other, the ratio moved between 0.75× and 0.94× over runs of the same code)."""
    with config.scratch_schema("page_on") as on, config.scratch_schema("page_off") as off, \
            _case_page(config.schema_url(on), True) as protected, \
            _case_page(config.schema_url(off), False) as plain:
        page_on, page_off = medians_in_turns([protected, plain], repeats * 3)
    return page_on, page_off


def measure(sizes: config.Sizes) -> dict[str, dict[str, Any]]:
    commands = _command_rates(sizes)
    page_on, page_off = _case_pages_ms(sizes.repeats)
    return {"privacy_commands": commands,
            "privacy_page": {"engine": page_on, "bare": page_off}}
