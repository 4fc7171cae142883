"""Small rules of the aggregates and of the configuration, one test each."""

from __future__ import annotations

import uuid
from datetime import date

import pytest

from domain.base import DomainError
from domain.case import Case, ConsentNotActive, InvalidPersonData
from domain.organisation import InvalidService, Organisation, OrganisationInactive
from domain.referral import Referral
from domain.sequence import CaseNumberSequence
from domain.settings import Settings, SettingsError
from domain.stamp import Role, Stamp

BY = Stamp("anna", uuid.uuid4(), "caseworker", "req")
PSZ, GESUNDHEITSAMT = uuid.uuid4(), uuid.uuid4()


def a_case(**person: object) -> Case:
    return Case.open(id=uuid.uuid4(), reference="CB-2026-00001",
                     lead_organisation_id=BY.organisation_id, lead_caseworker="anna",
                     person={"display_name": "Familie T.", "district": "Mitte", **person},
                     housing_stage="own_flat", residence_status="gestattung",
                     legal_sphere="AsylbLG", this_year=2026, by=BY)


def test_a_sector_consent_covers_every_organisation_of_the_sector_for_its_purpose() -> None:
    case = a_case()
    case.give_consent("c1", None, "health", ["health"], date(2026, 12, 31), date(2026, 1, 1),
                      by=BY)
    assert case.consent_covering(PSZ, "health", "health.psychosocial", date(2026, 6, 1)) == "c1"
    assert case.consent_covering(PSZ, "housing", "health.psychosocial", date(2026, 6, 1)) is None
    assert case.consent_covering(PSZ, "health", "benefits", date(2026, 6, 1)) is None


def test_a_consent_covers_from_the_day_given_to_the_day_of_expiry() -> None:
    case = a_case()
    case.give_consent("c1", PSZ, None, ["health.psychosocial"], date(2026, 6, 30),
                      date(2026, 6, 1), by=BY)
    covering = lambda day: case.consent_covering(PSZ, "health", "health.psychosocial", day)  # noqa: E731
    assert covering(date(2026, 5, 31)) is None
    assert covering(date(2026, 6, 30)) == "c1"
    assert covering(date(2026, 7, 1)) is None
    assert case.consent_covering(GESUNDHEITSAMT, "health", "health.psychosocial",
                                 date(2026, 6, 15)) is None


def test_a_consent_names_a_receiver_or_a_sector_not_both() -> None:
    with pytest.raises(DomainError, match="either one receiving organisation or one sector"):
        a_case().give_consent("c1", PSZ, "health", ["health"], date(2027, 1, 1),
                              date(2026, 1, 1), by=BY)


def test_an_expiry_is_recorded_only_after_the_expiry_date() -> None:
    case = a_case()
    case.give_consent("c1", PSZ, None, ["health"], date(2026, 6, 30), date(2026, 6, 1), by=BY)
    with pytest.raises(ConsentNotActive):
        case.record_consent_expiry("c1", date(2026, 6, 30), by=BY)
    case.record_consent_expiry("c1", date(2026, 7, 1), by=BY)
    assert case.consents["c1"]["state"] == "expired"


def test_person_data_stays_minimal_and_plausible() -> None:
    with pytest.raises(InvalidPersonData) as error:
        a_case(full_name="Erika Mustermann")
    assert error.value.field == "full_name"
    with pytest.raises(InvalidPersonData) as error:
        a_case(birth_year=2099)
    assert error.value.field == "birth_year"


def test_a_referral_goes_to_another_organisation() -> None:
    with pytest.raises(DomainError) as error:
        Referral.create(id=uuid.uuid4(), case_id=uuid.uuid4(), need="legal",
                        urgency="routine", kind="service",
                        from_organisation_id=BY.organisation_id, from_user="anna",
                        to_organisation_id=BY.organisation_id, to_service_id=None,
                        reason="x", by=BY, consent_id="c1")
    assert error.value.field == "to_organisation_id"


