"""Loading the objects a request names, checked per object against DESIGN §8
(:mod:`domain.access`). What the viewer may not see is answered 404, so its existence is not
revealed either."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from flask import abort

from domain import access
from domain.case import Case
from domain.organisation import Organisation
from domain.referral import Referral
from web.application import current_application
from web.auth import viewer


def _find(cls: type, object_id: UUID) -> Any:
    # Pages and checks only look at what they load (the commands of a request load their
    # own copies): the cached object itself, not a deep copy of it per request.
    found = current_application().find(cls, object_id, read_only=True)
    if found is None:
        abort(404)
    return found


def visible_case(case_id: UUID) -> Case:
    case = _find(Case, case_id)
    if not access.sees_case(viewer(), case):
        abort(404)
    return case


def visible_referral(referral_id: UUID) -> tuple[Referral, Case]:
    referral = _find(Referral, referral_id)
    case = _find(Case, referral.case_id)
    if not access.sees_referral(viewer(), referral, case):
        abort(404)
    return referral, case


def audited_case(case_id: UUID) -> Case:
    case = _find(Case, case_id)
    if not access.audits_case(viewer(), case):
        abort(404)
    return case


def audited_referral(referral_id: UUID) -> tuple[Referral, Case]:
    referral = _find(Referral, referral_id)
    case = _find(Case, referral.case_id)
    if not access.audits_referral(viewer(), referral, case):
        abort(404)
    return referral, case


def organisation(organisation_id: UUID) -> Organisation:
    return _find(Organisation, organisation_id)
