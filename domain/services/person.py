"""The person's own voice (DESIGN §2): the slip with their access code, their page (the
status of their referrals in plain words), their feedback on the help received, their own
goals and abilities, and a revocation of consent they ask for."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from uuid import UUID

from domain.base import DomainError, PermissionDenied
from domain.case import Case
from domain.deadlines import calendar_for
from domain.messages import _
from domain.person_access import ACCESS_DAYS, PersonAccess, new_access_code
from domain.referral import DRAFT, ENTERED_IN_ERROR, Referral
from domain.services.base import Service, arguments
from domain.stamp import CASEWORK, Stamp

# The lead caseworker records a revocation the person asked for within this many working
# days (GDPR Art. 12(3) allows a month; the network answers sooner).
REVOCATION_WORKING_DAYS = 3
# Referrals the person does not see: drafts are the caseworker's, and one entered in error
# may have been about someone else.
NOT_THEIRS = (DRAFT, ENTERED_IN_ERROR)


class AccessRefused(DomainError):
    """A code that opens nothing: wrong, revoked, expired, or a birth year that does not
    match. One message for all, so a guess learns nothing."""
    code = "access_refused"


@dataclass(frozen=True)
class Slip:
    code: str
    expires_on: date
    reference: str


class PersonService(Service):
    # -- the caseworker's side ------------------------------------------------------------
    def issue_access(self, by: Stamp, case_id: UUID,
                     expected_version: int | None = None) -> Slip:
        """A new code for the person's slip; the earlier code stops working. The code is
        shown once and kept nowhere."""
        code = new_access_code()
        expires_on = self.application.today() + timedelta(days=ACCESS_DAYS)

        def decide() -> Any:
            case = self.application.cases.case_for(by, case_id, expected_version)
            changed: list[Any] = [case]
            if case.person_access is not None:
                earlier = self.application.find(PersonAccess, case.person_access["id"])
                if earlier is not None and not earlier.revoked:
                    earlier.revoke(by=by)
                    changed.append(earlier)
            access = PersonAccess.issue(code, case.id, expires_on, by=by)
            case.give_person_access(access.id, expires_on, by=by)
            return [*changed, access], Slip(code, expires_on, case.reference)
        # Each press makes a new code: repeating one is not the same command.
        return self.application.execute("issue_person_access", by, decide)

    def revoke_access(self, by: Stamp, case_id: UUID, expected_version: int | None = None,
                      idempotency_key: str | None = None) -> dict[str, Any]:
        def decide() -> Any:
            case = self.application.cases.case_for(by, case_id, expected_version)
            access = self.application.find(PersonAccess, case.revoke_person_access(by=by))
            changed: list[Any] = [case]
            if access is not None and not access.revoked:
                access.revoke(by=by)
                changed.append(access)
            return changed, {"case_id": case.id, "version": case.version}
        return self.application.execute("revoke_person_access", by, decide,
                                        idempotency_key=idempotency_key,
                                        arguments=arguments(locals()))

    def record_own_goals(self, by: Stamp, case_id: UUID, goals: str, abilities: str,
                         expected_version: int | None = None,
                         idempotency_key: str | None = None) -> dict[str, Any]:
        return self.application.cases._case_command(
            "record_own_goals", by, case_id, expected_version,
            lambda c: c.record_own_goals(goals, abilities, by=by), idempotency_key,
            args=arguments(locals()))

    def record_feedback(self, by: Stamp, referral_id: UUID, helped: str, understood: str,
                        what_would_help: str, expected_version: int | None = None,
                        idempotency_key: str | None = None) -> dict[str, Any]:
        """Feedback the person told the lead caseworker."""
        def decide() -> Any:
            self.application.verify(by, CASEWORK)
            referral = self.application.load(Referral, referral_id, expected_version,
                                             "referral")
            case = self.application.load(Case, referral.case_id, None, "case")
            if by.organisation_id != case.lead_organisation_id:
                raise PermissionDenied(_("The lead organisation records what the person "
                                         "says about the help."))
            referral.give_feedback(helped, understood, what_would_help, by=by)
            return [referral], {"referral_id": referral.id, "version": referral.version}
        return self.application.execute("record_feedback", by, decide,
                                        idempotency_key=idempotency_key,
                                        arguments=arguments(locals()))

    def record_signed_consent_form(self, by: Stamp, case_id: UUID, consent_id: str,
                                   expected_version: int | None = None,
                                   idempotency_key: str | None = None) -> dict[str, Any]:
        return self.application.cases._case_command(
            "record_signed_consent_form", by, case_id, expected_version,
            lambda c: c.record_signed_consent_form(consent_id, by=by), idempotency_key,
            args=arguments(locals()))

    # -- the person's side ----------------------------------------------------------------
    def open_access(self, code: str, birth_year: int | None) -> UUID:
        """The access a code and birth year open, or :class:`AccessRefused`."""
        access = self.application.find(PersonAccess, PersonAccess.id_for(code))
        if access is None or not access.opens(self.application.today()):
            raise AccessRefused(_("This code and birth year do not open a page."))
        case = self.application.find(Case, access.case_id)
        if case is None or case.is_erased or case.person_access is None or \
                case.person_access["id"] != access.id or \
                case.person.get("birth_year") != birth_year:
            raise AccessRefused(_("This code and birth year do not open a page."))
        return access.id

    def case_of(self, access_id: UUID) -> Case:
        """The case an access still opens (it may have been revoked meanwhile)."""
        access = self.application.find(PersonAccess, access_id)
        case = self.application.find(Case, access.case_id) if access else None
        if access is None or not access.opens(self.application.today()) or case is None \
                or case.is_erased or (case.person_access or {}).get("id") != access.id:
            raise AccessRefused(_("This code and birth year do not open a page."))
        return case

    def referrals_of(self, access_id: UUID) -> list[Referral]:
        """The person's referrals that were sent (drafts are the caseworker's), oldest
        first; forwarded ones are followed by the referral they became."""
        case = self.case_of(access_id)
        found = [self.application.find(Referral, rid) for rid in case.referral_ids]
        return [r for r in found if r is not None and r.status not in NOT_THEIRS]

    def give_feedback(self, access_id: UUID, referral_id: UUID, helped: str,
                      understood: str, what_would_help: str, correlation_id: str) -> None:
        by = Stamp.person(correlation_id)

        def decide() -> Any:
            referral = self._own_referral(access_id, referral_id)
            referral.give_feedback(helped, understood, what_would_help, by=by)
            return [referral], None
        self.application.execute("give_feedback", by, decide)

    def request_revocation(self, access_id: UUID, consent_id: str,
                           correlation_id: str) -> None:
        by = Stamp.person(correlation_id)
        calendar = calendar_for(self.application.network.state)

        def decide() -> Any:
            case = self.case_of(access_id)
            consent = case.consents.get(consent_id)
            if consent is None or consent["expires_on"] < self.application.today():
                raise DomainError(_("This consent is no longer in force."),
                                  field="consent_id")
            case.request_revocation(consent_id, calendar.add_working_days(
                self.application.clock(), REVOCATION_WORKING_DAYS), by=by)
            return [case], None
        self.application.execute("request_revocation", by, decide)

    def _own_referral(self, access_id: UUID, referral_id: UUID) -> Referral:
        case = self.case_of(access_id)
        referral = self.application.find(Referral, referral_id)
        if referral is None or referral.case_id != case.id or referral.status in NOT_THEIRS:
            raise AccessRefused(_("This code and birth year do not open a page."))
        return referral