def test_case_numbers_are_zero_padded_per_prefix_and_year() -> None:
    sequence = CaseNumberSequence(id=CaseNumberSequence.id_for("CB", 2026), prefix="CB",
                                  year=2026, by=BY)
    assert [sequence.issue(by=BY) for _ in range(2)] == ["CB-2026-00001", "CB-2026-00002"]
    assert CaseNumberSequence.id_for("CB", 2026) != CaseNumberSequence.id_for("CB", 2027)


def test_services_need_needs_and_a_sane_capacity() -> None:
    organisation = Organisation.register(uuid.uuid4(), "psz", "PSZ", "health", "psz@x.invalid",
                                         None, by=BY)
    with pytest.raises(InvalidService):
        organisation.add_service("b", {"name": "Beratung", "needs": []}, by=BY)
    with pytest.raises(InvalidService):
        organisation.add_service("b", {"name": "Beratung", "needs": ["legal"],
                                       "capacity": -1}, by=BY)
    organisation.add_service("b", {"name": "Beratung", "needs": ["legal"], "capacity": 3},
                             by=BY)
    organisation.deactivate("aufgelöst", by=BY)
    with pytest.raises(OrganisationInactive):
        organisation.add_member("nadia", Role.CASEWORKER, by=BY)


@pytest.mark.parametrize(("url", "expected"), [
    ("sqlite:///:memory:", {"PERSISTENCE_MODULE": "eventsourcing.sqlite",
                            "SQLITE_DBNAME": ":memory:"}),
    ("postgresql://fz:s%40cret@db.example:6432/fallnetz?schema=s1",
     {"PERSISTENCE_MODULE": "eventsourcing.postgres", "POSTGRES_HOST": "db.example",
      "POSTGRES_PORT": "6432", "POSTGRES_USER": "fz", "POSTGRES_PASSWORD": "s@cret",
      "POSTGRES_DBNAME": "fallnetz", "POSTGRES_SCHEMA": "s1"}),
])
def test_database_urls_become_event_store_settings(url: str, expected: dict) -> None:
    env = Settings(database_url=url).persistence_env()
    assert {k: env[k] for k in expected} == expected


def test_an_unknown_database_scheme_is_named() -> None:
    with pytest.raises(SettingsError, match="DATABASE_URL: unsupported scheme 'mysql'"):
        Settings(database_url="mysql://x/y").persistence_env()


def test_the_aggregate_cache_is_fast_forwarded_and_zero_turns_it_off() -> None:
    url = "postgresql://fz@db.example/fallnetz"
    for env in (Settings(database_url=url).persistence_env(),
                Settings(database_url="sqlite:///:memory:").persistence_env(),
                Settings.from_env({"DATABASE_URL": url}).persistence_env()):
        assert env["AGGREGATE_CACHE_MAXSIZE"] == "1000"
        assert env["AGGREGATE_CACHE_FASTFORWARD"] == "y"
        assert env["AGGREGATE_CACHE_FASTFORWARD_SKIPPING"] == "n"
        assert env["DEEPCOPY_FROM_AGGREGATE_CACHE"] == "y"
    assert Settings.from_env({"AGGREGATE_CACHE_SIZE": "50"}).persistence_env()[
        "AGGREGATE_CACHE_MAXSIZE"] == "50"
    # The library reads a size of 0 as "no limit", so 0 must leave the setting out.
    assert "AGGREGATE_CACHE_MAXSIZE" not in Settings.from_env(
        {"AGGREGATE_CACHE_SIZE": "0"}).persistence_env()
    with pytest.raises(SettingsError, match="AGGREGATE_CACHE_SIZE"):
        Settings(aggregate_cache_size=-1).persistence_env()


def test_the_instance_folder_holds_the_embedded_database_too() -> None:
    assert Settings.from_env({}).database_url == "sqlite:///instance/fallnetz.sqlite3"
    moved = Settings.from_env({"INSTANCE_DIR": "/srv/fallnetz/"})
    assert moved.database_url == "sqlite:////srv/fallnetz/fallnetz.sqlite3"
    assert moved.instance_path.as_posix() == "/srv/fallnetz"
    named = Settings.from_env({"INSTANCE_DIR": "/srv/x", "DATABASE_URL": "sqlite:///a.db"})
    assert named.database_url == "sqlite:///a.db"
