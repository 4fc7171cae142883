"""The responsibility map in the web (DESIGN §7, §11): the coordination office (and the
admins, who kept its file before) changes who is responsible for which need, by legal
sphere, district and housing stage, who takes over the lead at a change of the legal
sphere, and what the people can do themselves; each change an event with who and when,
in force from the next referral on. The map goes out and comes in as the network's TOML
file. The Organigramm draws it per district and housing stage for all staff; the contacts
the coordinator marks public appear on the public page (:mod:`web.public`)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import click
from flask import Blueprint, Response, abort, flash, redirect, render_template, request, \
    url_for
from flask_babel import gettext as _, lazy_gettext as _l
from marshmallow import fields

from domain import access
from domain.base import DomainError
from domain.organisation import contact_key
from domain.responsibilities import MapFileError, content_of
from domain.vocabulary import HOUSING_STAGES, LEGAL_SPHERES
from web.application import current_application
from web.auth import allowed_by, viewer
from web.form_submission import submit
from web.forms import FormError, VersionedForm, choice, choices, load_form, new_key, text
from web.forms import text as a_text  # the self-help form has a field named "text"
from web.i18n import language, translate
from web.labels import SECTOR, label, need_label
from web.responsibilities.history import contact_history, map_history
from web.responsibilities.words import chart, directory_by_key, districts_words, \
    named_text, organigramm_choice, organisation_words, self_help_in_language, \
    spheres_words, stage_heading, stage_name, stages_words
from web.visible import organisation as visible_organisation

bp = Blueprint("responsibilities", __name__)
NOTHING_CHANGED = _l("Nothing was changed: the map says so already.")


class RuleForm(VersionedForm):
    rule_id = text(required=False, max_length=20)  # none: a new rule
    need = text(max_length=60)
    legal_spheres = choices(LEGAL_SPHERES, required=False)
    districts = fields.List(fields.String(), load_default=list)
    housing_stages = choices(HOUSING_STAGES, required=False)
    organisations = fields.List(fields.String(), load_default=list)


class LeadRuleForm(VersionedForm):
    rule_id = text(required=False, max_length=20)
    legal_sphere = choice(LEGAL_SPHERES)
    need = text(max_length=60)
    districts = fields.List(fields.String(), load_default=list)
    organisations = fields.List(fields.String(), load_default=list)


class RemoveForm(VersionedForm):
    rule_id = text(max_length=20)


class SelfHelpForm(VersionedForm):
    need = text(max_length=60)
    housing_stage = choice(HOUSING_STAGES)
    text = a_text(required=False, max_length=1000)
    text_en = a_text(required=False, max_length=1000)


class PublicContactsForm(VersionedForm):
    contacts = fields.List(fields.String(), load_default=list)


# -- the page of the map ---------------------------------------------------------------------
def render_map(errors: dict[str, list[str]] | None = None, values: dict[str, Any] | None = None,
               status: int = 200) -> Any:
    """The map's page; ``errors`` of the file's upload, the only form on it that can fail
    (the others are on their own pages)."""
    application = current_application()
    responsibilities = application.responsibilities
    content = responsibilities.content()
    current = responsibilities.current()
    directory = directory_by_key()
    order = {code: index for index, code in enumerate(application.network.needs)}

    def rows(table: dict[str, dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
        return sorted(table.items(), key=lambda item: order.get(item[1]["need"], 99))
    rules = rows(current.rules) if current else rows(
        {f"r{i}": r for i, r in enumerate(content.rules, start=1)})
    leads = rows(current.lead_rules) if current else rows(
        {f"l{i}": r for i, r in enumerate(content.lead_rules, start=len(content.rules) + 1)})
    last = map_history()[0] if current is not None else None
    # A new version of the network's file put on the server after the map was started
    # here counts only once imported: the coordination office is told.
    in_file = content_of(application.network)
    file_differs = current is not None and in_file.version not in (
        current.started_from, current.source_version)
    return render_template(
        "responsibilities/index.html", content=content, current=current, last=last,
        file_differs=file_differs, file_version=in_file.version,
        rules=rules, leads=leads,
        self_help=sorted(content.self_help, key=lambda s: (
            order.get(s["need"], 99), HOUSING_STAGES.index(s["housing_stage"]))),
        version=responsibilities.version(), directory=directory,
        organisation_words=organisation_words, spheres_words=spheres_words,
        districts_words=districts_words, stages_words=stages_words, stage_name=stage_name,
        errors=errors or {}, values=values or {}, new_key=new_key), status


@bp.get("/zustaendigkeiten")
@allowed_by(access.keeps_directory)
def index() -> Any:
    return render_map()


@bp.get("/zustaendigkeiten/verlauf")
@allowed_by(access.keeps_directory)
def history() -> Any:
    return render_template("responsibilities/history.html", changes=map_history(),
                           contact_changes=contact_history())


# -- a rule ----------------------------------------------------------------------------------
def _organisation_options() -> list[tuple[str, str]]:
    """Active organisations by sector, then name: "Jobcenter Cottbus – Arbeit"."""
    active = [o for o in current_application().organisations() if o.active]
    active.sort(key=lambda o: (label(SECTOR, o.sector), o.name.casefold()))
    return [(o.key, f"{o.name} – {label(SECTOR, o.sector)}") for o in active]


def _needs() -> list[tuple[str, str]]:
    network = current_application().network
    return [(code, need_label(network, code)) for code in network.needs]


def render_rule(kind: str, errors: dict[str, list[str]], values: dict[str, Any],
                status: int) -> Any:
    network = current_application().network
    values = _after_conflict(values, status)
    return render_template(
        "responsibilities/rule.html", kind=kind, errors=errors, values=values,
        needs=_needs(), spheres=[(s, s) for s in LEGAL_SPHERES],
        districts=[(d, d) for d in network.districts],
        stages=[(s, stage_name(s)) for s in HOUSING_STAGES],
        organisations=_organisation_options(),
        version=values.get("expected_version", current_application().responsibilities.version()),
        ), status


def _rule_values(kind: str) -> dict[str, Any]:
    """The form's values: the rule asked for (``?regel=r3``), or a new one's."""
    responsibilities = current_application().responsibilities
    current = responsibilities.current()
    rule_id = request.args.get("regel", "").strip()
    values: dict[str, Any] = {"idempotency_key": new_key(),
                              "expected_version": responsibilities.version()}
    if not rule_id:
        if request.args.get("bedarf") in current_application().network.needs:
            values["need"] = request.args["bedarf"]
        return values
    table = (current.rules if kind == "rule" else current.lead_rules) if current else None
    if table is None:  # the file's map: the rules get their ids with the first change
        content = responsibilities.content()
        listed = content.rules if kind == "rule" else content.lead_rules
        first = 1 if kind == "rule" else len(content.rules) + 1
        table = {f"{'r' if kind == 'rule' else 'l'}{i}": r
                 for i, r in enumerate(listed, start=first)}
    if rule_id not in table:
        abort(404)
    return {**values, **table[rule_id], "rule_id": rule_id}


@bp.get("/zustaendigkeiten/regel")
@allowed_by(access.keeps_directory)
def rule() -> Any:
    return render_rule("rule", {}, _rule_values("rule"), 200)


@bp.get("/zustaendigkeiten/ueberleitung")
@allowed_by(access.keeps_directory)
def lead_rule() -> Any:
    return render_rule("lead", {}, _rule_values("lead"), 200)


def _saved(result: dict[str, Any], done: str) -> Response:
    if result.get("changed"):
        flash(done, "success")
    else:
        flash(str(NOTHING_CHANGED), "info")
    return redirect(url_for("responsibilities.index"))


def _rule_id_of(values: dict[str, Any]) -> str | None:
    """Rules of the file's map have no ids until the first change; a form about one of
    them names it as the file's position, which the first change keeps."""
    return values.get("rule_id") or None


