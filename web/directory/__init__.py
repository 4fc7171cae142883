"""The network's directory (services, capacities, current load) and, for the coordination
office, the escalated referrals: metadata only, never case content (DESIGN §8)."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID
from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from domain import access
from domain.stamp import Role
from web.auth import allowed_by, roles, viewer
from web.form_submission import submit
from web.application import current_application
from web.forms import VersionedForm, integer, new_key, text
from web.reads import background_runs, lists_freshness, organisation_names, read_store
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
    if keeps:  # capacities as recorded now, with the version the form will expect
        current = {str(o.id): o for o in current_application().organisations()}
        versions = {oid: o.version for oid, o in current.items()}
        for oid, listed in by_organisation.items():
            for service in listed:
                recorded = current[oid].services.get(service["service_id"])
                if recorded is not None:
                    service["capacity"] = recorded["capacity"]
    return render_template("directory/index.html", organisations=organisations,
                           services=by_organisation, keeps=keeps, versions=versions,
                           failed=failed, errors=errors or {}, values=values or {},
                           new_key=new_key, freshness=lists_freshness(),
                           background=_operators_view()), status


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


@bp.get("/koordination/eskalationen")
@allowed_by(access.sees_escalation_metadata)
def escalations() -> Any:
    """Escalated referrals network-wide: who, what need, which stage and level, since when;
    no names, reasons or other content."""
    return render_template("directory/escalations.html",
                           rows=queries.escalated_referrals(read_store()),
                           names=organisation_names(), freshness=lists_freshness(),
                           background=_operators_view())


def _operators_view() -> list[Any] | None:
    """The background jobs' last runs, for the coordination office and the admins."""
    if viewer().role in (Role.COORDINATOR, Role.ADMIN):
        return background_runs()
    return None
