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

from domain.exchange.hsds import Unreadable, organisations_in
from domain.directory_import import seen_of
from domain.organisation import KEY
from domain.stamp import Role
from domain.vocabulary import SECTORS
from web.application import current_application
from web.auth import roles, viewer
from web.form_submission import submit
from domain.base import DomainError
from web.forms import MESSAGES, CommandForm, FormError, StrippedString, VersionedForm, \
    choice, flag, load_form, new_key, text
from web.i18n import translate
from web.incoming import UnreadableInput, hsds_document
from web.labels import need_label
from web.visible import organisation

bp = Blueprint("exchange", __name__)
KEEPERS = (Role.COORDINATOR, Role.ADMIN)
PUBLISHER = validate.Regexp(KEY, error=_l(
    "2–40 lower-case letters, digits or '-', e.g. landesverzeichnis."))


class ImportForm(CommandForm):
    publisher = StrippedString(required=True, validate=PUBLISHER, error_messages=MESSAGES)
    dry_run = flag()


def _needs() -> list[str]:
    return list(current_application().network.needs)


class MappingForm(CommandForm):
    """A change of one mapping entry, with what its user saw of that entry."""
    seen = text(max_length=64)


class TermForm(MappingForm):
    taxonomy = text(required=False, max_length=500)
    code = text(max_length=500)
    needs = fields.List(fields.String(), load_default=list)
    sector = fields.String(load_default=None, validate=validate.OneOf(
        SECTORS, error=_l("Please choose one of the options.")))
    means_nothing = flag()


class UnmapTermForm(MappingForm):
    taxonomy = text(required=False, max_length=500)
    code = text(max_length=500)


class AreaForm(MappingForm):
    area = text(required=False, max_length=500)
    districts = fields.List(fields.String(), load_default=list)
    whole_network = flag()


class UnmapAreaForm(MappingForm):
    area = text(required=False, max_length=500)


class SectorForm(MappingForm):
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
    imported = exchange.imported()
    pending = exchange.pending(imported)
    terms: Counter[tuple[str, str, str]] = Counter()
    areas: Counter[str] = Counter()
    for found in pending:
        for term in found.resolved.unmapped_terms:
            terms[(term["taxonomy"], term["code"], term["name"])] += 1
        for area in found.resolved.unmapped_areas:
            areas[area] += 1
    mapping = exchange.mapping()
    # The forms on the page, by the name a failed one comes back under.
    forms = {"import"} | {f"term:{code}" for _t, code, _n in terms} | {
        f"term:{t['code']}" for t in (mapping.terms.values() if mapping else [])} | {
        f"area:{area}" for area in [*areas, *(mapping.areas if mapping else [])]} | {
        f"sector:{p.record.source_id}" for p in pending}
    return render_template(
        "exchange/index.html", report=report, errors=errors or {}, values=values or {},
        failed=failed, elsewhere=failed is not None and failed not in forms, pending=pending,
        unmapped_terms=sorted(terms.items()),
        unmapped_areas=sorted(areas.items()),
        mapped_terms=sorted((mapping.terms.values() if mapping else []),
                            key=lambda t: (t["taxonomy"], t["code"])),
        mapped_areas=sorted((mapping.areas.items() if mapping else [])),
        seen=lambda kind, *names: seen_of(mapping, kind, *names),
        needs=[(code, need_label(network, code)) for code in _needs()],
        sectors=SECTORS, districts=[(d, d) for d in network.districts],
        imported=sorted(imported, key=lambda r: (r.publisher, r.offer["name"].casefold())),
        pending_ids={p.record.id for p in pending},
        registered={o.key for o in current_application().organisations()},
        new_key=new_key), status


@bp.get("/verzeichnis/austausch")
@roles(*KEEPERS)
def index() -> Any:
    return render_exchange()


