"""The public HSDS 3.0 API: the organisations and services the network marks as public, at
the standard's paths, without sign-in; checked by Schemathesis against the standard's own
OpenAPI description (kept in domain/exchange/hsds_3_0, its schema references resolved to
the schemas kept beside it)."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import negative_data_rejection, status_code_conformance

from domain.stamp import Stamp
from testbed.hsds_documents import TAXONOMY, publisher_document
from testbed.world import World

MAX_EXAMPLES = 15
PLANTED_CONTACT = "Erika Mustermann-Geheim"


@pytest.fixture
def public_app(app: Flask) -> Flask:
    """The PSZ public with its service; an organisation imported from another publisher,
    with a named contact person and its inbox, public too; the Jobcenter not public."""
    application = app.extensions["fallnetz.application"]
    world = World.build(application)
    system = Stamp.system("test-setup")
    psz = application.organisation_by_key("psz")
    application.directory.set_publication(system, psz.id, ["beratung"])
    jobcenter = application.organisation_by_key("jobcenter")
    application.directory.set_publication(system, jobcenter.id, [])
    application.directory.set_publication(system, jobcenter.id, None)
    document = publisher_document()[1:2]  # the Wohnhilfe Süd
    document[0]["contacts"][0]["name"] = PLANTED_CONTACT
    application.exchange.map_term(system, TAXONOMY, "WOH-02", ["housing.search"], "housing",
                                  known_only=False)
    application.exchange.import_hsds(system, document, publisher="land")
    imported = next(o for o in application.organisations() if o.name == document[0]["name"])
    assert imported.contacts[0]["name"] == PLANTED_CONTACT
    application.directory.set_publication(system, imported.id, list(imported.services))
    world.open_case()
    app.config["PSZ"] = str(psz.id)
    app.config["JOBCENTER"] = str(jobcenter.id)
    app.config["IMPORTED"] = str(imported.id)
    return app


def test_the_public_directory_serves_only_what_is_public(public_app: Flask) -> None:
    client = public_app.test_client()
    about = client.get("/hsds/")
    assert about.status_code == 200 and about.json["version"] == "3.0"
    answer = client.get("/hsds/organizations?full_service=true")
    assert answer.headers["Access-Control-Allow-Origin"] == "*"
    organisations = answer.json
    assert [o["name"] for o in organisations["contents"]] == ["Psychosoziales Zentrum",
                                                              "Wohnhilfe Süd (fiktiv)"]
    assert organisations["total_items"] == 2 and organisations["first_page"]
    psz = organisations["contents"][0]
    [service] = psz["services"]
    assert service["name"] == "Psychosoziale Beratung"
    assert service["capacities"][0]["maximum"] == 25
    assert service["capacities"][0]["available"] == 25
    assert client.get(f"/hsds/organizations/{public_app.config['JOBCENTER']}"
                      ).status_code == 404
    assert client.get(f"/hsds/services/{service['id']}").json["name"] == service["name"]
    needs = [a["taxonomy_term"] for a in service["attributes"] if a["link_type"] == "need"]
    by_term = client.get(f"/hsds/services?taxonomy_term_id={needs[0]['id']}").json
    assert [s["id"] for s in by_term["contents"]] == [service["id"]]
    terms = client.get("/hsds/taxonomy_terms?per_page=500").json["contents"]
    assert needs[0]["id"] in {t["id"] for t in terms}
    page = client.get("/hsds/taxonomy_terms?per_page=2&page=2").json
    assert (page["page_number"], page["size"], page["first_page"]) == (2, 2, False)
    beyond = client.get("/hsds/organizations?page=9").json
    assert (beyond["contents"], beyond["empty"], beyond["last_page"]) == ([], True, True)
    stream = client.get("/hsds/services?format=ndjson")
    assert stream.mimetype == "application/x-ndjson" and stream.get_data(as_text=True).count(
        "\n") == 2
    everything = "".join(client.get(path).get_data(as_text=True) for path in (
        "/hsds/organizations?full=true", "/hsds/organizations?full_service=true",
        f"/hsds/organizations/{public_app.config['PSZ']}?full_service=true",
        f"/hsds/organizations/{public_app.config['IMPORTED']}?full_service=true",
        "/hsds/services", "/hsds/taxonomies", "/hsds/taxonomy_terms"))
    assert "kontakt@wohnhilfe-sued.example.org" in everything, "the inbox is public"
    for secret in (PLANTED_CONTACT, "Anmeldung", "Jobcenter", "Familie T.", "nadia", "Nadia",
                   "ulrike", "katrin"):
        assert secret not in everything
    assert client.get("/hsds/services?page=x").status_code == 400


@pytest.fixture
def hsds_schema(public_app: Flask):  # type: ignore[no-untyped-def]
    schema = schemathesis.openapi.from_wsgi("/hsds/openapi.json", public_app)
    schema.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
                                    max_examples=MAX_EXAMPLES, database="none")
    return schema


def _known_ids(app: Flask) -> dict[str, list[str]]:
    client = app.test_client()
    listed = {kind: [item["id"] for item in client.get(
        f"/hsds/{kind}?per_page=500").json["contents"]]
        for kind in ("organizations", "services", "taxonomies", "taxonomy_terms")}
    assert all(listed.values()), listed
    return listed


def test_schemathesis_finds_nothing_against_the_standards_description(
        hsds_schema: Any, public_app: Flask) -> None:
    """Every operation with generated parameters; a path's ``{id}`` is turned into one the
    list answers with (chosen by the generated value), so the full bodies are checked. The
    standard documents no answer for an id nobody has (404 is checked below), and this
    network has no service_at_location at all."""
    known = _known_ids(public_app)
    failures: dict[str, str] = {}
    operations = [result.ok() for result in hsds_schema.get_all_operations()]
    assert len(operations) == 11
    for operation in operations:
        kind = operation.path.strip("/").split("/")[0]
        @given(case=operation.as_strategy(generation_mode=GenerationMode.POSITIVE))
        @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        def check(case) -> None:  # type: ignore[no-untyped-def]
            excluded = []
            if case.path_parameters and kind in known:
                generated = str(case.path_parameters["id"])
                ids = known[kind]
                case.path_parameters = {"id": ids[sum(map(ord, generated)) % len(ids)]}
            elif case.path_parameters:
                excluded = [status_code_conformance]
            case.call_and_validate(excluded_checks=excluded)
        try:
            check()
        except (Exception, BaseExceptionGroup) as failure:  # reported together below
            failures[operation.label] = str(failure)[:2000]
    assert not failures, "\n\n".join(f"{k}:\n{v}" for k, v in failures.items())


def test_schemathesis_invalid_parameters_are_refused_without_a_server_error(
        hsds_schema: Any) -> None:
    """Generated invalid parameters (a page that is no number): refused with 400, never a
    5xx; the standard documents no error answers, so their status is not held to it."""
    failures: dict[str, str] = {}
    lists = [result.ok() for result in hsds_schema.get_all_operations()
             if "{" not in result.ok().path and result.ok().path != "/"]
    assert len(lists) == 5  # the others take no parameter a value could be wrong for
    for operation in lists:
        @given(case=operation.as_strategy(generation_mode=GenerationMode.NEGATIVE))
        @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        def check(case) -> None:  # type: ignore[no-untyped-def]
            case.call_and_validate(checks=[not_a_server_error, negative_data_rejection])
        try:
            check()
        except (Exception, BaseExceptionGroup) as failure:  # reported together below
            failures[operation.label] = str(failure)[:2000]
    assert not failures, "\n\n".join(f"{k}:\n{v}" for k, v in failures.items())


def test_an_id_nobody_has_is_not_found_in_json(public_app: Flask) -> None:
    client = public_app.test_client()
    for kind in ("organizations", "services", "taxonomies", "taxonomy_terms",
                 "service_at_locations"):
        answer = client.get(f"/hsds/{kind}/00000000-0000-4000-8000-000000000000")
        assert answer.status_code == 404 and answer.json == {"title": "Not found",
                                                             "status": 404}
