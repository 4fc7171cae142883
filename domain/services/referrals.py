"""Referral commands: sending (on a consent or a recorded crisis override), the receiver's
steps, forwarding as a child referral, lead handoffs that move the case, and corrections."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timezone
from typing import Any
from uuid import UUID, uuid4

from domain.base import DomainError, PermissionDenied
from domain.case import Case
from domain.deadlines import BERLIN
from domain.services.base import arguments, Service
from domain.messages import _
from domain.organisation import Organisation, OrganisationInactive, UnknownService
from domain.referral import COMMANDS, OTHER_GROUNDS, Referral, ReferralCommand
from domain.routing import counted_service, service_full
from domain.stamp import CASEWORK, Stamp


class LeadMovedMeanwhile(DomainError):
    code = "lead_moved_meanwhile"


class ReferralService(Service):
    def send_referral(self, by: Stamp, case_id: UUID, need: str, urgency: str,
                      to_organisation_id: UUID, reason: str, to_service_id: str | None = None,
                      kind: str = "service", crisis_override_reason: str | None = None,
                      idempotency_key: str | None = None) -> dict[str, Any]:
        """Sends a new referral for a case the acting user's organisation leads."""
        self.application.check_need(need)

        def decide() -> Any:
            self.application.verify(by, CASEWORK)
            case = self._sendable_case(by, case_id)
            receiver = self._receiver(to_organisation_id, to_service_id)
            referral = Referral.create(
                id=uuid4(), case_id=case.id, need=need, urgency=urgency, kind=kind,
                from_organisation_id=by.organisation_id, from_user=by.user,
                to_organisation_id=receiver.id, to_service_id=to_service_id, reason=reason,
                by=by, consent_id=self._consent_for(case, receiver, need),
                crisis_override_reason=crisis_override_reason,
                policy_version=self.application.network.deadlines.version)
            self._record_sharing(case, referral, by)
            return [referral, case], {"referral_id": referral.id, "version": referral.version}
        # Not retried on a lost race: what was decided (the consent used) may no longer
        # hold, e.g. a revocation saved meanwhile, and the sender must see that.
        return self.application.execute("send_referral", by, decide,
                                        idempotency_key=idempotency_key,
                                        arguments=arguments(locals()))

    def send_draft(self, by: Stamp, referral_id: UUID,
                   crisis_override_reason: str | None = None,
                   expected_version: int | None = None,
                   idempotency_key: str | None = None) -> dict[str, Any]:
        """Confirms a draft (e.g. a proposed lead handoff): it is sent like a new referral."""
        def change(referral: Referral) -> list[Any]:
            referral.check("send", by)
            case = self._sendable_case(by, referral.case_id)
            receiver = self._receiver(referral.to_organisation_id, referral.to_service_id)
            referral.send(self._consent_for(case, receiver, referral.need), crisis_override_reason,
                          self.application.network.deadlines.version, by=by)
            self._record_sharing(case, referral, by)
            return [case]
        return self._referral_command("send_draft", by, referral_id, expected_version, change,
                                      idempotency_key,
            args=arguments(locals()))

    def _sendable_case(self, by: Stamp, case_id: UUID) -> Case:
        case = self.application.load(Case, case_id, what="case")
        if case.lead_organisation_id != by.organisation_id:
            raise PermissionDenied(_("Only the case's lead organisation can send referrals."))
        self.application.ensure_case_open(case)
        return case

    def _receiver(self, organisation_id: UUID, service_id: str | None) -> Organisation:
        # Read only: the referral names it, nothing of it changes.
        receiver = self.application.find(Organisation, organisation_id, read_only=True)
        if receiver is None:
            raise DomainError(_("There is no such receiving organisation."),
                              field="to_organisation_id")
        if not receiver.active:
            raise OrganisationInactive(_("{organisation} is no longer active.",
                                         organisation=receiver.name),
                                       field="to_organisation_id")
        if service_id is not None and receiver.service(service_id).get("ended"):
            raise UnknownService(_("{organisation} no longer offers this service.",
                                   organisation=receiver.name), field="to_service_id")
        return receiver

    def _record_sharing(self, case: Case, referral: Referral, by: Stamp) -> None:
        case.record_sharing(referral.id, referral.to_organisation_id, referral.consent_id,
                            referral.crisis_override_reason, by=by)

    def _consent_for(self, case: Case, receiver: Organisation, need: str) -> str | None:
        return case.consent_covering(receiver.id, receiver.sector, need, self.application.today())

    def _referral_command(self, command: str, by: Stamp, referral_id: UUID,
                          expected_version: int | None,
                          change: Callable[[Referral], list[Any]],
                          idempotency_key: str | None, args: dict[str, Any]) -> dict[str, Any]:
        def decide() -> Any:
            self.application.verify(by, CASEWORK)
            referral = self.application.load(Referral, referral_id, expected_version, "referral")
            also_changed = change(referral)
            result = {"referral_id": referral.id, "version": referral.version}
            if command == "forward_referral":
                result["child_referral_id"] = referral.child_referral_id
            return [referral, *also_changed], result
        return self.application.execute(command, by, decide, idempotency_key=idempotency_key,
                            arguments=args)

    # -- receiver -----------------------------------------------------------------------------
    def start_referral(self, by: Stamp, referral_id: UUID, made_on: date | None = None,
                       expected_version: int | None = None,
                       idempotency_key: str | None = None) -> dict[str, Any]:
        """The first contact, now or on an earlier day (recorded afterwards): a day counts
        from its noon in Berlin, or from now when that is earlier."""
        now = self.application.clock()
        made_at = None
        if made_on is not None:
            if made_on > self.application.today():
                raise DomainError(_("The first contact cannot lie in the future."),
                                  field="made_on")
            noon = datetime.combine(made_on, time(12), tzinfo=BERLIN).astimezone(timezone.utc)
            made_at = min(noon, now)
        return self._referral_command(
            "start_referral", by, referral_id, expected_version,
            lambda r: r.start(by=by, made_at=made_at, now=now) or [], idempotency_key,
            args=arguments(locals()))

    def accept_referral(self, by: Stamp, referral_id: UUID,
                        over_capacity_reason: str | None = None,
                        expected_version: int | None = None,
                        idempotency_key: str | None = None) -> dict[str, Any]:
        """Accepting into a service with no free place needs a reason (recorded); accepting
        a lead handoff moves the case's lead to the accepting organisation, in the same
        save."""
        def change(referral: Referral) -> list[Any]:
            referral.check("accept", by)
            full = self._service_full(referral)
            if not referral.is_lead_handoff:
                referral.accept(by=by, service_full=full,
                                over_capacity_reason=over_capacity_reason)
                return []
            case = self.application.load(Case, referral.case_id, what="case")
            if case.lead_organisation_id != referral.from_organisation_id:
                raise LeadMovedMeanwhile(_("The case's lead has moved since this handoff was "
                                           "sent; it no longer applies."))
            referral.accept(by=by, service_full=full, over_capacity_reason=over_capacity_reason)
            case.move_lead(referral.to_organisation_id, by.user, referral.id, by=by)
            return [case]
        return self._referral_command("accept_referral", by, referral_id, expected_version,
                                      change, idempotency_key,
            args=arguments(locals()))

    def reject_referral(self, by: Stamp, referral_id: UUID, reason: str,
                        grounds: str = OTHER_GROUNDS, expected_version: int | None = None,
                        idempotency_key: str | None = None) -> dict[str, Any]:
        """Rejects with a reason and its grounds (no capacity, not responsible, other)."""
        return self._referral_command(
            "reject_referral", by, referral_id, expected_version,
            lambda r: r.reject(reason, by=by, grounds=grounds) or [], idempotency_key,
            args=arguments(locals()))

    def capacity_of(self, referral: Referral) -> tuple[str | None, int | None, int]:
        """The service the referral counts against, its capacity and the places in use
        (0 where no load is known)."""
        receiver = self.application.find(Organisation, referral.to_organisation_id,
                                         read_only=True)
        service_id = counted_service(receiver, referral) if receiver else None
        if receiver is None or service_id is None:
            return None, None, 0
        capacity = receiver.services[service_id].get("capacity")
        taken = (self.application.places_taken(receiver.id,
                                               service_id) if self.application.places_taken else 0)
        return service_id, capacity, taken

    def _service_full(self, referral: Referral) -> bool:
        if self.application.places_taken is None:
            return False
        _service, capacity, taken = self.capacity_of(referral)
        return service_full(capacity, taken)

    def forward_referral(self, by: Stamp, referral_id: UUID, to_organisation_id: UUID,
                         reason: str, to_service_id: str | None = None,
                         crisis_override_reason: str | None = None,
                         expected_version: int | None = None,
                         idempotency_key: str | None = None) -> dict[str, Any]:
        """Forwards to another organisation: the referral ends as forwarded and a child
        referral is sent from the forwarding organisation, on the person's consent."""
        def change(referral: Referral) -> list[Any]:
            referral.check("forward", by)
            receiver = self._receiver(to_organisation_id, to_service_id)
            case = self.application.load(Case, referral.case_id, what="case")
            self.application.ensure_case_open(case)
            child = Referral.create(id=uuid4(), case_id=case.id, need=referral.need,
                                    urgency=referral.urgency, kind=referral.kind,
                                    from_organisation_id=referral.to_organisation_id,
                                    from_user=by.user, to_organisation_id=receiver.id,
                                    to_service_id=to_service_id, reason=reason, by=by,
                                    consent_id=self._consent_for(case, receiver, referral.need),
                                    crisis_override_reason=crisis_override_reason,
                                    policy_version=self.application.network.deadlines.version,
                                    parent_referral_id=referral.id)
            referral.forward(child.id, receiver.id, reason, by=by)
            self._record_sharing(case, child, by)
            return [child, case]
        return self._referral_command("forward_referral", by, referral_id, expected_version,
                                      change, idempotency_key,
            args=arguments(locals()))

    # -- sender -------------------------------------------------------------------------------