@bp.post("/verzeichnis/austausch")
@roles(*KEEPERS)
def import_document() -> Any:
    upload = request.files.get("document")
    no_file = {"document": [_("Please choose a file.")]} if upload is None or \
        not upload.filename else {}
    try:
        data = load_form(ImportForm)
    except FormError as e:  # every missing piece at once
        return render_exchange(errors={**no_file, **e.errors}, values=e.values,
                               failed="import", status=422)

    def refused(*messages: str) -> Any:
        return render_exchange(errors={"document": list(messages)}, values=data,
                               failed="import", status=422)
    if upload is None or not upload.filename:
        return refused(_("Please choose a file."))
    content = upload.read()
    if upload.filename.lower().endswith(".zip") and not content.startswith(b"PK"):
        return refused(_("This file is named .zip but is no zip archive."))
    try:
        document = hsds_document(content)
        organisations = organisations_in(document)
    except UnreadableInput as e:
        return refused(str(e.description))
    except Unreadable as e:
        return refused(*[translate(x["detail"]) if x["pointer"] == "#" else
                         f"{x['pointer']}: {translate(x['detail'])}" for x in e.errors[:20]])
    if not organisations:
        return refused(_("The document holds no organisation."))
    report = current_application().exchange.import_hsds(
        viewer(), document, publisher=data["publisher"], dry_run=bool(data["dry_run"]))
    # The next step after a check is the import itself: the box starts unticked again.
    return render_exchange(report=report, values={**data, "dry_run": False})


def _remapped(result: dict[str, Any]) -> Any:
    made, ended = len(result["services"]), len(result["ended"])
    words = [_("The mapping is removed.") if request.endpoint in (
        "exchange.unmap_term", "exchange.unmap_area") else _("The mapping is saved.")]
    if made:
        words.append(ngettext("%(num)d service is a receiver now.",
                              "%(num)d services are receivers now.", made))
    if ended:
        words.append(ngettext("%(num)d service is no longer offered.",
                              "%(num)d services are no longer offered.", ended))
    if not made and not ended:
        words.append(_("No service changed whether it is offered."))
    flash(" ".join(words), "success")
    return redirect(url_for("exchange.index"))


@bp.post("/verzeichnis/austausch/begriff")
@roles(*KEEPERS)
def map_term() -> Any:
    def command(d: dict[str, Any]) -> Any:
        if any(n not in _needs() for n in d["needs"]):
            raise DomainError(_("Please choose from the options."), field="needs")
        if bool(d["needs"] or d["sector"]) == bool(d["means_nothing"]):
            raise DomainError(_("Please choose needs (or a sector), or that the term means "
                                "nothing here – one of the two."), field="needs")
        return current_application().exchange.map_term(
            viewer(), d["taxonomy"] or "", d["code"], d["needs"], d["sector"],
            seen=d["seen"], idempotency_key=d["idempotency_key"])
    return _mapping_form(TermForm, command, "term")


@bp.post("/verzeichnis/austausch/begriff/aufheben")
@roles(*KEEPERS)
def unmap_term() -> Any:
    return _mapping_form(UnmapTermForm, lambda d: current_application().exchange.unmap_term(
        viewer(), d["taxonomy"] or "", d["code"], seen=d["seen"],
        idempotency_key=d["idempotency_key"]), "term")


@bp.post("/verzeichnis/austausch/gebiet")
@roles(*KEEPERS)
def map_area() -> Any:
    def command(d: dict[str, Any]) -> Any:
        if bool(d["districts"]) == bool(d["whole_network"]):
            raise DomainError(_("Please choose districts, or the whole network."),
                              field="districts")
        return current_application().exchange.map_area(
            viewer(), d["area"] or "", [] if d["whole_network"] else d["districts"],
            seen=d["seen"], idempotency_key=d["idempotency_key"])
    return _mapping_form(AreaForm, command, "area")


@bp.post("/verzeichnis/austausch/gebiet/aufheben")
@roles(*KEEPERS)
def unmap_area() -> Any:
    return _mapping_form(UnmapAreaForm, lambda d: current_application().exchange.unmap_area(
        viewer(), d["area"] or "", seen=d["seen"],
        idempotency_key=d["idempotency_key"]), "area")


@bp.post("/verzeichnis/austausch/bereich")
@roles(*KEEPERS)
def choose_sector() -> Any:
    return _mapping_form(SectorForm, lambda d: current_application().exchange.choose_sector(
        viewer(), d["publisher"], d["source_id"], d["sector"],
        seen=d["seen"], idempotency_key=d["idempotency_key"]),
        "sector")


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
