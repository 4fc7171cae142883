"""The responsibility map kept by the coordination office (domain/responsibilities.py): the
network's file counts until the first change, then the map's events; every use of the map
(suggestions, drafted lead handoffs) follows it; each entry is checked against the network
and the directory; the file goes out and comes back; a district's handout reads it with
directory data only."""

from __future__ import annotations

import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest

from domain.base import ConflictError, DomainError, PermissionDenied
from domain.network import load_network
from domain.organisation import contact_key
from domain.responsibilities import MapFileError, ResponsibilityMap, map_toml
from domain.routing import suggest_receivers
from domain.settings import PROJECT_ROOT
from domain.stamp import Stamp
from testbed.world import World

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc)
SYSTEM = Stamp.system("responsibility-test")
# A file that names only the test world's organisations.
FILE = """version = "test-1"

[[lead]]
legal_sphere = "SGB II"
need = "benefits"
organisations = ["jobcenter", "mbe"]

[[rule]]
need = "health.psychosocial"
organisations = ["psz"]
[[rule]]
need = "benefits"
legal_spheres = ["SGB II"]
organisations = ["jobcenter"]
[[rule]]
need = "benefits"
legal_spheres = ["AsylbLG", "SGB XII"]
districts = ["Sachsendorf"]
organisations = ["sozialamt", "mbe"]

[[self_help]]
need = "benefits"
housing_stage = "own_flat"
text = "Den Weiterbewilligungsantrag rechtzeitig stellen."
text_en = "Apply for the renewal in time."
"""


def named(world: World, case_id: object, need: str) -> list[str]:
    application = world.application
    return [s.organisation_name for s in suggest_receivers(
        application.responsibilities.effective_network(), application.organisations(),
        application.repository.get(case_id), need, "routine", {}, NOW) if s.named_by_map]


def katrin(world: World) -> Stamp:
    return world.as_("katrin", "koordinierungsstelle")


def test_the_file_counts_until_the_first_change_and_the_map_after(world: World) -> None:
    application = world.application
    responsibilities = application.responsibilities
    assert responsibilities.current() is None and responsibilities.version() == 0
    assert responsibilities.effective_network() is application.network
    case_id = world.open_case()  # Sachsendorf, shared accommodation, AsylbLG
    assert named(world, case_id, "health.psychosocial") == ["Psychosoziales Zentrum"]

    # Rule 3 of the file (health.psychosocial → psz) now names the Migrationsberatung.
    result = responsibilities.change_rule(katrin(world), "r3", {
        "need": "health.psychosocial", "districts": ["Sachsendorf"],
        "organisations": ["mbe"]}, expected_version=0)
    assert result == {"changed": True, "version": 2}
    found = responsibilities.current()
    assert isinstance(found, ResponsibilityMap)
    events = [type(e).__name__ for e in application.repository.event_store.get(found.id)]
    assert events == ["Started", "RuleChanged"]  # the history begins with the file's map
    assert named(world, case_id, "health.psychosocial") == ["Migrationsberatung"]
    effective = responsibilities.effective_network()
    assert effective.responsibility_version == "2026-11+2"
    assert effective.responsible("health.psychosocial", "AsylbLG", "Mitte", "own_flat") == []
    # The rest of the file's map is as it was.
    assert effective.rules[:2] == application.network.rules[:2]
    assert effective.lead_rules == application.network.lead_rules


def test_a_changed_lead_rule_decides_the_next_drafts(world: World) -> None:
    application = world.application
    responsibilities = application.responsibilities
    # l18: SGB II → jobcenter and mbe (the file's first lead rule, after its 17 rules)
    responsibilities.change_lead_rule(katrin(world), "l18", {
        "legal_sphere": "SGB II", "need": "benefits", "organisations": ["sozialamt"]},
        expected_version=0)
    case_id = world.open_case()
    drafts = application.cases.change_residence_status(world.anna, case_id, "permit_25")
    receivers = {application.repository.get(r).to_organisation_id
                 for r in drafts["draft_referral_ids"]}
    assert receivers == {world.org("sozialamt")}


@pytest.mark.parametrize(("rule", "field", "words"), [
    ({"need": "health.x", "organisations": ["psz"]}, "need", "Unknown need"),
    ({"need": "benefits", "legal_spheres": ["SGB III"], "organisations": ["psz"]},
     "legal_spheres", "Unknown legal sphere"),
    ({"need": "benefits", "districts": ["Atlantis"], "organisations": ["psz"]},
     "districts", "Unknown district"),
    ({"need": "benefits", "housing_stages": ["tent"], "organisations": ["psz"]},
     "housing_stages", "Unknown housing stage"),
    ({"need": "benefits", "organisations": []}, "organisations", "at least one"),
    ({"need": "benefits", "organisations": ["nobody"]}, "organisations",
     "no organisation with the key 'nobody'"),
    ({"need": "health.psychosocial", "organisations": ["mbe"]}, "need",
     "Rule r3 answers for this situation already"),
])
def test_a_rule_is_checked_against_the_network_and_the_directory(
        world: World, rule: dict, field: str, words: str) -> None:  # type: ignore[type-arg]
    application = world.application
    before = application.recorder.max_notification_id()
    with pytest.raises(DomainError) as refused:
        application.responsibilities.add_rule(katrin(world), rule, expected_version=0)
    assert refused.value.field == field and words in str(refused.value)
    assert application.recorder.max_notification_id() == before, "nothing was stored"


