"""The network's directory (services, capacities, current load) and, for the coordination
office, the escalated referrals: metadata only, never case content (DESIGN §8)."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from marshmallow import ValidationError, fields, validate, validates_schema
from domain import access
from domain.routing import offers_need_or_group
from domain.stamp import Role
from web.auth import allowed_by, roles, viewer
from web.form_submission import submit
from web.application import current_application
from web.forms import FormSchema, VersionedForm, field_messages, integer, new_key, text
from web.labels import need_label
from web.reports.charts import load_bar
from web.reports.query import needs_and_groups
from web.reads import (
    background_runs, lists_freshness, organisation_names, read_store, rebuild_progress)
from web.visible import organisation
from readmodel import queries

bp = Blueprint("directory", __name__)


class CapacityForm(VersionedForm):
    service_id = text(max_length=80)
    capacity = integer(minimum=0, maximum=100000)


def render_directory(failed: str | None = None, errors: dict[str, list[str]] | None = None,
                     values: dict[str, Any] | None = None, status: int = 200) -> Any:
    organisations = queries.organisations(read_store())
    services = queries.service_load(read_store())
    by_organisation: dict[str, list[dict[str, Any]]] = {}
    for service in services:
        service["needs"] = json.loads(service["needs"])
        by_organisation.setdefault(service["organisation_id"], []).append(service)
    versions = {}
    keeps = access.keeps_directory(viewer())
    # Contacts and the districts each service covers, as the directory records them now.
    current = {str(o.id): o for o in current_application().organisations()}
    contacts = {oid: o.contacts for oid, o in current.items()}
    districts = {(oid, sid): s.get("districts") or []
                 for oid, o in current.items() for sid, s in o.services.items()}
    if keeps:  # capacities as recorded now, with the version the form will expect
        versions = {oid: o.version for oid, o in current.items()}
        for oid, listed in by_organisation.items():
            for service in listed:
                recorded = current[oid].services.get(service["service_id"])
                if recorded is not None:
                    service["capacity"] = recorded["capacity"]
    overview, choice, choice_errors = _overview(organisations, services)
    if any(choice["given"].get(k) for k in ("bedarf", "stadtteil", "frei")):
        # The filter shortens the organisations' sections below too.
        shown = {row["organisation_id"] for row in overview}
        organisations = [o for o in organisations if o["organisation_id"] in shown]
    network = current_application().network
    return render_template("directory/index.html", organisations=organisations,
                           services=by_organisation, keeps=keeps, versions=versions,
                           contacts=contacts, service_districts=districts, current=current,
                           service_choices={oid: [(k, s["name"]) for k, s in
                                                  sorted(o.offered_services().items())]
                                            for oid, o in current.items()},
                           failed=failed, errors=errors or {}, values=values or {},
                           new_key=new_key, freshness=lists_freshness(),
                           background=_operators_view(), overview=overview, choice=choice,
                           choice_errors=choice_errors,
                           districts=[(d, d) for d in network.districts],
                           needs=[(code, need_label(network, code))
                                  for code in needs_and_groups()],
                           orders=[(key, label) for key, label in ORDERS.items()],
                           load_bar=load_bar), status if not choice_errors else 422


# How the overview of services can be sorted (the query's "sortierung").
ORDERS = {"name": _l("by organisation"), "frei": _l("most free places first"),
          "auslastung": _l("fullest first")}


class OverviewQuery(FormSchema):
    """The directory overview's filter, from the query string."""

    bedarf = fields.String(load_default=None)
    stadtteil = fields.String(load_default=None)
    frei = fields.Boolean(load_default=False, truthy={"1", "ja", "on"}, falsy={"0", ""})
    sortierung = fields.String(load_default="name", validate=validate.OneOf(
        list(ORDERS), error=_l("Please choose one of the options.")))

    @validates_schema
    def _known(self, data: dict[str, Any], **_kwargs: Any) -> None:
        network = current_application().network
        if data.get("stadtteil") and data["stadtteil"] not in network.districts:
            raise ValidationError(_l("Please choose one of the districts."), "stadtteil")
        if data.get("bedarf") and data["bedarf"] not in needs_and_groups():
            raise ValidationError(_l("Please choose one of the needs."), "bedarf")


