"""Case: one person or household, owned by a lead organisation (DESIGN §3, §5, §7)."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from domain.base import ERASED, DomainError, StampedAggregate, require_text
from domain.messages import _
from domain.stamp import Stamp
from domain.vocabulary import HOUSING_STAGES, LEGAL_SPHERES, RESIDENCE_STATUSES, SECTORS


class CaseClosed(DomainError):
    code = "case_closed"


class CaseNotClosed(DomainError):
    code = "case_not_closed"


class UnknownNeed(DomainError):
    code = "unknown_need"


class UnknownConsent(DomainError):
    code = "unknown_consent"


class ConsentNotActive(DomainError):
    code = "consent_not_active"


class InvalidPersonData(DomainError):
    code = "invalid_person_data"


class CaseErased(DomainError):
    code = "case_erased"


class ErasureNotRequested(DomainError):
    code = "erasure_not_requested"


class SamePersonConfirms(DomainError):
    """Four eyes: who requested an erasure cannot confirm it."""

    code = "same_person_confirms"


LANGUAGE = re.compile(r"^[a-z]{2,3}$")
PERSON_FIELDS = ("display_name", "birth_year", "household_size", "languages",
                 "interpreter_needed", "district")
# An erased person (domain.sealing): the district stays, everything else is gone.
ERASED_PERSON = {"display_name": ERASED, "birth_year": None, "household_size": None,
                 "languages": [], "interpreter_needed": None}


def validate_person(person: dict[str, Any], *, this_year: int) -> dict[str, Any]:
    """The pseudonymous person data a case carries; nothing more (data minimisation)."""
    unknown = set(person) - set(PERSON_FIELDS)
    if unknown:
        raise InvalidPersonData(_("Unknown person field {field!r}.", field=sorted(unknown)[0]),
                                field=sorted(unknown)[0])
    display_name = require_text(person.get("display_name"), "display_name",
                                _("A display name"))
    birth_year = person.get("birth_year")
    if birth_year is not None and not (
            isinstance(birth_year, int) and 1900 <= birth_year <= this_year):
        raise InvalidPersonData(_("Birth year must be a year between 1900 and {this_year}.",
                                  this_year=this_year), field="birth_year")
    household_size = person.get("household_size", 1)
    if not (isinstance(household_size, int) and 1 <= household_size <= 30):
        raise InvalidPersonData(_("Household size must be a number between 1 and 30."),
                                field="household_size")
    languages = person.get("languages") or []
    if not (isinstance(languages, list) and all(
            isinstance(code, str) and LANGUAGE.match(code) for code in languages)):
        raise InvalidPersonData(_("Languages are a list of ISO 639-1 codes such as 'ar'."),
                                field="languages")
    return {
        "display_name": display_name,
        "birth_year": birth_year,
        "household_size": household_size,
        "languages": list(languages),
        "interpreter_needed": bool(person.get("interpreter_needed")),
        "district": require_text(person.get("district"), "district", _("A district")),
    }


def need_group(need: str) -> str:
    return need.split(".", 1)[0]


class Case(StampedAggregate):
    @event("Opened")
    def __init__(self, id: UUID, reference: str, lead_organisation_id: UUID,
                 lead_caseworker: str, person: dict[str, Any], housing_stage: str,
                 residence_status: str, legal_sphere: str, by: Stamp) -> None:
        self.reference = reference
        self.lead_organisation_id = lead_organisation_id
        self.lead_caseworker = lead_caseworker
        self.person = person
        self.housing_stage = housing_stage
        self.residence_status = residence_status
        self.legal_sphere = legal_sphere
        self.needs: dict[str, dict[str, Any]] = {}
        self.consents: dict[str, dict[str, Any]] = {}
        self.status = "open"
        # draft lead handoffs of the latest legal-sphere change
        self.proposed_handoff_ids: list[UUID] = []
        # every referral of this case, sent or drafted, in the order they arose
        self.referral_ids: list[UUID] = []
        # {"reason", "by", "at"} while an erasure waits for the data protection role
        self.erasure_request: dict[str, Any] | None = None
        self.erased_at: Any = None
        self.closed_at: Any = None
        self.closed_reason = self.closed_by = ""
        # the person's own access code now in use: {"id", "expires_on"} (its code is not kept)
        self.person_access: dict[str, Any] | None = None
        # what the person wants first and can do themself, as they said it
        self.own_goals: dict[str, str] | None = None
        # consent id → {"requested_at", "due_at"}: revocations the person asked for
        self.revocation_requests: dict[str, dict[str, Any]] = {}

    @classmethod
    def open(cls, id: UUID, reference: str, lead_organisation_id: UUID, lead_caseworker: str,
             person: dict[str, Any], housing_stage: str, residence_status: str,
             legal_sphere: str, this_year: int, by: Stamp) -> Case:
        _check_housing_stage(housing_stage)
        _check_residence_status(residence_status)
        _check_legal_sphere(legal_sphere)
        return cls(id=id, reference=reference, lead_organisation_id=lead_organisation_id,
                   lead_caseworker=lead_caseworker,
                   person=validate_person(person, this_year=this_year),
                   housing_stage=housing_stage, residence_status=residence_status,
                   legal_sphere=legal_sphere, by=by)

    @property
    def is_open(self) -> bool:
        return self.status == "open"

    def _require_open(self) -> None:
        if not self.is_open:
            raise CaseClosed(_("Case {reference} is closed.", reference=self.reference))

    # -- person data --------------------------------------------------------------------------
    def correct_person_data(self, changes: dict[str, Any], this_year: int, by: Stamp) -> None:
        self._require_open()
        corrected = validate_person({**self.person, **changes}, this_year=this_year)
        if corrected == self.person:
            raise InvalidPersonData(_("The correction changes nothing."))
        self._person_data_corrected(person=corrected, by=by)

    @event("PersonDataCorrected")
    def _person_data_corrected(self, person: dict[str, Any], by: Stamp) -> None:
        self.person = person

    def change_housing_stage(self, housing_stage: str, by: Stamp) -> None:
        self._require_open()
        _check_housing_stage(housing_stage)
        if housing_stage == self.housing_stage:
            raise DomainError(_("The housing stage is already {housing_stage}.",
                                housing_stage=housing_stage), field="housing_stage")
        self._housing_stage_changed(housing_stage=housing_stage, by=by)

    @event("HousingStageChanged")
    def _housing_stage_changed(self, housing_stage: str, by: Stamp) -> None:
        self.housing_stage = housing_stage

    # -- needs --------------------------------------------------------------------------------
    def record_need(self, need: str, note: str, by: Stamp) -> None:
        self._require_open()
        if self.needs.get(need, {}).get("status") == "open":
            raise DomainError(_("The need {need} is already recorded as open.", need=need),
                              field="need")
        self._need_recorded(need=need, note=(note or "").strip(), by=by)

    @event("NeedRecorded")
    def _need_recorded(self, need: str, note: str, by: Stamp) -> None:
        self.needs[need] = {"status": "open", "note": note}

    def resolve_need(self, need: str, note: str, by: Stamp) -> None:
        self._require_open()
        if self.needs.get(need, {}).get("status") != "open":
            raise UnknownNeed(_("There is no open need {need} on this case.", need=need),
                              field="need")
        self._need_resolved(need=need, note=(note or "").strip(), by=by)

    @event("NeedResolved")
    def _need_resolved(self, need: str, note: str, by: Stamp) -> None:
        self.needs[need] = {"status": "resolved", "note": note}

    # -- consent ------------------------------------------------------------------------------
    def give_consent(self, consent_id: str, receiver_organisation_id: UUID | None,
                     sector: str | None, purposes: list[str], expires_on: date,
                     given_on: date, by: Stamp) -> None:
        self._require_open()
        if consent_id in self.consents:
            raise DomainError(_("This consent is recorded already."), field="consent_id")
        if (receiver_organisation_id is None) == (sector is None):
            raise DomainError(_("A consent names either one receiving organisation or one "
                                "sector."), field="receiver_organisation_id")
        if sector is not None and sector not in SECTORS:
            raise DomainError(_("Unknown sector {sector!r}.", sector=sector), field="sector")
        if not purposes:
            raise DomainError(_("A consent names at least one purpose."), field="purposes")
        if expires_on <= given_on:
            raise DomainError(_("The expiry date must lie after the day consent was given."),
                              field="expires_on")
        self._consent_given(consent_id=consent_id,
                            receiver_organisation_id=receiver_organisation_id, sector=sector,
                            purposes=list(purposes), expires_on=expires_on, given_on=given_on,
                            by=by)

    @event("ConsentGiven")
    def _consent_given(self, consent_id: str, receiver_organisation_id: UUID | None,
                       sector: str | None, purposes: list[str], expires_on: date,
                       given_on: date, by: Stamp) -> None:
        self.consents[consent_id] = {
            "receiver_organisation_id": receiver_organisation_id, "sector": sector,
            "purposes": purposes, "expires_on": expires_on, "given_on": given_on,
            "state": "active", "ended_reason": "",
        }

    def revoke_consent(self, consent_id: str, reason: str, by: Stamp) -> None:
        self._require_not_erased()
        self._require_active_consent(consent_id)
        self._consent_revoked(consent_id=consent_id,
                              reason=require_text(reason, "reason", _("A reason")), by=by)

    @event("ConsentRevoked")
    def _consent_revoked(self, consent_id: str, reason: str, by: Stamp) -> None:
        self.consents[consent_id] = {**self.consents[consent_id], "state": "revoked",
                                     "ended_reason": reason}
        self.revocation_requests.pop(consent_id, None)  # the person's request is met

    def request_revocation(self, consent_id: str, due_at: datetime, by: Stamp) -> None:
        """The person asks, on their own page, to withdraw a consent; the lead caseworker
        records the revocation by ``due_at``."""
        self._require_not_erased()
        self._require_active_consent(consent_id)
        if consent_id in self.revocation_requests:
            raise DomainError(_("You have asked for this already."), field="consent_id")
        self._revocation_requested(consent_id=consent_id, due_at=due_at, by=by)

    @event("RevocationRequested")
    def _revocation_requested(self, consent_id: str, due_at: datetime, by: Stamp) -> None:
        self.revocation_requests[consent_id] = {"requested_at": self.modified_on,
                                                "due_at": due_at}

    def record_signed_consent_form(self, consent_id: str, by: Stamp) -> None:
        """The printed form in the person's language came back signed."""
        consent = self._require_active_consent(consent_id)
        if consent.get("form_signed"):
            raise DomainError(_("The signed form is recorded already."), field="consent_id")
        self._consent_form_signed(consent_id=consent_id, by=by)

    @event("ConsentFormSigned")
    def _consent_form_signed(self, consent_id: str, by: Stamp) -> None:
        self.consents[consent_id] = {**self.consents[consent_id], "form_signed": True}

    # -- the person's own voice ---------------------------------------------------------------
    def record_own_goals(self, goals: str, abilities: str, by: Stamp) -> None:
        """What the person wants first and what they can do themself, in their words."""
        self._require_open()
        self._require_not_erased()
        goals, abilities = (goals or "").strip(), (abilities or "").strip()
        if not goals and not abilities:
            raise DomainError(_("Please write down what the person wants first or what they "
                                "can do themself."), field="goals")
        self._own_goals_recorded(goals=goals, abilities=abilities, by=by)

    @event("OwnGoalsRecorded")
    def _own_goals_recorded(self, goals: str, abilities: str, by: Stamp) -> None:
        self.own_goals = {"goals": goals, "abilities": abilities}

    def give_person_access(self, access_id: UUID, expires_on: date, by: Stamp) -> None:
        """A slip with a new code: the earlier one, if any, stops working (the service
        revokes its access in the same transaction)."""
        self._require_open()
        self._require_not_erased()
        if not (self.person.get("birth_year")):
            raise DomainError(_("Record the person's birth year first: their page asks for it "
                                "with the code."), field="birth_year")
        self._person_access_given(access_id=access_id, expires_on=expires_on, by=by)

    @event("PersonAccessGiven")
    def _person_access_given(self, access_id: UUID, expires_on: date, by: Stamp) -> None:
        self.person_access = {"id": access_id, "expires_on": expires_on}

    def revoke_person_access(self, by: Stamp) -> UUID:
        if self.person_access is None:
            raise DomainError(_("The person has no access code."), field="access")
        access_id = self.person_access["id"]
        self._person_access_revoked(access_id=access_id, by=by)
        return access_id

    @event("PersonAccessRevoked")
    def _person_access_revoked(self, access_id: UUID, by: Stamp) -> None:
        self.person_access = None

    def record_consent_expiry(self, consent_id: str, today: date, by: Stamp) -> None:
        consent = self._require_active_consent(consent_id)
        if consent["expires_on"] >= today:
            raise ConsentNotActive(_("This consent has not expired yet."), field="consent_id")
        self._consent_expired(consent_id=consent_id, by=by)

    @event("ConsentExpired")
    def _consent_expired(self, consent_id: str, by: Stamp) -> None:
        self.consents[consent_id] = {**self.consents[consent_id], "state": "expired"}
        self.revocation_requests.pop(consent_id, None)  # nothing left to withdraw

    def _require_active_consent(self, consent_id: str) -> dict[str, Any]:
        consent = self.consents.get(consent_id)
        if consent is None:
            raise UnknownConsent(_("There is no such consent on this case."),
                                 field="consent_id")
        if consent["state"] != "active":
            raise ConsentNotActive(_("This consent was {state} already.", state=consent["state"]),
                                   field="consent_id")
        return consent

    def consent_covering(self, organisation_id: UUID, sector: str, need: str,
                         on: date) -> str | None:
        """The id of a consent that allows sharing this case with the organisation for the
        need on the given day, or None."""
        for consent_id, c in self.consents.items():
            if c["state"] != "active" or c["expires_on"] < on or c["given_on"] > on:
                continue
            if c["receiver_organisation_id"] not in (None, organisation_id):
                continue
            if c["sector"] not in (None, sector):
                continue
            if need in c["purposes"] or need_group(need) in c["purposes"]:
                return consent_id
        return None

    def record_sharing(self, referral_id: UUID, organisation_id: UUID, consent_id: str | None,
                       override_reason: str | None, by: Stamp) -> None:
        """Records on the case that its data goes to an organisation, on which consent or on
        which crisis override, so a revocation saved at the same moment conflicts."""
        if consent_id is not None:
            self._consent_used(consent_id=consent_id, referral_id=referral_id,
                               organisation_id=organisation_id, by=by)
        else:
            self._consent_overridden(referral_id=referral_id, organisation_id=organisation_id,
                                     reason=override_reason or "", by=by)

    @event("ConsentUsed")
    def _consent_used(self, consent_id: str, referral_id: UUID, organisation_id: UUID,
                      by: Stamp) -> None:
        self._note_referral(referral_id)

    @event("ConsentOverridden")
    def _consent_overridden(self, referral_id: UUID, organisation_id: UUID, reason: str,
                            by: Stamp) -> None:
        self._note_referral(referral_id)

    def _note_referral(self, referral_id: UUID) -> None:
        if referral_id not in self.referral_ids:
            self.referral_ids.append(referral_id)

    def consent_is_valid(self, consent_id: str, on: date) -> bool:
        c = self.consents.get(consent_id)
        return bool(c) and c["state"] == "active" and c["given_on"] <= on <= c["expires_on"]

    # -- residence status and legal sphere -----------------------------------------------------
    def change_residence_status(self, residence_status: str, legal_sphere: str,
                                by: Stamp) -> bool:
        """Records the new status; returns whether the legal sphere changed with it."""
        self._require_open()
        _check_residence_status(residence_status)
        _check_legal_sphere(legal_sphere)
        if residence_status == self.residence_status:
            raise DomainError(_("The residence status is already recorded as "
                                "{residence_status}.", residence_status=residence_status),
                              field="residence_status")
        self._residence_status_changed(residence_status=residence_status, by=by)
        if legal_sphere != self.legal_sphere:
            self._legal_sphere_changed(legal_sphere=legal_sphere,
                                       previous_legal_sphere=self.legal_sphere, by=by)
            return True
        return False

    @event("ResidenceStatusChanged")
    def _residence_status_changed(self, residence_status: str, by: Stamp) -> None:
        self.residence_status = residence_status

    def change_legal_sphere(self, legal_sphere: str, by: Stamp) -> None:
        self._require_open()
        _check_legal_sphere(legal_sphere)
        if legal_sphere == self.legal_sphere:
            raise DomainError(_("The legal sphere is already {legal_sphere}.",
                                legal_sphere=legal_sphere), field="legal_sphere")
        self._legal_sphere_changed(legal_sphere=legal_sphere,
                                   previous_legal_sphere=self.legal_sphere, by=by)

    @event("LegalSphereChanged")
    def _legal_sphere_changed(self, legal_sphere: str, previous_legal_sphere: str,
                              by: Stamp) -> None:
        self.legal_sphere = legal_sphere

    def record_proposed_handoffs(self, referral_ids: list[UUID], by: Stamp) -> None:
        self._lead_handoffs_proposed(referral_ids=referral_ids, by=by)

    @event("LeadHandoffsProposed")
    def _lead_handoffs_proposed(self, referral_ids: list[UUID], by: Stamp) -> None:
        self.proposed_handoff_ids = referral_ids
        for referral_id in referral_ids:
            self._note_referral(referral_id)

    # -- responsibility -----------------------------------------------------------------------
    def assign_caseworker(self, caseworker: str, by: Stamp) -> None:
        self._require_open()
        if caseworker == self.lead_caseworker:
            raise DomainError(_("{caseworker} is already the lead caseworker.",
                                caseworker=caseworker), field="caseworker")
        self._caseworker_assigned(caseworker=caseworker, by=by)

    @event("CaseworkerAssigned")
    def _caseworker_assigned(self, caseworker: str, by: Stamp) -> None:
        self.lead_caseworker = caseworker

    def move_lead(self, organisation_id: UUID, caseworker: str, referral_id: UUID,
                  by: Stamp) -> None:
        self._require_open()
        self._lead_moved(organisation_id=organisation_id, caseworker=caseworker,
                         previous_organisation_id=self.lead_organisation_id,
                         referral_id=referral_id, by=by)

    @event("LeadMoved")
    def _lead_moved(self, organisation_id: UUID, caseworker: str,
                    previous_organisation_id: UUID, referral_id: UUID, by: Stamp) -> None:
        self.lead_organisation_id = organisation_id
        self.lead_caseworker = caseworker

    # -- lifecycle ----------------------------------------------------------------------------
    def close(self, reason: str, by: Stamp) -> None:
        self._require_open()
        self._closed(reason=require_text(reason, "reason", _("A reason")), by=by)

    @event("Closed")
    def _closed(self, reason: str, by: Stamp) -> None:
        self.status = "closed"
        self.closed_at = self.modified_on
        self.closed_reason = reason
        self.closed_by = by.user

    def reopen(self, reason: str, by: Stamp) -> None:
        self._require_not_erased()
        if self.is_open:
            raise CaseNotClosed(_("Case {reference} is open.", reference=self.reference))
        self._reopened(reason=require_text(reason, "reason", _("A reason")), by=by)

    @event("Reopened")
    def _reopened(self, reason: str, by: Stamp) -> None:
        self.status = "open"
        self.erasure_request = None

    # -- erasure (GDPR Art. 17; four eyes: a supervisor asks, the data protection role
    # confirms) ------------------------------------------------------------------------------
    def request_erasure(self, reason: str, by: Stamp) -> None:
        self._require_not_erased()
        if self.is_open:
            raise DomainError(_("Close case {reference} before asking for its erasure.",
                                reference=self.reference))
        if self.erasure_request is not None:
            raise DomainError(_("The erasure of case {reference} is requested already.",
                                reference=self.reference))
        self._erasure_requested(reason=require_text(reason, "reason", _("A reason")), by=by)

    @event("ErasureRequested")
    def _erasure_requested(self, reason: str, by: Stamp) -> None:
        self.erasure_request = {"reason": reason, "by": by.user, "at": self.modified_on}

    def decline_erasure(self, reason: str, by: Stamp) -> None:
        self._require_erasure_request()
        self._erasure_declined(reason=require_text(reason, "reason", _("A reason")), by=by)

    @event("ErasureDeclined")
    def _erasure_declined(self, reason: str, by: Stamp) -> None:
        self.erasure_request = None

    def erase(self, by: Stamp) -> None:
        request = self._require_erasure_request()
        if request["by"] == by.user:
            raise SamePersonConfirms(_("A second person confirms an erasure: you asked for "
                                       "this one."))
        self._erased(requested_by=request["by"], reason=request["reason"], by=by)

    @event("Erased")
    def _erased(self, requested_by: str, reason: str, by: Stamp) -> None:
        """The person's data and free texts are gone from here on; their keys are destroyed
        once this is saved (domain.services.cases)."""
        self.erasure_request = None
        self.erased_at = self.modified_on
        self.closed_reason = ERASED if self.closed_reason else ""
        self.person = {**ERASED_PERSON, "district": self.person["district"]}
        self.needs = {need: {**n, "note": ERASED if n["note"] else ""}
                      for need, n in self.needs.items()}
        self.consents = {cid: {**c, "ended_reason": ERASED if c["ended_reason"] else ""}
                         for cid, c in self.consents.items()}
        if self.own_goals is not None:
            self.own_goals = {"goals": ERASED, "abilities": ERASED}
        self.person_access = None

    @property
    def is_erased(self) -> bool:
        return self.erased_at is not None

    def _require_not_erased(self) -> None:
        if self.is_erased:
            raise CaseErased(_("Case {reference} is erased.", reference=self.reference))

    def _require_erasure_request(self) -> dict[str, Any]:
        self._require_not_erased()
        if self.erasure_request is None:
            raise ErasureNotRequested(_("No erasure of case {reference} is requested.",
                                        reference=self.reference))
        return self.erasure_request


def _check_housing_stage(value: str) -> None:
    if value not in HOUSING_STAGES:
        raise DomainError(_("Unknown housing stage {housing_stage!r}.", housing_stage=value),
                          field="housing_stage")


def _check_residence_status(value: str) -> None:
    if value not in RESIDENCE_STATUSES:
        raise DomainError(_("Unknown residence status {residence_status!r}.",
                            residence_status=value), field="residence_status")


def _check_legal_sphere(value: str) -> None:
    if value not in LEGAL_SPHERES:
        raise DomainError(_("Unknown legal sphere {legal_sphere!r}.", legal_sphere=value),
                          field="legal_sphere")
