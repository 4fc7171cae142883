"""The three demo networks — a city in Brandenburg, a small town and a rural district in
Saxony — each load into a store of their own with directory, logins, cases, referrals in
every state and a needs register; loading again, even on a later day, records nothing; and
the Saxon networks count their deadlines with Saxony's holidays."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from domain.application import ReferralNetwork
from domain.deadlines import BERLIN, calendar_for, stage_deadline
from domain.demo import DemoReport, load_demo, load_directory_file, load_scenario_file
from domain.network import NetworkConfigError, load_network
from domain.referral import ALL_STATES
from domain.register import Forum
from domain.settings import PROJECT_ROOT, Settings
from runtime.bootstrap import bootstrap

NETWORKS = PROJECT_ROOT / "networks"
# slug → (organisations, users, case number prefix, the conference of its needs register)
EXPECTED = {
    "cottbus": (26, 38, "CB", "Stadtteilkonferenz Sachsendorf"),
    "doebeln": (21, 30, "DL", "Stadtteilkonferenz Döbeln-Ost"),
    "nordsachsen-land": (19, 26, "NL", "Sozialraumkonferenz Dahlen"),
}
# the one login that is a member of two networks: it chooses the network after sign-in
SHARED_LOGIN = "s.becker"
STAFF_ROLES = {"caseworker", "supervisor", "coordinator", "admin", "data_protection"}


@dataclass
class Loaded:
    slug: str
    application: ReferralNetwork
    report: DemoReport
    recorded: int


@pytest.fixture(scope="module", params=sorted(EXPECTED))
def loaded(request: pytest.FixtureRequest,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loaded]:
    """A network's demo, loaded once into a fresh SQLite store of its own."""
    slug = request.param
    folder = tmp_path_factory.mktemp(slug)
    application = bootstrap(Settings(database_url=f"sqlite:///{folder / 'events.sqlite3'}",
                                     instance_dir=str(folder / "instance")),
                            network=load_network(NETWORKS / slug), nudge=None).application
    report = load_demo(application, NETWORKS / slug / "demo")
    yield Loaded(slug, application, report, application.recorder.max_notification_id() or 0)
    application.close()


def test_each_network_loads_its_directory_logins_and_cases(loaded: Loaded) -> None:
    organisations, users, prefix, _conference = EXPECTED[loaded.slug]
    application, report = loaded.application, loaded.report
    assert (report.organisations, report.users, report.cases) == (organisations, users, 40)
    directory = application.organisations()
    assert len(directory) == organisations
    assert {o.sector for o in directory} == {"social_work", "health", "housing", "employment",
                                             "education", "administration", "civil_society"}
    assert {role for o in directory for role in o.members.values()} == STAFF_ROLES
    cases = application.all_cases()
    assert len(cases) == 40
    assert all(re.fullmatch(rf"{prefix}-\d{{4}}-\d{{5}}", c.reference) for c in cases)
    districts = {c.person["district"] for c in cases}
    assert districts == set(application.network.districts)


def test_each_network_has_referrals_in_every_state(loaded: Loaded) -> None:
    application = loaded.application
    referrals = application.all_referrals()
    assert {r.status for r in referrals} == ALL_STATES
    assert sum(loaded.report.referrals_by_status.values()) == len(referrals)
    # The Rechtskreiswechsel: a confirmed lead handoff moved cases to the Jobcenter.
    jobcenter = application.organisation_by_key("jobcenter")
    assert jobcenter is not None
    assert any(c.lead_organisation_id == jobcenter.id for c in application.all_cases())


def test_each_network_has_its_needs_register(loaded: Loaded) -> None:
    application = loaded.application
    forums = [application.repository.get(i) for i in application.created_ids(Forum.Convened)]
    conference = EXPECTED[loaded.slug][3]
    assert {(f.kind, f.name) for f in forums} >= {("conference", conference)}
    assert {f.kind for f in forums} == {"conference", "working_group"}
    assert all(f.district in application.network.districts for f in forums
               if f.kind == "conference")


def test_loading_again_records_nothing_even_on_a_later_day(loaded: Loaded) -> None:
    application = loaded.application
    load_demo(application, NETWORKS / loaded.slug / "demo")
    assert application.recorder.max_notification_id() == loaded.recorded
    # `make run` loads the demo at every start: the dates in its commands follow the first
    # load, so a start on another day meets the same commands, not "key used for another".
    today = application.clock
    application.clock = lambda: today() + timedelta(days=3, hours=5)
    try:
        load_demo(application, NETWORKS / loaded.slug / "demo")
    finally:
        application.clock = today
    assert application.recorder.max_notification_id() == loaded.recorded