def test_an_inactive_organisation_cannot_be_named(world: World) -> None:
    application = world.application
    application.directory.deactivate_organisation(SYSTEM, world.org("mbe"), "aufgelöst")
    with pytest.raises(DomainError, match="no longer active"):
        application.responsibilities.add_rule(katrin(world), {
            "need": "legal", "organisations": ["mbe"]})


def test_only_the_coordination_office_and_the_admins_keep_the_map(world: World) -> None:
    responsibilities = world.application.responsibilities
    with pytest.raises(PermissionDenied):
        responsibilities.add_rule(world.anna, {"need": "legal", "organisations": ["mbe"]})
    admin = world.as_("root", "koordinierungsstelle")
    assert responsibilities.add_rule(admin, {"need": "legal", "districts": ["Sandow"],
                                             "organisations": ["mbe"]})["changed"]


def test_a_stale_version_conflicts_and_a_change_to_the_same_records_nothing(
        world: World) -> None:
    application = world.application
    responsibilities = application.responsibilities
    responsibilities.add_rule(katrin(world), {"need": "legal", "districts": ["Sandow"],
                                              "organisations": ["mbe"]}, expected_version=0)
    with pytest.raises(ConflictError, match="changed meanwhile"):
        responsibilities.remove_rule(katrin(world), "r1", expected_version=0)
    before = application.recorder.max_notification_id()
    same = responsibilities.change_rule(katrin(world), "r22", {
        "need": "legal", "districts": ["Sandow"], "organisations": ["mbe"]},
        expected_version=2)
    assert same == {"changed": False, "version": 2}
    assert application.recorder.max_notification_id() == before
    with pytest.raises(DomainError, match="no rule 'r99'"):
        responsibilities.remove_rule(katrin(world), "r99")


def test_what_people_can_do_themselves_is_written_and_taken_away(world: World) -> None:
    responsibilities = world.application.responsibilities
    write = responsibilities.write_self_help
    with pytest.raises(DomainError) as refused:
        write(katrin(world), "language", "own_flat", "", "Only English")
    assert refused.value.field == "text"
    with pytest.raises(DomainError) as refused:
        write(katrin(world), "language", "tent", "Kurs suchen")
    assert refused.value.field == "housing_stage"
    assert write(katrin(world), "language", "own_flat", "Kurs suchen", "Find a course")[
        "changed"]
    said = [s for s in responsibilities.effective_network().self_help
            if (s.need, s.housing_stage) == ("language", "own_flat")]
    assert [(s.text, s.text_en) for s in said] == [("Kurs suchen", "Find a course")]
    assert not write(katrin(world), "language", "own_flat", "Kurs suchen",
                     "Find a course")["changed"]
    assert write(katrin(world), "language", "own_flat", "", "")["changed"]
    assert not [s for s in responsibilities.effective_network().self_help
                if (s.need, s.housing_stage) == ("language", "own_flat")]


def test_a_file_is_imported_whole_or_not_at_all_and_twice_records_nothing(
        world: World) -> None:
    application = world.application
    responsibilities = application.responsibilities
    broken = "colour = 1\n" + FILE.replace('"psz"', '"nobody"').replace(
        'need = "benefits"\nhousing_stage', 'need = "bene"\nhousing_stage')
    before = application.recorder.max_notification_id()
    with pytest.raises(MapFileError) as refused:
        responsibilities.import_map(katrin(world), broken)
    assert [where for where, _message in refused.value.problems] == [
        "colour", "rule[0].organisations", "self_help[0].need"]
    with pytest.raises(MapFileError, match="not TOML"):
        responsibilities.import_map(katrin(world), "[[rule]\n")
    assert application.recorder.max_notification_id() == before, "nothing was stored"

    assert responsibilities.import_map(katrin(world), FILE, expected_version=0)["changed"]
    recorded = application.recorder.max_notification_id()
    again = responsibilities.import_map(katrin(world), FILE.encode(), expected_version=2)
    assert again == {"changed": False, "version": 2}
    assert application.recorder.max_notification_id() == recorded, "the same file: nothing"
    effective = responsibilities.effective_network()
    assert effective.responsibility_version == "test-1+2"
    assert effective.responsible("benefits", "AsylbLG", "Sachsendorf", "own_flat") == [
        "sozialamt", "mbe"]
    assert effective.lead_takers("SGB II", "Mitte") == [("jobcenter", "benefits"),
                                                        ("mbe", "benefits")]
    # What goes out comes back as the same map, and as a network's own file.
    exported = responsibilities.export_toml()
    assert not responsibilities.import_map(katrin(world), exported)["changed"]


