"""Who sees what (DESIGN §8), decided per object. The web and the API ask these functions
for every case and referral they show; anything not allowed here is refused.

- Caseworkers and supervisors of the lead organisation see its cases.
- Caseworkers and supervisors of the sending or the receiving organisation see a referral;
  the receiving side sees the minimum case data it carries only while the person's consent
  holds (or, for a crisis override, while the referral is open). Drafts stay with the sender.
- Supervisors audit the full histories of their organisation's cases and referrals.
- Coordinators see the metadata, not the content, of escalated referrals.
- Admins see no case content.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from domain.agreement import Agreement
from domain.case import Case
from domain.referral import DRAFT, OPEN_STATES, Referral
from domain.stamp import STAFF_ROLES, Role, Stamp

CASE_CONTENT_ROLES = (Role.CASEWORKER.value, Role.SUPERVISOR.value)


class Side(StrEnum):
    SENDER = "sender"
    RECEIVER = "receiver"


def sees_case(viewer: Stamp, case: Case) -> bool:
    return viewer.role in CASE_CONTENT_ROLES and viewer.organisation_id == \
        case.lead_organisation_id


def referral_side(viewer: Stamp, referral: Referral) -> Side | None:
    """Which side of the referral the viewer's organisation is on, if it may see it."""
    if viewer.role not in CASE_CONTENT_ROLES:
        return None
    if viewer.organisation_id == referral.from_organisation_id:
        return Side.SENDER
    if viewer.organisation_id == referral.to_organisation_id and referral.status != DRAFT:
        return Side.RECEIVER
    return None


def sees_referral(viewer: Stamp, referral: Referral, case: Case) -> bool:
    # The lead organisation sees every referral of its cases, also those a receiver
    # forwarded on.
    return referral_side(viewer, referral) is not None or sees_case(viewer, case)


def shares_case_data(referral: Referral, case: Case, today: date) -> bool:
    """Whether the referral's receiver may see the person's minimum data now."""
    if referral.consent_id is not None:
        return case.consent_is_valid(referral.consent_id, today)
    return bool(referral.crisis_override_reason) and referral.status in OPEN_STATES


def sees_case_data_of(viewer: Stamp, referral: Referral, case: Case, today: date) -> bool:
    if sees_case(viewer, case):
        return True
    return referral_side(viewer, referral) is Side.RECEIVER and shares_case_data(
        referral, case, today)


def sees_referral_content(viewer: Stamp, referral: Referral, case: Case, today: date) -> bool:
    """The free text of a referral (reasons, outcome, override) is case content: the
    receiving side sees it only while it may see the person's data."""
    if sees_case(viewer, case) or referral_side(viewer, referral) is Side.SENDER:
        return True
    return sees_case_data_of(viewer, referral, case, today)


def audits_case(viewer: Stamp, case: Case) -> bool:
    return viewer.role == Role.SUPERVISOR.value and \
        viewer.organisation_id == case.lead_organisation_id


def audits_referral(viewer: Stamp, referral: Referral, case: Case) -> bool:
    return viewer.role == Role.SUPERVISOR.value and (
        referral_side(viewer, referral) is not None or audits_case(viewer, case))


def sees_escalation_metadata(viewer: Stamp) -> bool:
    return viewer.role == Role.COORDINATOR.value


def sees_network_reports(viewer: Stamp) -> bool:
    """The coordination office sees the whole network's aggregates (DESIGN §11);
    supervisors those of their own organisation's referrals."""
    return viewer.role in (Role.COORDINATOR.value, Role.SUPERVISOR.value)


def plans_demand(viewer: Stamp) -> bool:
    """The coordination office records the demand it expects (capacity against demand)."""
    return viewer.role == Role.COORDINATOR.value


def sees_directory(viewer: Stamp) -> bool:
    return viewer.role in {r.value for r in STAFF_ROLES}


def keeps_directory(viewer: Stamp) -> bool:
    return viewer.role in (Role.COORDINATOR.value, Role.ADMIN.value)


def keeps_register(viewer: Stamp) -> bool:
    """The coordination office keeps the needs register (conferences, working groups, need
    groups, agreements, the reports to politics)."""
    return viewer.role == Role.COORDINATOR.value


def sees_agreement(viewer: Stamp, agreement: Agreement) -> bool:
    """An agreement is seen by the coordination office and by the organisation that took it
    on (its caseworkers and supervisors, in whose inbox it lands)."""
    return keeps_register(viewer) or (viewer.role in CASE_CONTENT_ROLES
                                      and viewer.organisation_id == agreement.organisation_id)
