"""The coordination office's planning: expected demand per need (or need group), district
and period, which the capacity report sets against the directory's places."""

from __future__ import annotations

from datetime import date
from typing import Any

from domain.base import DomainError
from domain.demand import DemandEstimate, check_months
from domain.messages import _
from domain.services.base import arguments, Service
from domain.stamp import Role, Stamp


class PlanningService(Service):
    def record_demand(self, by: Stamp, need: str, first_month: date, last_month: date,
                      people: int, district: str | None = None,
                      idempotency_key: str | None = None) -> dict[str, Any]:
        """Records (or records again, with a new number) the demand expected for a need or
        need group in a district (None: the whole network) over whole months."""
        network = self.application.network
        if not (network.is_need(need) or any(n.group == need
                                              for n in network.needs.values())):
            raise DomainError(_("Unknown need {need!r}.", need=need), field="need")
        if district is not None:
            self.application.check_district(district)
        check_months(first_month, last_month)

        def decide() -> Any:
            self.application.verify(by, (Role.COORDINATOR,))
            estimate_id = DemandEstimate.id_for(network.slug, need, district, first_month,
                                                last_month)
            estimate = self.application.find(DemandEstimate, estimate_id)
            if estimate is None:
                estimate = DemandEstimate.record(network.slug, need, district, first_month,
                                                 last_month, people, by=by)
            else:
                estimate.revise(people, by=by)
            return [estimate], {"estimate_id": estimate.id, "version": estimate.version}
        return self.application.execute("record_demand", by, decide,
                                        idempotency_key=idempotency_key,
                                        arguments=arguments(locals()))

    def withdraw_demand(self, by: Stamp, estimate_id: Any,
                        idempotency_key: str | None = None) -> dict[str, Any]:
        def decide() -> Any:
            self.application.verify(by, (Role.COORDINATOR,))
            estimate = self.application.load(DemandEstimate, estimate_id)
            estimate.withdraw(by=by)
            return [estimate], {"estimate_id": estimate.id, "version": estimate.version}
        return self.application.execute("withdraw_demand", by, decide,
                                        idempotency_key=idempotency_key,
                                        arguments=arguments(locals()))