def test_the_export_is_a_networks_responsibility_file(tmp_path: Path, world: World) -> None:
    responsibilities = world.application.responsibilities
    folder = tmp_path / "network"
    shutil.copytree(PROJECT_ROOT / "networks" / "cottbus", folder)
    # The file's own map, written out and read by the network loader: the same map.
    (folder / "responsibility.toml").write_text(responsibilities.export_toml(),
                                                encoding="utf-8")
    loaded = load_network(folder)
    network = world.application.network
    assert (loaded.rules, loaded.lead_rules) == (network.rules, network.lead_rules)
    assert set(loaded.self_help) == set(network.self_help)  # ordered by need and stage
    assert loaded.responsibility_version == network.responsibility_version
    responsibilities.import_map(katrin(world), FILE)
    (folder / "responsibility.toml").write_text(map_toml(responsibilities.content()),
                                                encoding="utf-8")
    assert load_network(folder).rules == responsibilities.effective_network().rules


def test_a_districts_handout_names_the_map_the_initiatives_and_public_contacts_only(
        world: World) -> None:
    application = world.application
    responsibilities = application.responsibilities
    responsibilities.import_map(katrin(world), FILE)
    initiative = application.directory.register_organisation(
        SYSTEM, "nachbarn", "Nachbarschaftshilfe", "civil_society", "n@test.invalid")
    application.directory.add_service(SYSTEM, initiative["organisation_id"], "paten", {
        "name": "Lernpatenschaften", "needs": ["school"], "districts": ["Sachsendorf"]})
    application.directory.add_service(SYSTEM, initiative["organisation_id"], "cafe", {
        "name": "Sprachcafé", "needs": ["language"], "districts": ["Sandow"]})
    contacts = [{"name": "Beratungstelefon", "phone": "0355 1"},
                {"name": "Frau Intern", "email": "intern@test.invalid"}]
    application.directory.change_contacts(SYSTEM, world.org("sozialamt"), contacts)
    application.directory.choose_public_contacts(SYSTEM, world.org("sozialamt"),
                                                 [contact_key(contacts[0])])

    found = responsibilities.handout("Sachsendorf")
    assert found.housing_stages == ("initial_reception", "shared_accommodation",
                                    "followup_accommodation", "own_flat")
    benefits = found.row("benefits", "own_flat")
    assert [(n.key, n.legal_spheres) for n in benefits.organisations] == [
        ("sozialamt", ("AsylbLG", "SGB XII")), ("mbe", ("AsylbLG", "SGB XII")),
        ("jobcenter", ("SGB II",))]
    assert benefits.self_help == "Den Weiterbewilligungsantrag rechtzeitig stellen."
    assert benefits.self_help_en == "Apply for the renewal in time."
    assert benefits.organisations[0].contacts == ({"name": "Beratungstelefon",
                                                   "phone": "0355 1"},)
    assert [(e.organisation.name, e.service) for e in found.engagements] == [
        ("Nachbarschaftshilfe", "Lernpatenschaften")]
    assert [(t.legal_sphere, [n.key for n in t.organisations]) for t in found.lead_takers
            ] == [("SGB II", ["jobcenter", "mbe"])]
    assert found.coordination_office is not None
    assert found.coordination_office.key == "koordinierungsstelle"
    assert "Frau Intern" not in repr(found)
    # Elsewhere the Sachsendorf rule does not apply, and one stage can be asked for.
    mitte = responsibilities.handout("Mitte", "own_flat")
    assert [n.key for n in mitte.row("benefits", "own_flat").organisations] == ["jobcenter"]
    assert {r.housing_stage for r in mitte.rows} == {"own_flat"}
    with pytest.raises(DomainError):
        responsibilities.handout("Atlantis")


def test_a_changed_contact_is_no_longer_public(world: World) -> None:
    application = world.application
    psz = world.org("psz")
    contact = {"name": "Beratungstelefon", "phone": "0355 1"}
    application.directory.change_contacts(SYSTEM, psz, [contact])
    application.directory.choose_public_contacts(SYSTEM, psz, [contact_key(contact)])
    assert application.repository.get(psz).shown_contacts() == [contact]
    application.directory.change_contacts(SYSTEM, psz, [{**contact, "phone": "0355 2"}])
    assert application.repository.get(psz).shown_contacts() == []
    with pytest.raises(DomainError):
        application.directory.choose_public_contacts(SYSTEM, psz, [contact_key(contact)])
    with pytest.raises(DomainError):
        application.directory.change_contacts(SYSTEM, psz, [{"title": "ohne Namen"}])
