"""The coordination office's needs register: forums (conferences and working groups), the
needs raised there, their grouping and status, agreements and the reports to politics
(:mod:`domain.register`, :mod:`domain.agreement`)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any
from uuid import UUID, uuid4

from domain.agreement import Agreement, agreement_deadline
from domain.base import ConflictError, DomainError
from domain.deadlines import calendar_for
from domain.messages import _, in_language
from domain.notification import AGREEMENT_MISSED, Notification
from domain.organisation import Organisation
from domain.register import (
    CONFERENCE, Forum, NeedGroup, NeedRef, PoliticsReport, RESOLVED)
from domain.services.base import Service, arguments
from domain.stamp import CASEWORK, Role, Stamp

log = logging.getLogger(__name__)

MAIL_LANGUAGE = "de"
KEEPERS = (Role.COORDINATOR,)


class RegisterService(Service):
    # -- forums -------------------------------------------------------------------------------
    def convene(self, by: Stamp, kind: str, name: str, participants: list[UUID], *,
                district: str | None = None, held_on: date | None = None,
                lead_organisation_id: UUID | None = None,
                idempotency_key: str | None = None) -> dict[str, Any]:
        """Records a district conference (district, day) or a working group (lead
        organisation; a district only when it works for one)."""
        if district:
            self.application.check_district(district)
        if kind == CONFERENCE:
            lead_organisation_id = None

        def decide() -> Any:
            self.application.verify(by, KEEPERS)
            self._organisations([*participants, *(
                [lead_organisation_id] if lead_organisation_id else [])], "participants")
            forum = Forum.convene(uuid4(), kind, name, district or None, held_on,
                                  lead_organisation_id, participants, by=by)
            return [forum], {"forum_id": forum.id, "version": forum.version}
        return self.application.execute("convene_forum", by, decide,
                                        idempotency_key=idempotency_key,
                                        arguments=arguments(locals()))

    def rename_forum(self, by: Stamp, forum_id: UUID, name: str, held_on: date | None,
                     expected_version: int | None = None,
                     idempotency_key: str | None = None) -> dict[str, Any]:
        def decide() -> Any:
            self.application.verify(by, KEEPERS)
            forum = self.application.load(Forum, forum_id, expected_version)
            forum.rename(name, held_on, by=by)
            return [forum], {"forum_id": forum.id, "version": forum.version}
        return self.application.execute("rename_forum", by, decide,
                                        idempotency_key=idempotency_key,
                                        arguments=arguments(locals()))

    def change_participants(self, by: Stamp, forum_id: UUID, participants: list[UUID],
                            expected_version: int | None = None,
                            idempotency_key: str | None = None) -> dict[str, Any]:
        def decide() -> Any:
            self.application.verify(by, KEEPERS)
            forum = self.application.load(Forum, forum_id)
            if expected_version is not None and forum.version != expected_version:
                # Needs recorded or grouped meanwhile leave the participants as they were;
                # only a change of them (or a need raised by someone new) conflicts.
                changed = self.application.repository.event_store.get(
                    forum.id, gt=expected_version)
                if any(isinstance(e, (Forum.ParticipantsChanged, Forum.NeedRaised))
                       for e in changed):
                    self.application.load(Forum, forum_id, expected_version)
            self._organisations(participants, "participants")
            forum.change_participants(participants, by=by)
            return [forum], {"forum_id": forum.id, "version": forum.version}
        return self.application.execute("change_participants", by, decide,
                                        idempotency_key=idempotency_key,
                                        arguments=arguments(locals()))

    def raise_need(self, by: Stamp, forum_id: UUID, text: str, sector: str,
                   raised_by: list[UUID], *, district: str | None = None,
                   raised_on: date | None = None,
                   idempotency_key: str | None = None) -> dict[str, Any]:
        """A need card of the forum; its district is the conference's unless named."""
        def decide() -> Any:
            self.application.verify(by, KEEPERS)
            forum = self.application.load(Forum, forum_id)
            where = district or forum.district
            if not where:
                raise DomainError(_("{what} is required.", what=_("The district")),
                                  field="district")
            self.application.check_district(where)
            self._organisations(raised_by, "raised_by")
            day = raised_on or forum.held_on or self.application.today()
            if day > self.application.today():
                raise DomainError(_("The day lies in the future."), field="raised_on")
            number = forum.raise_need(text, where, sector, raised_by, day, by=by)
            return [forum], {"forum_id": forum.id, "number": number,
                             "version": forum.version}
        return self.application.execute("raise_need", by, decide,
                                        idempotency_key=idempotency_key,
                                        arguments=arguments(locals()))

    def correct_need(self, by: Stamp, forum_id: UUID, number: int, text: str, sector: str,
                     district: str | None = None, expected_version: int | None = None,
                     idempotency_key: str | None = None) -> dict[str, Any]:
        def decide() -> Any:
            self.application.verify(by, KEEPERS)
            forum = self.application.load(Forum, forum_id, expected_version)
            where = district or forum.need(number)["district"]
            self.application.check_district(where)
            forum.correct_need(number, text, sector, where, by=by)
            return [forum], {"forum_id": forum.id, "number": number,
                             "version": forum.version}
        return self.application.execute("correct_need", by, decide,
                                        idempotency_key=idempotency_key,
                                        arguments=arguments(locals()))

    def withdraw_need(self, by: Stamp, forum_id: UUID, number: int, reason: str,
                      expected_version: int | None = None,
                      idempotency_key: str | None = None) -> dict[str, Any]:
        def decide() -> Any:
            self.application.verify(by, KEEPERS)
            forum = self.application.load(Forum, forum_id, expected_version)
            forum.withdraw_need(number, reason, by=by)
            return [forum], {"forum_id": forum.id, "number": number,
                             "version": forum.version}
        return self.application.execute("withdraw_need", by, decide,
                                        idempotency_key=idempotency_key,
                                        arguments=arguments(locals()))

    # -- need groups --------------------------------------------------------------------------
    def form_group(self, by: Stamp, title: str, needs: list[NeedRef], *,
                   district: str | None = None, need: str | None = None,
                   idempotency_key: str | None = None) -> dict[str, Any]:
        """A new group of the chosen needs (taken out of any group they were in)."""
        self._check_need_or_group(need)
        if district:
            self.application.check_district(district)

        def decide() -> Any:
            self.application.verify(by, KEEPERS)
            if not needs:
                raise DomainError(_("Choose at least one need for the group."),
                                  field="needs")
            group = NeedGroup.form(uuid4(), title, district or None, need or None, by=by)
            forums = self._group(needs, group.id, by)
            return [group, *forums], {"group_id": group.id, "version": group.version}
        return self.application.execute("form_group", by, decide,
                                        idempotency_key=idempotency_key,
                                        arguments=arguments(locals()))

    def regroup(self, by: Stamp, needs: list[NeedRef], group_id: UUID | None,
                idempotency_key: str | None = None) -> dict[str, Any]:
        """Moves the needs into the group (None: out of every group)."""
        def decide() -> Any:
            self.application.verify(by, KEEPERS)
            if not needs:
                raise DomainError(_("Choose at least one need."), field="needs")
            changed: list[Any] = []
            if group_id is not None:
                group = self.application.load(NeedGroup, group_id, what="object")
                group.require_open_for_needs()
            changed += self._group(needs, group_id, by)
            return changed, {"moved": len(needs)}
        return self.application.execute("regroup_needs", by, decide,
                                        idempotency_key=idempotency_key,
                                        arguments=arguments(locals()))

    def _group(self, needs: Iterable[NeedRef], group_id: UUID | None,
               by: Stamp) -> list[Forum]:
        by_forum: dict[UUID, list[int]] = {}
        for ref in needs:
            by_forum.setdefault(ref.forum_id, []).append(ref.number)
        forums = []
        for forum_id, numbers in by_forum.items():
            forum = self.application.find(Forum, forum_id)
            if forum is None:
                raise DomainError(_("No such need."), field="needs")
            forum.group_needs(numbers, group_id, by=by)
            forums.append(forum)
        return forums

    def describe_group(self, by: Stamp, group_id: UUID, title: str, district: str | None,
                       need: str | None, expected_version: int | None = None,
                       idempotency_key: str | None = None) -> dict[str, Any]:
        self._check_need_or_group(need)
        if district:
            self.application.check_district(district)

        def decide() -> Any:
            self.application.verify(by, KEEPERS)
            group = self.application.load(NeedGroup, group_id, expected_version)
            group.describe(title, district or None, need or None, by=by)
            return [group], {"group_id": group.id, "version": group.version}
        return self.application.execute("describe_group", by, decide,
                                        idempotency_key=idempotency_key,
                                        arguments=arguments(locals()))

    def resolve(self, by: Stamp, group_id: UUID, note: str,
                expected_version: int | None = None,
                idempotency_key: str | None = None) -> dict[str, Any]:
        return self._group_status(by, group_id, "resolve", note, expected_version,
                                  idempotency_key)

    def reopen(self, by: Stamp, group_id: UUID, note: str,
               expected_version: int | None = None,
               idempotency_key: str | None = None) -> dict[str, Any]:
        return self._group_status(by, group_id, "reopen", note, expected_version,
                                  idempotency_key)

    def _group_status(self, by: Stamp, group_id: UUID, change: str, note: str,
                      expected_version: int | None,
                      idempotency_key: str | None) -> dict[str, Any]:
        def decide() -> Any:
            self.application.verify(by, KEEPERS)
            group = self.application.load(NeedGroup, group_id, expected_version)
            getattr(group, change)(note, by=by)
            return [group], {"group_id": group.id, "version": group.version,
                             "status": group.status}
        return self.application.execute(f"{change}_need_group", by, decide,
                                        idempotency_key=idempotency_key,
                                        arguments={"group_id": group_id, "note": note,
                                                   "change": change})

    # -- agreements ---------------------------------------------------------------------------
    def make_agreement(self, by: Stamp, forum_id: UUID, organisation_id: UUID, what: str,
                       due_on: date, *, group_id: UUID | None = None,
                       idempotency_key: str | None = None) -> dict[str, Any]:
        def decide() -> Any:
            self.application.verify(by, KEEPERS)
            forum = self.application.load(Forum, forum_id)
            self._organisations([organisation_id], "organisation_id")
            due_at = agreement_deadline(calendar_for(self.application.network.state),
                                        due_on, self.application.today())
            agreement_id = Agreement.id_for(forum.id, organisation_id, str(what or ""),
                                            due_on)
            if self.application.find(Agreement, agreement_id) is not None:
                raise DomainError(_("This agreement is recorded already."), field="what")
            agreement = Agreement.make(agreement_id, forum.id, group_id, organisation_id, what,
                                       due_on, due_at, by=by)
            changed: list[Any] = [agreement]
            if group_id is not None:
                group = self.application.find(NeedGroup, group_id)
                if group is None:
                    raise DomainError(_("No such need group."), field="group_id")
                group.agreement_made(agreement.id, by=by)
                changed.append(group)
            return changed, {"agreement_id": agreement.id, "version": agreement.version}
        return self.application.execute("make_agreement", by, decide,
                                        idempotency_key=idempotency_key,
                                        arguments=arguments(locals()))

    def mark_done(self, by: Stamp, agreement_id: UUID, note: str,
                  expected_version: int | None = None,
                  idempotency_key: str | None = None) -> dict[str, Any]:
        """The organisation that took it on, or the coordination office, says it is done."""
        def decide() -> Any:
            agreement = self.application.load(Agreement, agreement_id, expected_version)
            self._keeper_of(by, agreement)
            agreement.mark_done(note, by=by)
            return [agreement], {"agreement_id": agreement.id, "version": agreement.version}
        return self.application.execute("mark_agreement_done", by, decide,
                                        idempotency_key=idempotency_key,
                                        arguments=arguments(locals()))

    def reschedule_agreement(self, by: Stamp, agreement_id: UUID, due_on: date, reason: str,
                             expected_version: int | None = None,
                             idempotency_key: str | None = None) -> dict[str, Any]:
        def decide() -> Any:
            self.application.verify(by, KEEPERS)
            agreement = self.application.load(Agreement, agreement_id, expected_version)
            due_at = agreement_deadline(calendar_for(self.application.network.state),
                                        due_on, self.application.today())
            agreement.reschedule(due_on, due_at, reason, by=by)
            return [agreement], {"agreement_id": agreement.id, "version": agreement.version}
        return self.application.execute("reschedule_agreement", by, decide,
                                        idempotency_key=idempotency_key,
                                        arguments=arguments(locals()))

    def withdraw_agreement(self, by: Stamp, agreement_id: UUID, note: str,
                           expected_version: int | None = None,
                           idempotency_key: str | None = None) -> dict[str, Any]:
        def decide() -> Any:
            self.application.verify(by, KEEPERS)
            agreement = self.application.load(Agreement, agreement_id, expected_version)
            agreement.withdraw(note, by=by)
            return [agreement], {"agreement_id": agreement.id, "version": agreement.version}
        return self.application.execute("withdraw_agreement", by, decide,
                                        idempotency_key=idempotency_key,
                                        arguments=arguments(locals()))

    def follow_up(self, by: Stamp, agreement_id: UUID, forum_id: UUID, note: str,
                  idempotency_key: str | None = None) -> dict[str, Any]:
        """What a later meeting heard about an agreement."""
        def decide() -> Any:
            self.application.verify(by, KEEPERS)
            self.application.load(Forum, forum_id)
            agreement = self.application.load(Agreement, agreement_id)
            agreement.follow_up(forum_id, note, by=by)
            return [agreement], {"agreement_id": agreement.id, "version": agreement.version}
        return self.application.execute("follow_up_agreement", by, decide,
                                        idempotency_key=idempotency_key,
                                        arguments=arguments(locals()))

    def _keeper_of(self, by: Stamp, agreement: Agreement) -> None:
        if by.role == Role.COORDINATOR:
            self.application.verify(by, KEEPERS)
            return
        self.application.verify(by, CASEWORK)
        if by.organisation_id != agreement.organisation_id:
            raise DomainError(_("No such agreement."), field="note")

    # -- politics -----------------------------------------------------------------------------
    def report_to_politics(self, by: Stamp, recipient: str, sent_on: date,
                           districts: list[str], groups: list[UUID],
                           idempotency_key: str | None = None) -> dict[str, Any]:
        """Records that the register of ``districts`` (all: empty) was sent to
        ``recipient``: each of ``groups`` (those the sender saw in it) is reported."""
        for district in districts:
            self.application.check_district(district)
        if sent_on > self.application.today():
            raise DomainError(_("The day lies in the future."), field="sent_on")

        def decide() -> Any:
            self.application.verify(by, KEEPERS)
            found = []
            for group_id in dict.fromkeys(groups):
                group = self.application.find(NeedGroup, group_id)
                if group is None:
                    raise DomainError(_("No such need group."), field="districts")
                if group.status == RESOLVED:
                    # resolved meanwhile (another tab): reported no more
                    raise ConflictError(_("A need group of the report was resolved "
                                          "meanwhile. Please reload and try again."))
                found.append(group)
            report_id = PoliticsReport.id_for(self.application.network.slug,
                                              str(recipient or ""), sent_on, sorted(districts))
            if self.application.find(PoliticsReport, report_id) is not None:
                raise DomainError(_("This sending is recorded already."), field="recipient")
            report = PoliticsReport.send(report_id, recipient, sent_on, sorted(districts),
                                         [g.id for g in found], by=by)
            for group in found:
                group.report(report.id, report.recipient, sent_on, by=by)
            return [report, *found], {"report_id": report.id, "groups": len(found)}
        return self.application.execute("report_to_politics", by, decide,
                                        idempotency_key=idempotency_key,
                                        arguments=arguments(locals()))

    # -- missed agreements --------------------------------------------------------------------
    def escalate_missed(self, agreement_ids: Iterable[str], now: datetime) -> int:
        """Escalates each missed agreement to the coordination office, once (idempotent in
        the Agreement: two scanners record one); returns how many were escalated."""
        count = 0
        for agreement_id in agreement_ids:
            try:
                count += self._escalate(UUID(agreement_id), now)
            except ConflictError:
                log.info("agreement %s escalated by another scanner", agreement_id)
            except Exception:  # one broken row must not stop the others
                log.exception("agreement %s: escalation failed", agreement_id)
        return count

    def _escalate(self, agreement_id: UUID, now: datetime) -> int:
        by = Stamp.system(f"agreement-missed:{agreement_id}")

        def decide() -> Any:
            agreement = self.application.load(Agreement, agreement_id)
            if not agreement.escalate(now, by=by):
                return [], {"escalated": 0}
            office = self.application.organisation_by_key(
                self.application.network.coordination_office)
            notification = Notification(
                id=Notification.id_for_missed_agreement(agreement.id, agreement.due_on),
                referral_id=None,
                stage=AGREEMENT_MISSED, level=1,
                recipients=self.application.escalations.office_recipients(office),
                subject=in_language(_("[Fallnetz] Agreement missed"), MAIL_LANGUAGE),
                body=in_language(_(
                    "An agreement of the needs register was due on {day} and is not marked "
                    "done. Please look at it in the needs register:",
                    day=agreement.due_on.strftime("%d.%m.%Y")), MAIL_LANGUAGE),
                attachment={"agreement": str(agreement.id)}, by=by)
            return [agreement, notification], {"escalated": 1}
        return int(self.application.execute("escalate_agreement", by, decide)["escalated"])

    # -- reads --------------------------------------------------------------------------------
    def _organisations(self, ids: Iterable[UUID], field: str) -> None:
        for organisation_id in ids:
            if self.application.find(Organisation, organisation_id) is None:
                raise DomainError(_("No such organisation."), field=field)

    def _check_need_or_group(self, need: str | None) -> None:
        network = self.application.network
        if need and not (network.is_need(need) or any(
                n.group == need for n in network.needs.values())):
            raise DomainError(_("Unknown need {need!r}.", need=need), field="need")