def _simple_command(command: ReferralCommand) -> Callable[..., dict[str, Any]]:
    """The application's method for a command that needs nothing but the referral and its
    text (reason or outcome), made from the table in :mod:`domain.referral`."""
    def issue(self: ReferralService, by: Stamp, referral_id: UUID, *text: str,
              expected_version: int | None = None, idempotency_key: str | None = None,
              **named: str) -> dict[str, Any]:
        args: dict[str, Any] = {"referral_id": referral_id}
        values: list[str] = []
        if command.text:
            given = text[0] if text else named.pop(command.text, None)
            if given is None:
                raise TypeError(f"{command.application_method}() needs {command.text}")
            args[command.text] = given
            values.append(given)
        if named or len(text) > len(values):
            raise TypeError(f"{command.application_method}() got unexpected arguments")
        args["expected_version"] = expected_version
        return self._referral_command(
            command.application_method, by, referral_id, expected_version,
            lambda r: getattr(r, command.name)(*values, by=by) or [], idempotency_key,
            args=args)
    issue.__name__ = command.application_method
    issue.__doc__ = command.summary
    return issue


# Commands with more to decide (send, accept, forward) have methods of their own above.
for _command in COMMANDS.values():
    if not hasattr(ReferralService, _command.application_method):
        setattr(ReferralService, _command.application_method, _simple_command(_command))
