"""Case commands: opening, person data, needs, consent, residence status and legal sphere
(with the draft lead handoffs a change of legal sphere proposes), responsibility, closing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any
from uuid import UUID, uuid4, uuid5

from domain.base import DomainError, PermissionDenied, months_later
from domain.case import Case
from domain.services.base import arguments, Service
from domain.messages import _
from domain.organisation import Organisation
from domain.referral import Referral
from domain.sequence import CaseNumberSequence
from domain.stamp import CASEWORK, Role, Stamp

LEAD_HANDOFF_REASON = ("Rechtskreiswechsel {old} → {new}: Vorschlag zur Übernahme der "
                       "Fallführung laut Zuständigkeitsmatrix.")


class CaseService(Service):
    def open_case(self, by: Stamp, person: dict[str, Any], housing_stage: str,
                  residence_status: str, legal_sphere: str | None = None,
                  needs: list[str] | None = None, lead_caseworker: str | None = None,
                  idempotency_key: str | None = None) -> dict[str, Any]:
        """Opens a case led by the acting user's organisation and numbers it."""
        for need in needs or []:
            self.application.check_need(need)
        self.application.check_district(person.get("district"))
        sphere = legal_sphere or self.application.network.legal_sphere_by_residence_status.get(
            residence_status, "")

        def decide() -> Any:
            organisation = self.application.verify(by, CASEWORK)
            if organisation is None:
                raise PermissionDenied(_("A case is opened by a member of its lead "
                                         "organisation."))
            caseworker = lead_caseworker or by.user
            if organisation.role_of(caseworker) is None:
                raise DomainError(_("{user} is not a member of {organisation}.",
                                    user=caseworker, organisation=organisation.name),
                                  field="lead_caseworker")
            year = self.application.clock().year
            sequence = self.application.find(CaseNumberSequence, CaseNumberSequence.id_for(
                self.application.network.case_reference_prefix, year)) or CaseNumberSequence(
                id=CaseNumberSequence.id_for(self.application.network.case_reference_prefix, year),
                prefix=self.application.network.case_reference_prefix, year=year, by=by)
            case = Case.open(
                id=uuid4(), reference=sequence.issue(by=by),
                lead_organisation_id=by.organisation_id, lead_caseworker=caseworker,
                person=person, housing_stage=housing_stage, residence_status=residence_status,
                legal_sphere=sphere, this_year=year, by=by)
            for need in needs or []:
                case.record_need(need, "", by=by)
            return [sequence, case], {"case_id": case.id, "reference": case.reference,
                                      "version": case.version}

        # Two cases opened at once race for the next number; the loser simply draws again.
        return self.application.execute_again_on_race(
            "open_case", by, decide, idempotency_key=idempotency_key,
            arguments=arguments(locals()),
            exhausted=_("Too many cases are being opened at once. Please try again."))

    def case_for(self, by: Stamp, case_id: UUID, expected_version: int | None = None) -> Case:
        """The case, if the acting user works for its lead organisation."""
        self.application.verify(by, CASEWORK)
        case = self.application.load(Case, case_id, expected_version, "case")
        if by.organisation_id != case.lead_organisation_id and by.role != Role.SYSTEM:
            raise PermissionDenied(_("Only the lead organisation can change this case."))
        return case

    def _case_command(self, command: str, by: Stamp, case_id: UUID,
                      expected_version: int | None, change: Callable[[Case], Any],
                      idempotency_key: str | None, args: dict[str, Any]) -> dict[str, Any]:
        def decide() -> Any:
            case = self.case_for(by, case_id, expected_version)
            change(case)
            return [case], {"case_id": case.id, "version": case.version}
        return self.application.execute(command, by, decide, idempotency_key=idempotency_key,
                            arguments=args)

    def correct_person_data(self, by: Stamp, case_id: UUID, changes: dict[str, Any],
                            expected_version: int | None = None,
                            idempotency_key: str | None = None) -> dict[str, Any]:
        if "district" in changes:
            self.application.check_district(changes["district"])
        return self._case_command(
            "correct_person_data", by, case_id, expected_version,
            lambda c: c.correct_person_data(changes, self.application.clock().year, by=by),
            idempotency_key,
            args=arguments(locals()))

    def change_housing_stage(self, by: Stamp, case_id: UUID, housing_stage: str,
                             expected_version: int | None = None,
                             idempotency_key: str | None = None) -> dict[str, Any]:
        return self._case_command(
            "change_housing_stage", by, case_id, expected_version,
            lambda c: c.change_housing_stage(housing_stage, by=by), idempotency_key,
            args=arguments(locals()))

    def record_need(self, by: Stamp, case_id: UUID, need: str, note: str = "",
                    expected_version: int | None = None,
                    idempotency_key: str | None = None) -> dict[str, Any]:
        self.application.check_need(need)
        return self._case_command("record_need", by, case_id, expected_version,
                                  lambda c: c.record_need(need, note, by=by), idempotency_key,
            args=arguments(locals()))

    def resolve_need(self, by: Stamp, case_id: UUID, need: str, note: str = "",
                     expected_version: int | None = None,
                     idempotency_key: str | None = None) -> dict[str, Any]:
        return self._case_command("resolve_need", by, case_id, expected_version,
                                  lambda c: c.resolve_need(need, note, by=by), idempotency_key,
            args=arguments(locals()))

    def give_consent(self, by: Stamp, case_id: UUID, purposes: list[str], expires_on: date,
                     receiver_organisation_id: UUID | None = None, sector: str | None = None,
                     given_on: date | None = None, expected_version: int | None = None,
                     idempotency_key: str | None = None) -> dict[str, Any]:
        for purpose in purposes:
            if not (self.application.network.is_need(purpose)
                    or any(n.group == purpose for n in self.application.network.needs.values())):
                raise DomainError(_("Unknown purpose {purpose!r}.", purpose=purpose),
                                  field="purposes")
        if receiver_organisation_id is not None and self.application.find(
                Organisation, receiver_organisation_id) is None:
            raise DomainError(_("There is no such receiving organisation."),
                              field="receiver_organisation_id")

        longest = self.application.network.consent_max_months
        if expires_on > months_later(given_on or self.application.today(), longest):
            raise DomainError(_("A consent runs at most {months} months; please check the "
                                "expiry date.", months=longest), field="expires_on")

        def decide() -> Any:
            case = self.case_for(by, case_id, expected_version)
            consent_id = uuid4().hex
            case.give_consent(consent_id, receiver_organisation_id, sector, purposes,
                              expires_on, given_on or self.application.today(), by=by)
            return [case], {"case_id": case.id, "version": case.version,
                            "consent_id": consent_id}
        return self.application.execute("give_consent", by, decide,
                                        idempotency_key=idempotency_key,
                                        arguments=arguments(locals()))

    def revoke_consent(self, by: Stamp, case_id: UUID, consent_id: str, reason: str,
                       expected_version: int | None = None,
                       idempotency_key: str | None = None) -> dict[str, Any]:
        return self._case_command("revoke_consent", by, case_id, expected_version,
                                  lambda c: c.revoke_consent(consent_id, reason, by=by),
                                  idempotency_key,
            args=arguments(locals()))

    def record_consent_expiry(self, by: Stamp, case_id: UUID, consent_id: str,
                              idempotency_key: str | None = None) -> dict[str, Any]:
        return self._case_command(
            "record_consent_expiry", by, case_id, None,
            lambda c: c.record_consent_expiry(consent_id, self.application.today(), by=by),
            idempotency_key,
            args=arguments(locals()))

    def change_residence_status(self, by: Stamp, case_id: UUID, residence_status: str,
                                legal_sphere: str | None = None,
                                expected_version: int | None = None,
                                idempotency_key: str | None = None) -> dict[str, Any]:
        """Records a new residence status. When the legal sphere changes with it, draft lead
        handoffs to the organisations the responsibility map names are created in the same
        save, for the caseworker to confirm or discard."""
        sphere = legal_sphere or self.application.network.legal_sphere_by_residence_status.get(
            residence_status, "")

        def decide() -> Any:
            case = self.case_for(by, case_id, expected_version)
            old_sphere = case.legal_sphere
            changed: list[Any] = []
            if case.change_residence_status(residence_status, sphere, by=by):
                changed = self._propose_lead_handoffs(case, old_sphere, by)
            return [case, *changed], {
                "case_id": case.id, "version": case.version,
                "draft_referral_ids": [r.id for r in changed if r.status == "draft"]}
        return self.application.execute("change_residence_status", by, decide,
                            idempotency_key=idempotency_key,
                            arguments=arguments(locals()))

    def change_legal_sphere(self, by: Stamp, case_id: UUID, legal_sphere: str,
                            expected_version: int | None = None,
                            idempotency_key: str | None = None) -> dict[str, Any]:
        def decide() -> Any:
            case = self.case_for(by, case_id, expected_version)
            old_sphere = case.legal_sphere
            case.change_legal_sphere(legal_sphere, by=by)
            changed = self._propose_lead_handoffs(case, old_sphere, by)
            return [case, *changed], {
                "case_id": case.id, "version": case.version,
                "draft_referral_ids": [r.id for r in changed if r.status == "draft"]}
        return self.application.execute("change_legal_sphere", by, decide,
                                        idempotency_key=idempotency_key,
                                        arguments=arguments(locals()))

    def _propose_lead_handoffs(self, case: Case, old_sphere: str,
                               by: Stamp) -> list[Referral]:
        """Drafts of the new legal sphere's handoffs; drafts of an earlier change that were
        never sent no longer apply and are cancelled in the same save."""
        superseded = []
        for referral_id in case.proposed_handoff_ids:
            earlier = self.application.find(Referral, referral_id)
            if earlier is not None and earlier.status == "draft":
                earlier.cancel(f"Überholt durch Rechtskreiswechsel {old_sphere} → "
                               f"{case.legal_sphere}.", by=by)
                superseded.append(earlier)
        drafts = self._draft_lead_handoffs(case, old_sphere, by)
        case.record_proposed_handoffs([d.id for d in drafts], by=by)
        return [*drafts, *superseded]

    def _draft_lead_handoffs(self, case: Case, old_sphere: str, by: Stamp) -> list[Referral]:
        drafts = []
        # the map in force: the coordination office's once it changed the file's
        network = self.application.responsibilities.effective_network()
        for key, need in network.lead_takers(case.legal_sphere, case.person["district"]):
            organisation = self.application.organisation_by_key(key)
            if organisation is None or not organisation.active or (
                    organisation.id == case.lead_organisation_id):
                continue
            # Derived ids: the drafts of one status change are the same whoever computes them.
            drafts.append(Referral.create(
                id=uuid5(case.id, f"lead-handoff-draft:{case.version}:{key}"),
                case_id=case.id, need=need, urgency="routine", kind="lead_handoff",
                from_organisation_id=case.lead_organisation_id,
                from_user=case.lead_caseworker, to_organisation_id=organisation.id,
                to_service_id=None,
                reason=LEAD_HANDOFF_REASON.format(old=old_sphere, new=case.legal_sphere),
                by=by, draft=True))
        return drafts

    def assign_caseworker(self, by: Stamp, case_id: UUID, caseworker: str,
                          expected_version: int | None = None,
                          idempotency_key: str | None = None) -> dict[str, Any]:
        def change(case: Case) -> None:
            organisation = self.application.load(Organisation, case.lead_organisation_id)
            if organisation.role_of(caseworker) is None:
                raise DomainError(_("{user} is not a member of {organisation}.",
                                    user=caseworker, organisation=organisation.name),
                                  field="caseworker")
            case.assign_caseworker(caseworker, by=by)
        return self._case_command("assign_caseworker", by, case_id, expected_version, change,
                                  idempotency_key,
            args=arguments(locals()))

    def close_case(self, by: Stamp, case_id: UUID, reason: str,
                   expected_version: int | None = None,
                   idempotency_key: str | None = None) -> dict[str, Any]:
        return self._case_command("close_case", by, case_id, expected_version,
                                  lambda c: c.close(reason, by=by), idempotency_key,
            args=arguments(locals()))

    def reopen_case(self, by: Stamp, case_id: UUID, reason: str,
                    expected_version: int | None = None,
                    idempotency_key: str | None = None) -> dict[str, Any]:
        return self._case_command("reopen_case", by, case_id, expected_version,
                                  lambda c: c.reopen(reason, by=by), idempotency_key,
            args=arguments(locals()))
