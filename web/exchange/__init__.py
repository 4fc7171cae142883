"""The coordinator's exchange with other directories: import a publisher's HSDS document
(JSON or a zipped data package) with a report per organisation and service, map what is
pending onto the network's needs, sectors and districts, and choose which organisations
the public HSDS API serves."""

from __future__ import annotations

from collections import Counter
from typing import Any
from uuid import UUID

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l, ngettext
from marshmallow import fields, validate

from domain.exchange.hsds import Unreadable
from domain.stamp import Role
from domain.vocabulary import SECTORS
from web.application import current_application
from web.auth import roles, viewer
from web.form_submission import submit
from domain.base import DomainError
from web.forms import MESSAGES, CommandForm, FormError, StrippedString, VersionedForm, \
    choice, flag, load_form, new_key, text
from web.i18n import translate
from web.incoming import LARGEST_HSDS_UPLOAD, UnreadableInput, hsds_document
from web.labels import need_label
from web.visible import organisation

bp = Blueprint("exchange", __name__)
KEEPERS = (Role.COORDINATOR, Role.ADMIN)
PUBLISHER = validate.Regexp(r"^[a-z0-9][a-z0-9-]{1,39}$", error=_l(
    "2–40 lower-case letters, digits or '-', e.g. landesverzeichnis."))


class ImportForm(CommandForm):
    publisher = StrippedString(required=True, validate=PUBLISHER, error_messages=MESSAGES)
    dry_run = flag()


def _needs() -> list[str]:
    return list(current_application().network.needs)


class TermForm(CommandForm):
    taxonomy = text(required=False, max_length=500)
    code = text(max_length=500)
    name = text(required=False, max_length=500)
    needs = fields.List(fields.String(), load_default=list)
    sector = fields.String(load_default=None, validate=validate.OneOf(
        SECTORS, error=_l("Please choose one of the options.")))


class AreaForm(CommandForm):
    area = text(max_length=500)
    districts = fields.List(fields.String(), load_default=list)
    whole_network = flag()


class SectorForm(CommandForm):
    publisher = text(max_length=40)
    source_id = text(max_length=500)
    sector = choice(SECTORS)


class PublicationForm(VersionedForm):
    public = flag()
    services = fields.List(fields.String(), load_default=list)


def render_exchange(report: Any = None, errors: dict[str, list[str]] | None = None,
                    values: dict[str, Any] | None = None, failed: str | None = None,
                    status: int = 200) -> Any:
    exchange = current_application().exchange
    network = current_application().network
    pending = exchange.pending()
    terms: Counter[tuple[str, str, str]] = Counter()
    areas: Counter[str] = Counter()
    for found in pending:
        for term in found.resolved.unmapped_terms:
            terms[(term["taxonomy"], term["code"], term["name"])] += 1
        for area in found.resolved.unmapped_areas:
            areas[area] += 1
    mapping = exchange.mapping()
    return render_template(
        "exchange/index.html", report=report, errors=errors or {}, values=values or {},
        failed=failed, pending=pending, unmapped_terms=sorted(terms.items()),
        unmapped_areas=sorted(areas.items()),
        mapped_terms=sorted((mapping.terms.values() if mapping else []),
                            key=lambda t: (t["taxonomy"], t["code"])),
        mapped_areas=sorted((mapping.areas.items() if mapping else [])),
        needs=[(code, need_label(network, code)) for code in _needs()],
        sectors=SECTORS, districts=[(d, d) for d in network.districts],
        imported=len(exchange.imported()), new_key=new_key), status


@bp.get("/verzeichnis/austausch")
@roles(*KEEPERS)
def index() -> Any:
    return render_exchange()