def _overview(organisations: list[dict[str, Any]], services: list[dict[str, Any]]
              ) -> tuple[list[dict[str, Any]], dict[str, Any], dict[str, list[str]]]:
    """Every active service with its load, filtered and sorted as the query asks."""
    given = {k: v for k, v in request.args.items()
             if k in ("bedarf", "stadtteil", "frei", "sortierung") and v.strip()}
    errors: dict[str, list[str]] = {}
    try:
        choice = OverviewQuery().load(given)
    except ValidationError as e:
        errors = field_messages(e)
        choice = OverviewQuery().load({})
    active = {o["organisation_id"]: o for o in organisations if o["active"]}
    rows = []
    for s in services:
        organisation = active.get(s["organisation_id"])
        districts = json.loads(s["districts"])
        if organisation is None:
            continue
        if choice["bedarf"] and not offers_need_or_group(s, choice["bedarf"]):
            continue
        if choice["stadtteil"] and districts and choice["stadtteil"] not in districts:
            continue
        capacity, taken = s["capacity"], int(s["active_referrals"])
        free = max(0, capacity - taken) if capacity is not None else None
        if choice["frei"] and not free:
            continue
        rows.append({**s, "organisation": organisation["name"], "districts": districts,
                     "free": free, "load": taken / capacity if capacity else None})
    order = choice["sortierung"]
    if order == "frei":
        rows.sort(key=lambda r: (-(r["free"] or 0), r["organisation"], r["name"]))
    elif order == "auslastung":
        rows.sort(key=lambda r: (-(r["load"] or 0), r["organisation"], r["name"]))
    else:
        rows.sort(key=lambda r: (r["organisation"], r["name"]))
    return rows, {**choice, "given": given}, errors


@bp.get("/verzeichnis")
@allowed_by(access.sees_directory)
def index() -> Any:
    return render_directory()


@bp.post("/verzeichnis/<uuid:organisation_id>/kapazitaet")
@roles(Role.COORDINATOR, Role.ADMIN)
def change_capacity(organisation_id: UUID) -> Any:
    target = organisation(organisation_id)

    def command(d: dict[str, Any]) -> Any:
        return current_application().directory.change_capacity(
            viewer(), organisation_id, d["service_id"], d["capacity"],
            expected_version=d["expected_version"], idempotency_key=d["idempotency_key"])

    def rerender(errors: dict[str, list[str]], values: dict[str, Any], status: int) -> Any:
        return render_directory(f"{organisation_id}:{values.get('service_id')}", errors,
                                values, status)

    def done(_result: Any) -> Any:
        flash(_("The capacity of %(name)s is changed.", name=target.name), "success")
        return redirect(url_for("directory.index", _anchor=f"o-{organisation_id}"))
    return submit(CapacityForm, command, rerender=rerender, success=done)


class DeactivateForm(VersionedForm):
    reason = text(max_length=500)


@bp.post("/verzeichnis/<uuid:organisation_id>/deaktivieren")
@roles(Role.COORDINATOR, Role.ADMIN)
def deactivate(organisation_id: UUID) -> Any:
    """Out of the directory: offered as a receiver no more, its staff cannot act for it."""
    return _lifecycle(organisation_id, DeactivateForm, lambda d: current_application()
                      .directory.deactivate_organisation(
                          viewer(), organisation_id, d["reason"],
                          expected_version=d["expected_version"],
                          idempotency_key=d["idempotency_key"]),
                      _("%(name)s is deactivated."))


@bp.post("/verzeichnis/<uuid:organisation_id>/reaktivieren")
@roles(Role.COORDINATOR, Role.ADMIN)
def reactivate(organisation_id: UUID) -> Any:
    return _lifecycle(organisation_id, VersionedForm, lambda d: current_application()
                      .directory.reactivate_organisation(
                          viewer(), organisation_id, expected_version=d["expected_version"],
                          idempotency_key=d["idempotency_key"]),
                      _("%(name)s is active again."))


def _lifecycle(organisation_id: UUID, form: Any, command: Any, message: str) -> Any:
    target = organisation(organisation_id)

    def rerender(errors: dict[str, list[str]], values: dict[str, Any], status: int) -> Any:
        return render_directory(f"{organisation_id}:lifecycle", errors, values, status)

    def done(_result: Any) -> Any:
        flash(message % {"name": target.name}, "success")
        return redirect(url_for("directory.index", _anchor=f"o-{organisation_id}"))
    return submit(form, command, rerender=rerender, success=done)


@bp.get("/koordination/eskalationen")
@allowed_by(access.sees_escalation_metadata)
def escalations() -> Any:
    """Escalated referrals network-wide: who, what need, which stage and level, since when;
    no names, reasons or other content."""
    return render_template("directory/escalations.html",
                           rows=queries.escalated_referrals(read_store()),
                           names=organisation_names(), freshness=lists_freshness(),
                           background=_operators_view())


def _operators_view() -> tuple[list[Any], Any] | None:
    """The background jobs' last runs and the last rebuild of the views, for the
    coordination office and the admins."""
    if viewer().role in (Role.COORDINATOR, Role.ADMIN):
        return background_runs(), rebuild_progress()
    return None
