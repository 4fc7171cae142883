"""Erasure of a case (GDPR Art. 17), four eyes: a supervisor of the lead organisation asks
with a reason, a second person in the data protection role confirms or declines. The
confirmation records the erasure on the case and each of its referrals in one transaction,
then destroys the case's person keys (:mod:`domain.sealing`): from then on the person's data
and free texts are unreadable everywhere, while who did what and when stays."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from domain.base import DomainError, PermissionDenied, months_later
from domain.case import Case
from domain.messages import _
from domain.organisation import Organisation
from domain.referral import DRAFT, OPEN_STATES, Referral
from domain.services.base import Service, arguments
from domain.stamp import Role, Stamp


class PrivacyService(Service):
    def request_erasure(self, by: Stamp, case_id: UUID, reason: str,
                        expected_version: int | None = None,
                        idempotency_key: str | None = None) -> dict[str, Any]:
        def decide() -> Any:
            self.application.verify(by, (Role.SUPERVISOR,))
            case = self.application.load(Case, case_id, expected_version, "case")
            if by.organisation_id != case.lead_organisation_id:
                raise PermissionDenied(_("Only a supervisor of the lead organisation asks for "
                                         "the erasure of a case."))
            case.request_erasure(reason, by=by)
            return [case], {"case_id": case.id, "version": case.version}
        return self.application.execute("request_erasure", by, decide,
                                        idempotency_key=idempotency_key,
                                        arguments=arguments(locals()))

    def decline_erasure(self, by: Stamp, case_id: UUID, reason: str,
                        expected_version: int | None = None) -> dict[str, Any]:
        def decide() -> Any:
            self.application.verify(by, (Role.DATA_PROTECTION,))
            case = self.application.load(Case, case_id, expected_version, "case")
            case.decline_erasure(reason, by=by)
            return [case], {"case_id": case.id, "version": case.version}
        return self.application.execute("decline_erasure", by, decide)

    def confirm_erasure(self, by: Stamp, case_id: UUID,
                        expected_version: int | None = None) -> dict[str, Any]:
        return self._erase("confirm_erasure", by, case_id, expected_version,
                           lambda case: None)

    def erase_after_retention(self, by: Stamp, case_id: UUID,
                              expected_version: int | None = None) -> dict[str, Any]:
        """A case closed longer than the network's retention period: the network's rule is
        the first pair of eyes (recorded as the system's request), the data protection
        officer's confirmation the second."""
        months = self.application.network.retention_months

        def request(case: Case) -> None:
            if case.is_open or case.closed_at is None or \
                    months_later(case.closed_at, months) > self.application.clock():
                raise DomainError(_("The retention period of case {reference} has not ended.",
                                    reference=case.reference))
            case.request_erasure(f"Aufbewahrungsfrist ({months} Monate) abgelaufen",
                                 by=Stamp.system(by.correlation_id))
        return self._erase("erase_after_retention", by, case_id, expected_version, request)

    def _erase(self, command: str, by: Stamp, case_id: UUID, expected_version: int | None,
               before: Callable[[Case], None]) -> dict[str, Any]:
        def decide() -> Any:
            self.application.verify(by, (Role.DATA_PROTECTION,))
            case = self.application.load(Case, case_id, expected_version, "case")
            before(case)
            referrals = [r for rid in case.referral_ids
                         if (r := self.application.find(Referral, rid)) is not None]
            for referral in referrals:
                if referral.status in OPEN_STATES - {DRAFT}:
                    receiver = self.application.find(Organisation,
                                                     referral.to_organisation_id)
                    raise DomainError(_(
                        "The referral to {organisation} is still open: the lead "
                        "organisation cancels it, or {organisation} ends it, before the "
                        "erasure.", organisation=receiver.name if receiver else "?"))
            for referral in referrals:
                referral.erase(by=by)
            case.erase(by=by)
            return [case, *referrals], {"case_id": case.id, "version": case.version}
        result = self.application.execute(command, by, decide)
        # Recorded first, destroyed second: a process that dies in between leaves the
        # erasure recorded, and the next start destroys the keys (runtime.person_keys).
        self.application.destroy_person_keys(case_id)
        return result

