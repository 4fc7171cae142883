"""The directory in Open Referral HSDS 3.0: the demo directory exports schema-valid against
the standard's schemas, imports into an empty store and exports again identically; an
import reports what it refused and why, and stores nothing of a refused organisation."""

from __future__ import annotations

import copy
import filecmp
import json
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from domain.application import ReferralNetwork
from runtime.bootstrap import bootstrap
from domain.demo import load_demo
from domain.exchange.hsds import SCHEMAS, validate_export
from domain.settings import PROJECT_ROOT, Settings
from domain.stamp import Role, Stamp

SHARED = PROJECT_ROOT.parent / "shared" / "standards" / "hsds-3.0"


@pytest.fixture(scope="module")
def demo_export(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """The demo directory as HSDS (loading the demo once: it records about 40 cases)."""
    folder = tmp_path_factory.mktemp("demo")
    application = bootstrap(Settings(database_url=f"sqlite:///{folder / 'demo.sqlite3'}")).application
    load_demo(application, PROJECT_ROOT / "networks" / "cottbus" / "demo")
    assert len([o for o in application.organisations() if o.active]) > 20
    exported = application.exchange.export_hsds()
    application.close()
    return exported


@pytest.fixture
def exported(demo_export: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return copy.deepcopy(demo_export)


@pytest.fixture
def empty(tmp_path: Path) -> ReferralNetwork:
    application = bootstrap(Settings(database_url=f"sqlite:///{tmp_path / 'empty.sqlite3'}")).application
    yield application
    application.close()


def test_the_kept_schemas_are_the_standards_own() -> None:
    if not SHARED.exists():  # a clone outside the workplace has only our copy
        assert (SCHEMAS / "organization.json").exists()
        return
    names = sorted(p.name for p in SHARED.glob("*.json"))
    match, mismatch, errors = filecmp.cmpfiles(SHARED, SCHEMAS, names, shallow=False)
    assert (mismatch, errors) == ([], []) and len(match) == len(names) > 20


def test_the_demo_directory_round_trips_through_hsds(exported: list[dict[str, Any]],
                                                     empty: ReferralNetwork) -> None:
    assert validate_export(exported) == []
    services = [s for o in exported for s in o["services"]]
    assert services and all(s["attributes"] for s in services)

    report = empty.exchange.import_hsds(Stamp.system("import"), json.loads(json.dumps(exported)))
    assert report.refused == [] and len(report.registered) == len(exported)
    assert empty.exchange.export_hsds() == exported

    again = empty.exchange.import_hsds(Stamp.system("import"), exported)
    assert again.counts()["unchanged"] == len(exported), "importing twice changes nothing"


def test_an_import_reports_what_it_refused_and_stores_nothing_of_it(
        exported: list[dict[str, Any]], empty: ReferralNetwork) -> None:
    offer = copy.deepcopy(exported[:4])
    del offer[0]["id"]  # not HSDS
    offer[1]["email"] = "kein-postfach"  # no address
    with_services = next(o for o in offer[2:] if o["services"])
    unknown = next(a for a in with_services["services"][0]["attributes"]
                   if a["link_type"] == "need")
    unknown["taxonomy_term"]["code"] = "no-such-need"  # our vocabulary, but no need of ours
    offer.append(copy.deepcopy(offer[3]))
    offer[-1]["services"].append(copy.deepcopy(offer[-1]["services"][0]))  # a service twice
    before = empty.recorder.max_notification_id() or 0

    report = empty.exchange.import_hsds(Stamp.system("import"), offer).as_dict()

    outcomes = [(o["index"], o["outcome"]) for o in report["organisations"]]
    assert [i for i, outcome in outcomes if outcome == "refused"] == [0, 1, 4]
    first, second, fifth = (o for o in report["organisations"] if o["outcome"] == "refused")
    assert {"pointer": "#/0", "detail": "the required field 'id' is missing"} in \
        first["errors"]
    assert [e["pointer"] for e in second["errors"]] == ["#/1/email"]
    assert "appears twice" in fifth["errors"][0]["detail"]
    index = offer.index(with_services)
    pending = [s for s in report["organisations"][index]["services"]
               if s["outcome"] == "pending"]
    assert pending and pending[0]["missing"] == ["unknown need 'no-such-need'"]
    registered = sorted(o.key for o in empty.organisations())
    assert registered == sorted(o["key"] for o in report["organisations"]
                                if o["outcome"] == "registered"), \
        "refused organisations stored nothing"
    assert (empty.recorder.max_notification_id() or 0) > before


def test_the_api_exports_and_imports_hsds(app: Flask,
                                         exported: list[dict[str, Any]]) -> None:
    application = app.extensions["fallnetz.application"]
    application.exchange.import_hsds(Stamp.system("test"), exported)
    admin = application.organisation_by_key("stadt-it")
    issued = application.integrations.issue_api_token(Stamp.system("test"), admin.id,
                                                      "verzeichnis", Role.ADMIN,
                                                      ["directory:read", "directory:write"])
    headers = {"Authorization": f"Bearer {issued['token']}"}
    client = app.test_client()
    served = client.get("/api/v1/directory/hsds", headers=headers)
    assert served.status_code == 200 and served.json == exported
    report = client.post("/api/v1/directory/hsds", headers=headers, json=served.json)
    assert report.status_code == 200
    assert report.json["counts"]["unchanged"] == len(exported)
    assert report.json["counts"]["refused"] == 0
    broken = client.post("/api/v1/directory/hsds", headers=headers,
                         json=[{"name": "ohne alles"}])
    assert broken.json["organisations"][0]["errors"][0]["pointer"] == "#/0"
    not_json = client.post("/api/v1/directory/hsds", headers=headers, data="<xml/>",
                           content_type="application/xml")
    assert not_json.status_code == 400 and not_json.mimetype == "application/problem+json"