@bp.post("/zustaendigkeiten/regel")
@allowed_by(access.keeps_directory)
def save_rule() -> Any:
    def command(d: dict[str, Any]) -> Any:
        rule = {k: d[k] for k in ("need", "legal_spheres", "districts", "housing_stages",
                                  "organisations")}
        service = current_application().responsibilities
        if _rule_id_of(d):
            return service.change_rule(viewer(), d["rule_id"], rule,
                                       expected_version=d["expected_version"],
                                       idempotency_key=d["idempotency_key"])
        return service.add_rule(viewer(), rule, expected_version=d["expected_version"],
                                idempotency_key=d["idempotency_key"])
    return submit(RuleForm, command,
                  rerender=lambda e, v, s: render_rule("rule", e, v, s),
                  success=lambda r: _saved(r, _("The rule is saved; the suggestions follow "
                                                "it from the next referral on.")))


@bp.post("/zustaendigkeiten/ueberleitung")
@allowed_by(access.keeps_directory)
def save_lead_rule() -> Any:
    def command(d: dict[str, Any]) -> Any:
        lead = {k: d[k] for k in ("legal_sphere", "need", "districts", "organisations")}
        service = current_application().responsibilities
        if _rule_id_of(d):
            return service.change_lead_rule(viewer(), d["rule_id"], lead,
                                            expected_version=d["expected_version"],
                                            idempotency_key=d["idempotency_key"])
        return service.add_lead_rule(viewer(), lead, expected_version=d["expected_version"],
                                     idempotency_key=d["idempotency_key"])
    return submit(LeadRuleForm, command,
                  rerender=lambda e, v, s: render_rule("lead", e, v, s),
                  success=lambda r: _saved(r, _("The lead rule is saved; it applies from the "
                                                "next change of a legal sphere on.")))


