"""A referral as FHIR R4 resources, modelled on the HL7 SDOH Clinical Care guide's closed-loop
referral: one ServiceRequest (what is asked for) and a Task per organisation asked to
fulfil it; a forwarded referral's Task is ``partOf`` the forwarding one's.

Status mapping (DESIGN §5 → Task.status / ServiceRequest.status). The guide's task status
value set leaves out ``ready`` and ``received``, so our ``received`` is a ``requested`` Task
whose businessStatus says "received". A forwarded referral's Task is ``completed`` (its
owner handed the work on) with businessStatus "forwarded" and the sub-Task as output.

Task.statusReason is present exactly when the Task is rejected, on-hold, cancelled or failed
(the guide's rule); its text is the receiver's reason only where the caller may see the
referral's content, else only the code says why. The person is referred to by the case's
pseudonymous reference, never by name."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from domain.case import Case, need_group
from domain.organisation import Organisation
from domain.referral import Referral

SYSTEM = "urn:fallnetz"
TASK_STATUS = {
    "draft": "draft", "requested": "requested", "received": "requested",
    "accepted": "accepted", "in-progress": "in-progress", "on-hold": "on-hold",
    "completed": "completed", "failed": "failed", "rejected": "rejected",
    "cancelled": "cancelled", "entered-in-error": "entered-in-error",
    "forwarded": "completed",
}
SERVICE_REQUEST_STATUS = {
    "draft": "draft", "requested": "active", "received": "active", "accepted": "active",
    "in-progress": "active", "on-hold": "on-hold", "completed": "completed",
    "failed": "revoked", "rejected": "revoked", "cancelled": "revoked",
    "entered-in-error": "entered-in-error", "forwarded": "active",
}
PRIORITY = {"crisis": "stat", "urgent": "urgent", "routine": "routine"}
STATUS_REASON_REQUIRED = frozenset({"rejected", "on-hold", "cancelled", "failed"})


def _instant(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="seconds") if moment else None


def _urn(object_id: UUID) -> str:
    return f"urn:uuid:{object_id}"


def _organisation(organisation: Organisation | None, organisation_id: UUID) -> dict[str, Any]:
    reference = {"reference": _urn(organisation_id)}
    if organisation is not None:
        reference["display"] = organisation.name
    return reference


def _status_reason(referral: Referral, task_status: str, shows_content: bool,
                   ) -> dict[str, Any] | None:
    if task_status not in STATUS_REASON_REQUIRED:
        return None
    reason = {"coding": [{"system": f"{SYSTEM}:status-reason", "code": referral.status}]}
    text = referral.outcome if referral.status in ("completed", "failed") \
        else referral.status_reason
    if shows_content and text:
        reason["text"] = text
    return reason


def service_request_id(root_referral_id: UUID) -> UUID:
    """One ServiceRequest per forwarding chain, named after its first referral, whoever
    asks (and distinct from that referral's Task)."""
    return uuid5(NAMESPACE_URL, f"fallnetz:service-request:{root_referral_id}")


def service_request(chain: list[Referral], root_referral_id: UUID, case: Case,
                    organisations: Mapping[UUID, Organisation],
                    shows_content: bool) -> dict[str, Any]:
    first, last = chain[0], chain[-1]
    resource: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "id": str(service_request_id(root_referral_id)),
        "identifier": [{"system": f"{SYSTEM}:referral-chain",
                        "value": str(root_referral_id)}],
        "status": SERVICE_REQUEST_STATUS[last.status],
        "intent": "order",
        "category": [{"coding": [{"system": f"{SYSTEM}:need-group",
                                  "code": need_group(first.need)}]}],
        "code": {"coding": [{"system": f"{SYSTEM}:need", "code": first.need}]},
        "priority": PRIORITY[first.urgency],
        "subject": {"identifier": {"system": f"{SYSTEM}:case", "value": case.reference}},
        "authoredOn": _instant(first.sent_at or first.created_on),
        "requester": _organisation(organisations.get(first.from_organisation_id),
                                   first.from_organisation_id),
        "performer": [_organisation(organisations.get(last.to_organisation_id),
                                    last.to_organisation_id)],
    }
    if shows_content:
        resource["reasonCode"] = [{"text": first.reason}]
    return resource


def task(referral: Referral, service_request_id: UUID, case: Case,
         organisations: Mapping[UUID, Organisation], shows_content: bool,
         parent: Referral | None) -> dict[str, Any]:
    status = TASK_STATUS[referral.status]
    resource: dict[str, Any] = {
        "resourceType": "Task",
        "id": str(referral.id),
        "identifier": [{"system": f"{SYSTEM}:referral", "value": str(referral.id)}],
        "status": status,
        "businessStatus": {"coding": [{"system": f"{SYSTEM}:referral-status",
                                       "code": referral.status}],
                           "text": referral.status},
        "intent": "order",
        "priority": PRIORITY[referral.urgency],
        "code": {"coding": [{"system": "http://hl7.org/fhir/CodeSystem/task-code",
                             "code": "fulfill"}]},
        "focus": {"reference": _urn(service_request_id)},
        "for": {"identifier": {"system": f"{SYSTEM}:case", "value": case.reference}},
        "authoredOn": _instant(referral.sent_at or referral.created_on),
        "lastModified": _instant(referral.modified_on),
        "requester": _organisation(organisations.get(referral.from_organisation_id),
                                   referral.from_organisation_id),
        "owner": _organisation(organisations.get(referral.to_organisation_id),
                               referral.to_organisation_id),
    }
    reason = _status_reason(referral, status, shows_content)
    if reason is not None:
        resource["statusReason"] = reason
    if parent is not None:
        resource["partOf"] = [{"reference": _urn(parent.id)}]
    if referral.status == "forwarded" and referral.child_referral_id is not None:
        resource["output"] = [{"type": {"text": "forwarded to"},
                               "valueReference": {"reference": _urn(
                                   referral.child_referral_id)}}]
    return resource


def organisation_resource(organisation: Organisation) -> dict[str, Any]:
    return {
        "resourceType": "Organization",
        "id": str(organisation.id),
        "identifier": [{"system": f"{SYSTEM}:organisation", "value": organisation.key}],
        "active": organisation.active,
        "name": organisation.name,
    }


def referral_bundle(chain: list[Referral], root_referral_id: UUID, case: Case,
                    organisations: Mapping[UUID, Organisation],
                    shows_content: Callable[[Referral], bool]) -> dict[str, Any]:
    """A collection Bundle: the ServiceRequest, one Task per referral of the forwarding
    chain the caller may see (each ``partOf`` the one before) and the Organizations they
    name."""
    first = chain[0]
    request_id = service_request_id(root_referral_id)
    resources = [service_request(chain, root_referral_id, case, organisations,
                                 shows_content(first))]
    for parent, referral in zip([None, *chain[:-1]], chain, strict=True):
        resources.append(task(referral, request_id, case, organisations,
                              shows_content(referral), parent))
    named = []
    for referral in chain:
        for organisation_id in (referral.from_organisation_id, referral.to_organisation_id):
            if organisation_id in organisations and organisation_id not in named:
                named.append(organisation_id)
    resources += [organisation_resource(organisations[i]) for i in named]
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in resources],
    }