@bp.post("/verzeichnis/austausch")
@roles(*KEEPERS)
def import_document() -> Any:
    request.max_content_length = LARGEST_HSDS_UPLOAD
    upload = request.files.get("document")
    try:
        data = load_form(ImportForm)
    except FormError as e:
        return render_exchange(errors=e.errors, values=e.values, failed="import", status=422)
    if upload is None or not upload.filename:
        return render_exchange(errors={"document": [_("Please choose a file.")]},
                               values=data, failed="import", status=422)
    try:
        document = hsds_document(upload.read())
    except UnreadableInput as e:
        return render_exchange(errors={"document": [str(e.description)]}, values=data,
                               failed="import", status=422)
    except Unreadable as e:
        return render_exchange(errors={"document": [
            f"{x['pointer']}: {translate(x['detail'])}" for x in e.errors[:20]]},
            values=data, failed="import", status=422)
    report = current_application().exchange.import_hsds(
        viewer(), document, publisher=data["publisher"], dry_run=bool(data["dry_run"]))
    # The next step after a check is the import itself: the box starts unticked again.
    return render_exchange(report=report, values={**data, "dry_run": False})


def _remapped(result: dict[str, Any]) -> Any:
    made = len(result["services"])
    flash(_("The mapping is saved.") + " " + (
        ngettext("%(num)d service is a receiver now.", "%(num)d services are receivers now.",
                 made) if made else
        _("No further service became a receiver.")), "success")
    return redirect(url_for("exchange.index"))


@bp.post("/verzeichnis/austausch/begriff")
@roles(*KEEPERS)
def map_term() -> Any:
    def command(d: dict[str, Any]) -> Any:
        unknown = [n for n in d["needs"] if n not in _needs()]
        if unknown:
            raise DomainError(_("Please choose from the options."), field="needs")
        return current_application().exchange.map_term(
            viewer(), d["taxonomy"] or "", d["code"], d["name"] or d["code"], d["needs"],
            d["sector"], idempotency_key=d["idempotency_key"])
    return _mapping_form(TermForm, command, "term")


@bp.post("/verzeichnis/austausch/gebiet")
@roles(*KEEPERS)
def map_area() -> Any:
    def command(d: dict[str, Any]) -> Any:
        if bool(d["districts"]) == bool(d["whole_network"]):
            raise DomainError(_("Please choose districts, or the whole network."),
                              field="districts")
        return current_application().exchange.map_area(
            viewer(), d["area"], [] if d["whole_network"] else d["districts"],
            idempotency_key=d["idempotency_key"])
    return _mapping_form(AreaForm, command, "area")


@bp.post("/verzeichnis/austausch/bereich")
@roles(*KEEPERS)
def choose_sector() -> Any:
    return _mapping_form(SectorForm, lambda d: current_application().exchange.choose_sector(
        viewer(), d["publisher"], d["source_id"], d["sector"],
        idempotency_key=d["idempotency_key"]), "sector")


def _mapping_form(form: Any, command: Any, kind: str) -> Any:
    def rerender(errors: dict[str, list[str]], values: dict[str, Any], status: int) -> Any:
        which = values.get("code") or values.get("area") or values.get("source_id") or ""
        return render_exchange(errors=errors, values=values, failed=f"{kind}:{which}",
                               status=status)
    return submit(form, command, rerender=rerender, success=_remapped)


@bp.post("/verzeichnis/<uuid:organisation_id>/oeffentlich")
@roles(*KEEPERS)
def publish(organisation_id: UUID) -> Any:
    """Which of its services the public HSDS API serves (none: not public)."""
    from web.directory import render_directory

    target = organisation(organisation_id)

    def command(d: dict[str, Any]) -> Any:
        return current_application().directory.set_publication(
            viewer(), organisation_id, d["services"] if d["public"] else None,
            expected_version=d["expected_version"], idempotency_key=d["idempotency_key"])

    def rerender(errors: dict[str, list[str]], values: dict[str, Any], status: int) -> Any:
        return render_directory(f"{organisation_id}:public", errors, values, status)

    def done(_result: Any) -> Any:
        flash(_("What the public directory shows of %(name)s is saved.", name=target.name),
              "success")
        return redirect(url_for("directory.index", _anchor=f"o-{organisation_id}"))
    return submit(PublicationForm, command, rerender=rerender, success=done)