def _remove(kind: str) -> Any:
    def command(d: dict[str, Any]) -> Any:
        service = current_application().responsibilities
        remove = service.remove_rule if kind == "rule" else service.remove_lead_rule
        return remove(viewer(), d["rule_id"], expected_version=d["expected_version"],
                      idempotency_key=d["idempotency_key"])

    def rerender(errors: dict[str, list[str]], values: dict[str, Any], status: int) -> Any:
        return render_map({"_form": [m for messages in errors.values() for m in messages]},
                          values, status)
    return submit(RemoveForm, command, rerender=rerender,
                  success=lambda r: _saved(r, _("The rule is removed.")))


@bp.post("/zustaendigkeiten/regel/entfernen")
@allowed_by(access.keeps_directory)
def remove_rule() -> Any:
    return _remove("rule")


@bp.post("/zustaendigkeiten/ueberleitung/entfernen")
@allowed_by(access.keeps_directory)
def remove_lead_rule() -> Any:
    return _remove("lead")


# -- what the people can do themselves -------------------------------------------------------
def _after_conflict(values: dict[str, Any], status: int) -> dict[str, Any]:
    """After "changed meanwhile" the form keeps what the user entered and carries the map's
    version now, so that saving it again, having looked, applies it (as the case pages do)
    instead of conflicting forever."""
    if status != 409:
        return values
    return {**values, "expected_version": current_application().responsibilities.version(),
            "idempotency_key": new_key()}


def render_self_help(errors: dict[str, list[str]], values: dict[str, Any], status: int) -> Any:
    values = _after_conflict(values, status)
    return render_template("responsibilities/self_help.html", errors=errors, values=values,
                           needs=_needs(), stages=[(s, stage_name(s)) for s in HOUSING_STAGES]
                           ), status


@bp.get("/zustaendigkeiten/selbsthilfe")
@allowed_by(access.keeps_directory)
def self_help() -> Any:
    responsibilities = current_application().responsibilities
    values: dict[str, Any] = {"idempotency_key": new_key(),
                              "expected_version": responsibilities.version()}
    need, stage = request.args.get("bedarf"), request.args.get("wohnform")
    if need in current_application().network.needs:
        values["need"] = need
    if stage in HOUSING_STAGES:
        values["housing_stage"] = stage
        written = next((s for s in responsibilities.content().self_help
                        if (s["need"], s["housing_stage"]) == (need, stage)), None)
        if written:
            values.update(text=written["text"], text_en=written["text_en"], written=True)
    return render_self_help({}, values, 200)


@bp.post("/zustaendigkeiten/selbsthilfe")
@allowed_by(access.keeps_directory)
def save_self_help() -> Any:
    def command(d: dict[str, Any]) -> Any:
        return current_application().responsibilities.write_self_help(
            viewer(), d["need"], d["housing_stage"], d["text"] or "", d["text_en"] or "",
            expected_version=d["expected_version"], idempotency_key=d["idempotency_key"])
    return submit(SelfHelpForm, command, rerender=render_self_help,
                  success=lambda r: _saved(r, _("What the people can do themselves is saved.")))


# -- the file --------------------------------------------------------------------------------
@bp.get("/zustaendigkeiten/datei")
@allowed_by(access.keeps_directory)
def download() -> Any:
    """The map in force as ``responsibility.toml``: to keep, to edit, to import again."""
    response = Response(current_application().responsibilities.export_toml(),
                        mimetype="application/toml")
    response.headers["Content-Disposition"] = 'attachment; filename="responsibility.toml"'
    return response


@bp.post("/zustaendigkeiten/datei")
@allowed_by(access.keeps_directory)
def upload() -> Any:
    """A whole map from a file in one transaction; a file with any problem stores nothing
    and each problem is named with its place in the file."""
    upload = request.files.get("document")
    try:
        data = load_form(VersionedForm)
    except FormError as e:
        return render_map(e.errors, e.values, 422)
    if upload is None or not upload.filename:
        return render_map({"document": [_("Please choose a file.")]}, data, 422)
    content = upload.read()

    def command(_d: dict[str, Any]) -> Any:
        return current_application().responsibilities.import_map(
            viewer(), content, expected_version=data["expected_version"],
            idempotency_key=data["idempotency_key"])
    try:
        return submit(VersionedForm, command, rerender=render_map,
                      success=lambda r: _saved(r, _("The file is imported; the map is the "
                                                    "file's from the next referral on.")))
    except MapFileError as e:
        problems = [f"{where}: {translate(message)}" for where, message in e.problems[:30]]
        if len(e.problems) > 30:
            problems.append(_("and %(num)d more", num=len(e.problems) - 30))
        return render_map({"document": problems}, data, 422)