def test_the_demo_logins_sign_in_with_the_published_password(loaded: Loaded) -> None:
    """Run after the loads above: a sign-in may rehash a password, which is an event."""
    application = loaded.application
    directory = load_directory_file(NETWORKS / loaded.slug / "demo" / "directory.toml")
    for username in directory["users"]:
        assert application.accounts.authenticate(username, "fallnetz-demo") is not None
        roles = {role for _o, role in application.accounts.memberships(username)}
        account = application.directory.user(username)
        assert account is not None
        # supervisors, coordinators, admins and data protection confirm with the demo's app
        assert account.has_second_factor() == bool(roles - {"caseworker"}), username


def test_logins_are_distinct_per_network_but_one() -> None:
    users = {slug: set(load_directory_file(NETWORKS / slug / "demo" / "directory.toml")
                       ["users"]) for slug in EXPECTED}
    assert users["cottbus"] & (users["doebeln"] | users["nordsachsen-land"]) == set()
    assert users["doebeln"] & users["nordsachsen-land"] == {SHARED_LOGIN}
    for slug in ("doebeln", "nordsachsen-land"):
        directory = load_directory_file(NETWORKS / slug / "demo" / "directory.toml")
        roles = {role for o in directory["organisation"] for _u, role in o["members"]}
        assert roles == STAFF_ROLES
        assert [(o["key"], role) for o in directory["organisation"]
                for user, role in o["members"] if user == SHARED_LOGIN] == [("mbe", "caseworker")]


def test_the_saxon_demos_invent_their_addresses_and_numbers() -> None:
    for slug, domain in (("doebeln", "example.org"), ("nordsachsen-land", "example.net")):
        directory = load_directory_file(NETWORKS / slug / "demo" / "directory.toml")
        for org in directory["organisation"]:
            assert org["inbox"].endswith(f".{domain}"), org["key"]
            for contact in org["contact"]:
                assert contact["email"] is None or contact["email"].endswith(f".{domain}")
                # no German subscriber number starts with 0: "000" reaches no one
                assert contact["phone"] is None or " 000 " in contact["phone"]


def test_doebeln_counts_bus_und_bettag_as_a_holiday_cottbus_does_not() -> None:
    """A routine referral sent on Monday 16 November 2026 is due for receipt after three
    working days: Thursday in Brandenburg, Friday in Saxony (Wednesday is Buß- und Bettag)."""
    cottbus, doebeln = load_network(NETWORKS / "cottbus"), load_network(NETWORKS / "doebeln")
    sent = datetime(2026, 11, 16, 10, 0, tzinfo=BERLIN)
    due = {network.slug: stage_deadline(network.deadlines, calendar_for(network.state),
                                        urgency="routine", lead_handoff=False, stage="receive",
                                        sent_at=sent).due_at.astimezone(BERLIN).date()
           for network in (cottbus, doebeln)}
    assert due == {"cottbus": sent.date() + timedelta(days=3),
                   "doebeln": sent.date() + timedelta(days=4)}
    assert not calendar_for(doebeln.state).is_working_day(sent.date() + timedelta(days=2))
    assert calendar_for(cottbus.state).is_working_day(sent.date() + timedelta(days=2))


def test_a_scenario_naming_an_unknown_organisation_is_refused(tmp_path: Path) -> None:
    network = load_network(NETWORKS / "doebeln")
    demo = tmp_path / "demo"
    shutil.copytree(NETWORKS / "doebeln" / "demo", demo)
    directory = load_directory_file(demo / "directory.toml")
    scenario = demo / "scenario.toml"
    scenario.write_text(scenario.read_text(encoding="utf-8").replace(
        'lead = "mbe"', 'lead = "no-such-office"'), encoding="utf-8")
    with pytest.raises(NetworkConfigError) as raised:
        load_scenario_file(scenario, directory, network)
    assert (raised.value.field, raised.value.path) == ("working_group.lead", scenario)


def test_a_directory_lacking_what_the_map_names_is_refused() -> None:
    """Cottbus's directory cannot serve Döbeln's map: its practices are other ones."""
    path = NETWORKS / "cottbus" / "demo" / "directory.toml"
    with pytest.raises(NetworkConfigError) as raised:
        load_directory_file(path, load_network(NETWORKS / "doebeln"))
    assert (raised.value.path, raised.value.field) == (path, "organisation")
    assert "responsibility.toml" in raised.value.message
