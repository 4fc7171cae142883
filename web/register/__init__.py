"""The needs register for the coordination office (DESIGN §11): conferences and working
groups with the needs raised there, need groups with their status and the care-gap figures
beside them, agreements that land in the organisations' inboxes, the report for politics
and each forum's documentation pack. Agreements are also seen and marked done by the
organisation that took them on."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import format_date, gettext as _

from domain import access
from domain.agreement import Agreement
from domain.base import DomainError
from domain.register import Forum, NeedGroup, NeedRef, RESOLVED
from readmodel import register as views
from web.application import current_application
from web.auth import allowed_by, login_required, viewer
from web.form_submission import submit
from web.forms import new_key
from web.labels import SECTOR, label, need_label
from web.reads import lists_freshness, organisation_names, read_store
from web.register import figures, packs, politics as for_politics
from web.register.statuses import AGREEMENT_STATUS, FORUM_KIND, GROUP_STATUS, \
    agreement_state
from web.register.forms import (
    AgreementForm, AgreementNoteForm, ConveneForm, DescribeGroupForm, FollowUpForm,
    GroupingForm, RenameForm,
    GroupStatusForm, NeedCorrectionForm, NeedForm, NeedWithdrawalForm, ParticipantsForm,
    PoliticsForm, RescheduleForm)
from web.reports.query import needs_and_groups

bp = Blueprint("register", __name__)



@bp.app_context_processor
def register_labels() -> dict[str, Any]:
    return {"group_status": lambda code: label(GROUP_STATUS, code),
            "agreement_status": lambda code: label(AGREEMENT_STATUS, code),
            "agreement_state": agreement_state,
            "forum_kind": lambda code: label(FORUM_KIND, code)}


def _choices() -> dict[str, Any]:
    network = current_application().network
    names = organisation_names()
    return {"organisation_options": sorted(names.items(), key=lambda kv: kv[1].lower()),
            "district_options": [(d, d) for d in network.districts],
            "sector_options": [(s, label(SECTOR, s)) for s in
                               ("social_work", "health", "housing", "employment",
                                "education", "administration", "civil_society")],
            "need_options": [(c, need_label(network, c)) for c in needs_and_groups()],
            "names": names, "new_key": new_key, "today": current_application().today()}


def _form_errors(errors: dict[str, list[str]] | None, form: str | None,
                 values: dict[str, Any] | None) -> dict[str, Any]:
    return {"form_name": form, "form_errors": errors or {}, "form_values": values or {}}


# == the register ===================================================================
@bp.get("/netzwerk/bedarfsregister")
@allowed_by(access.keeps_register)
def index(errors: dict[str, list[str]] | None = None, form: str | None = None,
          values: dict[str, Any] | None = None, status: int = 200) -> Any:
    store = read_store()
    district = request.args.get("stadtteil") or None
    network = current_application().network
    if district not in network.districts:
        district = None
    every_group = views.groups(store)  # read once: the district's shown, all offered
    groups = [g for g in every_group
              if district is None or district in views.group_districts(g)]
    ungrouped = [n for n in views.needs(store, districts=[district] if district else None)
                 if n.group_id is None]
    today = current_application().today()
    gaps = figures.gap_figures(store, network, today)
    return render_template(
        "register/index.html", district=district, groups=groups,
        ungrouped=[(n.ref, n.text, f"{n.district}, {format_date(n.raised_on, 'dd.MM.yyyy')}",
                    None) for n in ungrouped],
        open_groups=[(g.group_id, g.title) for g in every_group if g.status != RESOLVED],
        forums=[f for f in views.forums(store)
                if district is None or f["district"] in (None, district)],
        due_again=[g for g in groups if g.due_again(today)],
        gaps={g.group_id: figures.for_group(gaps, g) for g in groups},
        freshness=lists_freshness(), **_choices(), **_form_errors(errors, form, values)), \
        status


@bp.post("/netzwerk/gremien")
@allowed_by(access.keeps_register)
def convene() -> Any:
    def command(d: dict[str, Any]) -> Any:
        return current_application().register.convene(
            viewer(), d["kind"], d["name"], d["participants"], district=d["district"],
            held_on=d["held_on"], lead_organisation_id=d["lead_organisation_id"],
            idempotency_key=d["idempotency_key"])

    def done(result: Any) -> Any:
        flash(_("The forum is recorded. Record its needs and agreements here."), "success")
        return redirect(url_for("register.forum", forum_id=result["forum_id"]))
    return submit(ConveneForm, command, success=done,
                  rerender=lambda e, v, s: index(e, "convene", v, s))


# == a forum ========================================================================
def _forum_or_404(forum_id: UUID) -> Forum:
    found = current_application().find(Forum, forum_id)
    if found is None:
        abort(404)
    return found


@bp.get("/netzwerk/gremien/<uuid:forum_id>")
@allowed_by(access.keeps_register)
def forum(forum_id: UUID, errors: dict[str, list[str]] | None = None, form: str | None = None,
          values: dict[str, Any] | None = None, status: int = 200) -> Any:
    found = _forum_or_404(forum_id)
    store = read_store()
    row = views.forum(store, str(forum_id))
    # A conference follows up the earlier ones of its district; a working group, its own.
    follow_up = views.agreements(store, forum_ids=views.earlier_forums(store, row)) \
        if row else []
    groups = {g.group_id: g for g in views.groups(store)}
    choices = _choices()
    taking_part = {str(o) for o in found.participants}
    # Those who took part first: the cards and agreements are mostly theirs.
    choices["participant_options"] = sorted(
        choices["organisation_options"], key=lambda kv: (kv[0] not in taking_part,
                                                         kv[1].lower()))
    return render_template(
        "register/forum.html", forum=found, forum_id=forum_id,
        needs=found.current_needs(), groups=groups,
        open_groups=[(g.group_id, g.title) for g in groups.values() if g.status != RESOLVED],
        agreements=views.agreements(store, forum_id=str(forum_id)),
        follow_up=follow_up,
        freshness=lists_freshness(), **choices, **_form_errors(errors, form, values)), \
        status


@bp.post("/netzwerk/gremien/<uuid:forum_id>/name")
@allowed_by(access.keeps_register)
def rename_forum(forum_id: UUID) -> Any:
    _forum_or_404(forum_id)

    def command(d: dict[str, Any]) -> Any:
        return current_application().register.rename_forum(
            viewer(), forum_id, d["name"], d["held_on"],
            expected_version=d["expected_version"], idempotency_key=d["idempotency_key"])

    def done(_result: Any) -> Any:
        flash(_("The name and day are saved."), "success")
        return redirect(url_for("register.forum", forum_id=forum_id))
    return submit(RenameForm, command, success=done,
                  rerender=lambda e, v, s: forum(forum_id, e, "rename", v, s))


@bp.post("/netzwerk/gremien/<uuid:forum_id>/teilnehmende")
@allowed_by(access.keeps_register)
def change_participants(forum_id: UUID) -> Any:
    _forum_or_404(forum_id)

    def command(d: dict[str, Any]) -> Any:
        return current_application().register.change_participants(
            viewer(), forum_id, d["participants"], expected_version=d["expected_version"],
            idempotency_key=d["idempotency_key"])

    def done(_result: Any) -> Any:
        flash(_("The participants are recorded."), "success")
        return redirect(url_for("register.forum", forum_id=forum_id))
    return submit(ParticipantsForm, command, success=done,
                  rerender=lambda e, v, s: forum(forum_id, e, "participants", v, s))


@bp.post("/netzwerk/gremien/<uuid:forum_id>/bedarfe")
@allowed_by(access.keeps_register)
def raise_need(forum_id: UUID) -> Any:
    _forum_or_404(forum_id)

    def command(d: dict[str, Any]) -> Any:
        return current_application().register.raise_need(
            viewer(), forum_id, d["text"], d["sector"], d["raised_by"],
            district=d["district"], raised_on=d["raised_on"],
            idempotency_key=d["idempotency_key"])

    def done(result: Any) -> Any:
        flash(_("Need %(number)s is recorded.", number=result["number"]), "success")
        return redirect(url_for("register.forum", forum_id=forum_id))
    return submit(NeedForm, command, success=done,
                  rerender=lambda e, v, s: forum(forum_id, e, "need", v, s))


@bp.get("/netzwerk/gremien/<uuid:forum_id>/bedarfe/<int:number>")
@allowed_by(access.keeps_register)
def need(forum_id: UUID, number: int, errors: dict[str, list[str]] | None = None,
         form: str | None = None, values: dict[str, Any] | None = None,
         status: int = 200) -> Any:
    found = _forum_or_404(forum_id)
    if number not in dict(found.current_needs()):
        abort(404)
    card = found.needs[number]
    shown = values or {"text": card["text"], "sector": card["sector"],
                       "district": card["district"]}
    return render_template("register/need.html", forum=found, forum_id=forum_id,
                           number=number, card=card, **_choices(),
                           **_form_errors(errors, form, shown if form != "withdraw"
                                          else values)), status


@bp.post("/netzwerk/gremien/<uuid:forum_id>/bedarfe/<int:number>")
@allowed_by(access.keeps_register)
def correct_need(forum_id: UUID, number: int) -> Any:
    _forum_or_404(forum_id)

    def command(d: dict[str, Any]) -> Any:
        return current_application().register.correct_need(
            viewer(), forum_id, number, d["text"], d["sector"], district=d["district"],
            expected_version=d["expected_version"], idempotency_key=d["idempotency_key"])

    def done(_result: Any) -> Any:
        flash(_("Need %(number)s is corrected.", number=number), "success")
        return redirect(url_for("register.forum", forum_id=forum_id))
    return submit(NeedCorrectionForm, command, success=done,
                  rerender=lambda e, v, s: need(forum_id, number, e, "correct", v, s))


@bp.post("/netzwerk/gremien/<uuid:forum_id>/bedarfe/<int:number>/zurueckziehen")
@allowed_by(access.keeps_register)
def withdraw_need(forum_id: UUID, number: int) -> Any:
    _forum_or_404(forum_id)

    def command(d: dict[str, Any]) -> Any:
        return current_application().register.withdraw_need(
            viewer(), forum_id, number, d["reason"], expected_version=d["expected_version"],
            idempotency_key=d["idempotency_key"])

    def done(_result: Any) -> Any:
        flash(_("Need %(number)s is withdrawn from the register.", number=number),
              "success")
        return redirect(url_for("register.forum", forum_id=forum_id))
    return submit(NeedWithdrawalForm, command, success=done,
                  rerender=lambda e, v, s: need(forum_id, number, e, "withdraw", v, s))


# == need groups ====================================================================
@bp.post("/netzwerk/bedarfsgruppen")
@allowed_by(access.keeps_register)
def group_needs() -> Any:
    """The chosen needs into a new group or an existing one (or out of every group)."""
    def command(d: dict[str, Any]) -> Any:
        register = current_application().register
        if d["action"] == "new":
            if not d["title"]:
                raise DomainError(_("A title is required for a new group."), field="title")
            return register.form_group(
                viewer(), d["title"], _refs(d["needs"]), district=d["district"],
                need=d["need"], idempotency_key=d["idempotency_key"])
        if not d["group"]:
            raise DomainError(_("Please choose the group."), field="group")
        target = None if d["group"] == "none" else _uuid_or_error(d["group"])
        return register.regroup(viewer(), _refs(d["needs"]), target,
                                idempotency_key=d["idempotency_key"])

    def done(result: Any) -> Any:
        if "group_id" in result:
            flash(_("The need group is formed."), "success")
        elif request.form.get("group") == "none":
            flash(_("The needs are taken out of their group."), "success")
        else:
            flash(_("The needs are assigned."), "success")
        origin = request.form.get("from_forum")
        try:
            return redirect(url_for("register.forum", forum_id=UUID(origin or "")))
        except ValueError:
            return redirect(url_for("register.index"))

    def refused(errors: dict[str, list[str]], values: dict[str, Any], status: int) -> Any:
        try:
            return forum(UUID(request.form.get("from_forum") or ""), errors, "grouping",
                         values, status)
        except ValueError:
            return index(errors, "grouping", values, status)
    return submit(GroupingForm, command, success=done, rerender=refused)


def _refs(values: list[str]) -> list[NeedRef]:
    return [NeedRef.parse(v) for v in values]


def _uuid_or_error(value: str) -> UUID:
    try:
        return UUID(value)
    except ValueError:
        raise DomainError(_("Please choose one of the options."), field="group") from None


@bp.get("/netzwerk/bedarfsgruppen/<uuid:group_id>")
@allowed_by(access.keeps_register)
def group(group_id: UUID, errors: dict[str, list[str]] | None = None,
          form: str | None = None, values: dict[str, Any] | None = None,
          status: int = 200) -> Any:
    application = current_application()
    aggregate = application.find(NeedGroup, group_id)
    if aggregate is None:
        abort(404)
    store = read_store()
    row = views.group(store, str(group_id))
    gaps = figures.gap_figures(store, application.network, application.today())
    history = figures.history(application, group_id)
    return render_template(
        "register/group.html", group=aggregate, group_id=group_id, row=row,
        gaps=figures.for_group(gaps, row) if row else None, history=history,
        forums={f["forum_id"]: f for f in views.forums(store)},
        freshness=lists_freshness(), **_choices(), **_form_errors(errors, form, values)), \
        status


@bp.post("/netzwerk/bedarfsgruppen/<uuid:group_id>/beschreibung")
@allowed_by(access.keeps_register)
def describe_group(group_id: UUID) -> Any:
    def command(d: dict[str, Any]) -> Any:
        return current_application().register.describe_group(
            viewer(), group_id, d["title"], d["district"], d["need"],
            expected_version=d["expected_version"], idempotency_key=d["idempotency_key"])

    def done(_result: Any) -> Any:
        flash(_("The need group's description is saved."), "success")
        return redirect(url_for("register.group", group_id=group_id))
    return submit(DescribeGroupForm, command, success=done,
                  rerender=lambda e, v, s: group(group_id, e, "describe", v, s))


@bp.post("/netzwerk/bedarfsgruppen/<uuid:group_id>/status")
@allowed_by(access.keeps_register)
def change_group_status(group_id: UUID) -> Any:
    def command(d: dict[str, Any]) -> Any:
        service = current_application().register
        change = service.resolve if d["change"] == "resolve" else service.reopen
        return change(viewer(), group_id, d["note"], expected_version=d["expected_version"],
                      idempotency_key=d["idempotency_key"])

    def done(result: Any) -> Any:
        flash(_("The need group is %(status)s.", status=label(GROUP_STATUS, result["status"])),
              "success")
        return redirect(url_for("register.group", group_id=group_id))
    return submit(GroupStatusForm, command, success=done,
                  rerender=lambda e, v, s: group(group_id, e, "status", v, s))


# == agreements =====================================================================
@bp.post("/netzwerk/gremien/<uuid:forum_id>/verabredungen")
@allowed_by(access.keeps_register)
def make_agreement(forum_id: UUID) -> Any:
    _forum_or_404(forum_id)

    def command(d: dict[str, Any]) -> Any:
        return current_application().register.make_agreement(
            viewer(), forum_id, d["organisation_id"], d["what"], d["due_on"],
            group_id=d["group_id"], idempotency_key=d["idempotency_key"])

    def done(_result: Any) -> Any:
        flash(_("The agreement is recorded; it is in the organisation's inbox now."),
              "success")
        return redirect(url_for("register.forum", forum_id=forum_id))
    return submit(AgreementForm, command, success=done,
                  rerender=lambda e, v, s: forum(forum_id, e, "agreement", v, s))


def _agreement_or_404(agreement_id: UUID) -> Agreement:
    found = current_application().find(Agreement, agreement_id)
    if found is None or not access.sees_agreement(viewer(), found):
        abort(404)
    return found


@bp.get("/verabredungen/<uuid:agreement_id>")
@login_required
def agreement(agreement_id: UUID, errors: dict[str, list[str]] | None = None,
              form: str | None = None, values: dict[str, Any] | None = None,
              status: int = 200) -> Any:
    found = _agreement_or_404(agreement_id)
    application = current_application()
    names = organisation_names()
    return render_template(
        "register/agreement.html", agreement=found, agreement_id=agreement_id,
        forum=application.find(Forum, found.forum_id),
        group=application.find(NeedGroup, found.group_id) if found.group_id else None,
        names=names, keeps_register=access.keeps_register(viewer()),
        history=figures.history(application, agreement_id),
        missed=found.missed(application.clock()), new_key=new_key,
        **_form_errors(errors, form, values)), status


@bp.post("/verabredungen/<uuid:agreement_id>/erledigt")
@login_required
def mark_done(agreement_id: UUID) -> Any:
    _agreement_or_404(agreement_id)

    def command(d: dict[str, Any]) -> Any:
        return current_application().register.mark_done(
            viewer(), agreement_id, d["note"], expected_version=d["expected_version"],
            idempotency_key=d["idempotency_key"])

    def done(_result: Any) -> Any:
        flash(_("The agreement is marked done."), "success")
        return redirect(url_for("register.agreement", agreement_id=agreement_id))
    return submit(AgreementNoteForm, command, success=done,
                  rerender=lambda e, v, s: agreement(agreement_id, e, "done", v, s))


@bp.post("/verabredungen/<uuid:agreement_id>/verschieben")
@allowed_by(access.keeps_register)
def reschedule_agreement(agreement_id: UUID) -> Any:
    _agreement_or_404(agreement_id)

    def command(d: dict[str, Any]) -> Any:
        return current_application().register.reschedule_agreement(
            viewer(), agreement_id, d["due_on"], d["reason"],
            expected_version=d["expected_version"], idempotency_key=d["idempotency_key"])

    def done(_result: Any) -> Any:
        flash(_("The agreement is due on another day now."), "success")
        return redirect(url_for("register.agreement", agreement_id=agreement_id))
    return submit(RescheduleForm, command, success=done,
                  rerender=lambda e, v, s: agreement(agreement_id, e, "reschedule", v, s))


@bp.post("/verabredungen/<uuid:agreement_id>/zurueckziehen")
@allowed_by(access.keeps_register)
def withdraw_agreement(agreement_id: UUID) -> Any:
    _agreement_or_404(agreement_id)

    def command(d: dict[str, Any]) -> Any:
        return current_application().register.withdraw_agreement(
            viewer(), agreement_id, d["note"], expected_version=d["expected_version"],
            idempotency_key=d["idempotency_key"])

    def done(_result: Any) -> Any:
        flash(_("The agreement is withdrawn."), "success")
        return redirect(url_for("register.agreement", agreement_id=agreement_id))
    return submit(AgreementNoteForm, command, success=done,
                  rerender=lambda e, v, s: agreement(agreement_id, e, "withdraw", v, s))


@bp.post("/verabredungen/<uuid:agreement_id>/nachverfolgung")
@allowed_by(access.keeps_register)
def follow_up(agreement_id: UUID) -> Any:
    _agreement_or_404(agreement_id)

    def command(d: dict[str, Any]) -> Any:
        return current_application().register.follow_up(
            viewer(), agreement_id, d["forum_id"], d["note"],
            idempotency_key=d["idempotency_key"])

    def done(_result: Any) -> Any:
        flash(_("The follow-up is recorded."), "success")
        return redirect(url_for("register.forum", forum_id=request.form["forum_id"]))

    def refused(errors: dict[str, list[str]], values: dict[str, Any], status: int) -> Any:
        try:
            return forum(UUID(request.form.get("forum_id", "")), errors, "follow_up", values,
                         status)
        except ValueError:
            abort(404)
    return submit(FollowUpForm, command, success=done, rerender=refused)


# == politics ========================================================================
@bp.get("/netzwerk/politik")
@allowed_by(access.keeps_register)
def politics(errors: dict[str, list[str]] | None = None, values: dict[str, Any] | None = None,
             status: int = 200) -> Any:
    chosen = _chosen_districts()
    report = for_politics.politics_report(chosen)
    return render_template(
        "register/politics.html", report=report, chosen=chosen,
        reportable=for_politics.reportable_groups(report),
        reportable_titles={g.group_id: g.title for part in report for g, _f in part.groups},
        sent=views.reports(read_store()), freshness=lists_freshness(), **_choices(),
        **_form_errors(errors, "politics", values or {
            "sent_on": current_application().today().isoformat()})), \
        status


@bp.get("/netzwerk/politik.csv")
@allowed_by(access.keeps_register)
def politics_csv() -> Any:
    return for_politics.politics_csv(_chosen_districts())


@bp.get("/netzwerk/politik.pdf")
@allowed_by(access.keeps_register)
def politics_pdf() -> Any:
    return for_politics.politics_pdf(_chosen_districts())


def _chosen_districts() -> list[str]:
    """The districts of the report: the query's, or, when a sending was refused, those of
    the report the form was sent from (never all of them by surprise)."""
    given = request.form.getlist("districts") if request.method == "POST" \
        else request.args.getlist("stadtteil")
    return for_politics.chosen_districts(given)


@bp.post("/netzwerk/politik/gesendet")
@allowed_by(access.keeps_register)
def record_sending() -> Any:
    def command(d: dict[str, Any]) -> Any:
        return current_application().register.report_to_politics(
            viewer(), d["recipient"], d["sent_on"], d["districts"], d["groups"],
            idempotency_key=d["idempotency_key"])

    def done(result: Any) -> Any:
        flash(_("Recorded: %(count)s need groups reported.", count=result["groups"]),
              "success")
        return redirect(url_for("register.politics", stadtteil=request.form.getlist(
            "districts")))
    return submit(PoliticsForm, command, success=done,
                  rerender=lambda e, v, s: politics(e, v, s))


# == the documentation pack ==========================================================
@bp.get("/netzwerk/gremien/<uuid:forum_id>/dokumentation")
@allowed_by(access.keeps_register)
def pack(forum_id: UUID) -> Any:
    found = _forum_or_404(forum_id)
    made = packs.pack(found, forum_id)
    return render_template("register/pack.html", pack=made, forum=found, forum_id=forum_id,
                           map_header=packs.map_header(),
                           ungrouped_and_sectors=packs.ungrouped_and_sectors(made))


@bp.get("/netzwerk/gremien/<uuid:forum_id>/dokumentation.pdf")
@allowed_by(access.keeps_register)
def pack_pdf(forum_id: UUID) -> Any:
    found = _forum_or_404(forum_id)
    return packs.pack_pdf(packs.pack(found, forum_id))