# -- the contacts the public page shows ------------------------------------------------------
def render_contacts(failed: str | None = None, errors: dict[str, list[str]] | None = None,
                    status: int = 200) -> Any:
    organisations = current_application().responsibilities.public_contact_organisations()
    return render_template("responsibilities/contacts.html", organisations=organisations,
                           contact_key=contact_key, failed=failed, errors=errors or {},
                           new_key=new_key), status


@bp.get("/zustaendigkeiten/kontakte")
@allowed_by(access.keeps_directory)
def contacts() -> Any:
    return render_contacts()


@bp.post("/zustaendigkeiten/kontakte/<uuid:organisation_id>")
@allowed_by(access.keeps_directory)
def choose_contacts(organisation_id: UUID) -> Any:
    target = visible_organisation(organisation_id)

    def command(d: dict[str, Any]) -> Any:
        return current_application().directory.choose_public_contacts(
            viewer(), organisation_id, d["contacts"], expected_version=d["expected_version"],
            idempotency_key=d["idempotency_key"])

    def rerender(errors: dict[str, list[str]], _values: dict[str, Any], status: int) -> Any:
        return render_contacts(str(organisation_id), errors, status)

    def done(_result: Any) -> Any:
        flash(_("The public contacts of %(name)s are saved.", name=target.name), "success")
        return redirect(url_for("responsibilities.contacts", _anchor=f"o-{organisation_id}"))
    return submit(PublicContactsForm, command, rerender=rerender, success=done)


# -- the Organigramm, for the network's staff ------------------------------------------------
def organigramm_context(public: bool) -> tuple[dict[str, Any], int]:
    """What the Organigramm pages show, for the district and housing stage asked for."""
    application = current_application()
    choice, errors = organigramm_choice()
    found = application.responsibilities.handout(choice["stadtteil"], choice["wohnform"])
    network = application.network
    reading = language()
    return {"found": found, "choice": choice, "errors": errors,
            "chart": chart(found, reading), "self_help_text": self_help_in_language(reading),
            "named_text": named_text, "stage_name": stage_name, "stage_heading": stage_heading,
            "need_name": lambda code: need_label(network, code),
            "districts": [(d, d) for d in network.districts],
            "stages": [(s, stage_name(s)) for s in HOUSING_STAGES],
            "public": public}, 422 if errors else 200


@bp.get("/organigramm")
@allowed_by(access.sees_directory)
def organigramm() -> Any:
    context, status = organigramm_context(public=False)
    current = current_application().responsibilities.current()
    last = map_history()[0] if current is not None and access.keeps_directory(viewer()) \
        else None
    return render_template("responsibilities/organigramm.html", last=last, current=current,
                           keeps=access.keeps_directory(viewer()), **context), status


# -- the operators' commands: flask --app web responsibilities export|import FILE -----------
@bp.cli.command("export")
@click.argument("file", type=click.File("w", encoding="utf-8"))
def export_command(file: Any) -> None:
    """Write the map in force as responsibility.toml (- for standard output)."""
    file.write(current_application().responsibilities.export_toml())


@bp.cli.command("import")
@click.argument("file", type=click.File("rb"))
def import_command(file: Any) -> None:
    """Replace the map with a file's (the format of responsibility.toml), all of it or, on
    any problem, nothing; the same map again records nothing."""
    from domain.stamp import Stamp

    application = current_application()
    try:
        result = application.responsibilities.import_map(
            Stamp.system("cli:responsibilities-import"), file.read())
    except MapFileError as e:
        raise click.ClickException("nothing was imported:\n" + "\n".join(
            f"  {where}: {message}" for where, message in e.problems)) from None
    except DomainError as e:
        raise click.ClickException(f"{e.message} Nothing was imported.") from None
    content = application.responsibilities.content()
    if not result["changed"]:
        click.echo("The map says so already: nothing was recorded.")
        return
    click.echo(f"Imported version {content.version}: {len(content.rules)} rules, "
               f"{len(content.lead_rules)} lead rules, {len(content.self_help)} texts of "
               f"what people can do themselves; in force from the next referral on.")
