"""A network's files are validated as a whole: a malformed file is rejected with a message
naming the file and the field, and nothing is loaded."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from domain.network import NetworkConfigError, load_network
from domain.settings import PROJECT_ROOT

COTTBUS = PROJECT_ROOT / "networks" / "cottbus"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    target = tmp_path / "network"
    shutil.copytree(COTTBUS, target)
    return target


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"fixture text {old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_the_demo_network_is_valid() -> None:
    network = load_network(COTTBUS)
    assert network.state == "BB"
    assert len(network.needs) == 14
    assert network.deadlines.duration("routine", "receive").working_days == 3
    assert network.deadlines.duration("crisis", "receive").hours == 4
    assert network.deadlines.duration("routine", "decide", lead_handoff=True).working_days == 5
    assert [level.recipients for level in network.deadlines.escalation][2] == (
        "coordination_office",)


@pytest.mark.parametrize(("file", "old", "new", "field", "words"), [
    ("deadlines.toml", "receive = { hours = 4 }", "receive = { hours = -4 }",
     "urgency.crisis.receive.hours", "greater than or equal to 0"),
    ("deadlines.toml", "receive = { hours = 4 }", "receive = { hours = 4, working_days = 1 }",
     "urgency.crisis.receive.hours", "either hours or working_days"),
    ("deadlines.toml", 'version = "cottbus-2026-1"', "", "version", "Missing data"),
    ("deadlines.toml", "[urgency.routine]", "[urgency.whenever]", "urgency.whenever",
     "Must be one of"),
    ("needs.toml", 'code = "legal"', 'code = "Legal Advice"', "need[12].code",
     "does not match"),
    ("needs.toml", 'code = "legal"', 'code = "family"', "need[12].code", "listed twice"),
    ("network.toml", 'state = "BB"', 'state = "Brandenburg"', "state", "Must be one of"),
    ("network.toml", 'slug = "cottbus"', 'slug = "cottbus"\ncolour = "blue"', "colour",
     "Unknown field"),
    ("responsibility.toml", 'need = "volunteer"', 'need = "volunteering"', "rule[16].need",
     "'volunteering' is not in needs.toml"),
    ("responsibility.toml", 'housing_stages = ["initial_reception", "shared_accommodation"]',
     'housing_stages = ["tent"]', "rule[5].housing_stages[0]", "Must be one of"),
    ("network.toml", 'permit_24 = "SGB II"', "", "legal_sphere_by_residence_status",
     "'permit_24'"),
    ("network.toml", '"Sachsendorf" = ["Spremberger Vorstadt", "Sandow"]',
     '"Sachsendorf" = ["Spremberger Vorstadt", "Atlantis"]', "neighbours.Sachsendorf.1",
     "'Atlantis' is not one of the districts"),
    ("network.toml", '"Sachsendorf" = ["Spremberger Vorstadt", "Sandow"]',
     '"Sachsendorf" = ["Sachsendorf"]', "neighbours.Sachsendorf.0", "not its own neighbour"),
    ("network.toml", '"Sachsendorf" = ["Spremberger Vorstadt", "Sandow"]',
     '"Madlow" = ["Sandow"]', "neighbours.Madlow", "'Madlow' is not one of the districts"),
])
def test_a_malformed_file_is_rejected_naming_file_and_field(
        folder: Path, file: str, old: str, new: str, field: str, words: str) -> None:
    edit(folder / file, old, new)
    with pytest.raises(NetworkConfigError) as error:
        load_network(folder)
    assert error.value.path.name == file
    assert error.value.field == field
    assert words in error.value.message
    assert str(error.value).startswith(f"{folder / file}: {field}: ")


def test_a_syntax_error_names_the_file(folder: Path) -> None:
    edit(folder / "needs.toml", "[[need]]", "[[need]")
    with pytest.raises(NetworkConfigError, match=r"needs\.toml: \(syntax\)"):
        load_network(folder)


def test_a_missing_file_is_named(folder: Path) -> None:
    (folder / "deadlines.toml").unlink()
    with pytest.raises(NetworkConfigError, match=r"deadlines\.toml: \(file\): .*missing"):
        load_network(folder)


def test_the_responsibility_map_names_receivers_most_specific_first() -> None:
    network = load_network(COTTBUS)
    assert network.responsible("benefits", "SGB II", "Sandow", "own_flat") == ["jobcenter"]
    assert network.responsible("benefits", "AsylbLG", "Sandow", "own_flat") == ["sozialamt"]
    assert network.responsible("housing.followup", "AsylbLG", "Mitte", "own_flat") == []
    assert network.lead_takers("SGB II", "Mitte") == [("jobcenter", "benefits"),
                                                      ("mbe", "benefits")]


def test_check_network_cli_reports_the_broken_field(folder: Path) -> None:
    from web import create_app
    from domain.settings import Settings

    edit(folder / "deadlines.toml", "level = 3", "level = 4")
    app = create_app(Settings(database_url="sqlite:///:memory:"),
                     config={"NUDGE_WORKERS": False})
    result = app.test_cli_runner().invoke(args=["check-network", str(folder)])
    assert result.exit_code != 0
    assert "deadlines.toml: escalation: Escalation levels must be numbered" in result.output
    assert str(folder / "deadlines.toml") in result.output, "the file is named in full"
