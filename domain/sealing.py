"""Sealing: what of a case is the person's — their person data and every free text of the
case and its referrals — is stored encrypted with a key of that case's own (crypto-shredding,
DESIGN §9). The keys, one per case, live outside the events (:mod:`runtime.person_keys`);
destroying a case's key makes these fields unreadable in the live store and in every copy of the events,
while the pseudonymous history (who did what, when, to which referral) stays readable.

:data:`SEALED_FIELDS` is the one table of what is sealed. :class:`SealingMapper` applies it
between the domain events and the stored events, so aggregates, services and projections
never handle ciphertext: an event read back carries the plain value, or :data:`~domain.base.ERASED`
where the key is gone. The whole stored state is encrypted besides with the installation's
store key (the library's AES-GCM cipher)."""

from __future__ import annotations

import json
import os
from contextvars import ContextVar
from base64 import b64decode, b64encode
from typing import Any, Protocol
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eventsourcing.persistence import Mapper, StoredEvent

from domain.base import ERASED, Erased
from domain.case import ERASED_PERSON, Case
from domain.referral import Referral


# Of each event, the fields that are the person's: person data and free texts. The erasure's
# own reason and everything that routes, counts or audits (needs, states, organisations,
# users, dates) stay readable.
SEALED_FIELDS: dict[type, tuple[str, ...]] = {
    Case.Opened: ("person",),
    Case.PersonDataCorrected: ("person",),
    Case.NeedRecorded: ("note",),
    Case.NeedResolved: ("note",),
    Case.ConsentRevoked: ("reason",),
    Case.ConsentOverridden: ("reason",),
    Case.Closed: ("reason",),
    Case.Reopened: ("reason",),
    Case.OwnGoalsRecorded: ("goals", "abilities"),
    Referral.Created: ("reason", "crisis_override_reason"),
    Referral.Sent: ("crisis_override_reason",),
    Referral.Cancelled: ("reason",),
    Referral.MarkedEnteredInError: ("reason",),
    Referral.Accepted: ("over_capacity_reason",),
    Referral.PutOnWaitingList: ("reason",),
    Referral.Rejected: ("reason",),
    Referral.Forwarded: ("reason",),
    Referral.PutOnHold: ("reason",),
    Referral.Completed: ("outcome",),
    Referral.Failed: ("outcome",),
    Referral.FeedbackGiven: ("what_would_help",),
}
# Parts of a sealed field that stay readable: the district routes referrals and the
# network's reports count per district (aggregated, DESIGN §9).
KEPT_CLEAR = {"person": ("district",)}
TOKEN, KEY_ID = "sealed", "case"
# While a command's aggregates are saved: referral id → its case, for the referral's later
# events, which do not name their case (set by ReferralNetwork.save).
CASE_OF: ContextVar[dict[UUID, UUID]] = ContextVar("fallnetz_case_of", default={})


class SealingError(RuntimeError):
    """A sealed field cannot be written: its case has no key (erased, or an old store not
    yet encrypted with ``flask --app web store encrypt``)."""


class PersonKeys(Protocol):
    def create(self, case_id: UUID) -> bytes: ...

    def key(self, case_id: UUID) -> bytes | None: ...

    def forget_case(self, case_id: UUID) -> None: ...

    def destroy_case(self, case_id: UUID) -> None: ...


def is_sealed(value: Any) -> bool:
    return isinstance(value, dict) and TOKEN in value


def seal(key: bytes, subject_id: UUID, value: Any) -> str:
    """The value encrypted with the case's key, bound to the event's subject (a case or a
    referral of it), so a sealed text cannot be moved to another subject unnoticed."""
    nonce = os.urandom(12)
    plain = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
    return b64encode(nonce + AESGCM(key).encrypt(nonce, plain, subject_id.bytes)).decode()


def unseal(key: bytes, subject_id: UUID, token: str) -> Any:
    raw = b64decode(token)
    return json.loads(AESGCM(key).decrypt(raw[:12], raw[12:], subject_id.bytes))


def erased(field: str, value: Any) -> Any:
    """What a sealed field reads as without its key."""
    if field == "person":
        clear = {k: v for k, v in value.items() if k not in (TOKEN, KEY_ID)}
        return {**ERASED_PERSON, **clear}
    return ERASED


def case_of(domain_event: Any) -> UUID | None:
    """The case whose key seals this event's fields."""
    if isinstance(domain_event, Case.Event):
        return domain_event.originator_id  # type: ignore[no-any-return]
    if isinstance(domain_event, Referral.Created):
        return domain_event.case_id  # type: ignore[no-any-return]
    return CASE_OF.get().get(domain_event.originator_id)


class SealingMapper(Mapper):  # type: ignore[type-arg]
    """The library's mapper, with :data:`SEALED_FIELDS` sealed on the way into the store and
    unsealed on the way out. With ``unseal=False`` (the projections: the views hold no person
    data) sealed fields read as erased without a key being looked up."""

    def __init__(self, *args: Any, keys: PersonKeys, unseal: bool = True,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.keys = keys
        self.unseal = unseal

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        fields = SEALED_FIELDS.get(type(domain_event))
        if fields:
            domain_event = self._sealed(domain_event, fields)
        return super().to_stored_event(domain_event)

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        domain_event = super().to_domain_event(stored_event)
        fields = SEALED_FIELDS.get(type(domain_event))
        if fields:
            self._unsealed(domain_event, fields)
        elif isinstance(domain_event, Case.Erased):
            # Keys this process still holds of the case are dropped as soon as it learns of
            # the erasure, even where another process destroyed them.
            self.keys.forget_case(domain_event.originator_id)
        return domain_event

    def _sealed(self, domain_event: Any, fields: tuple[str, ...]) -> Any:
        state = dict(vars(domain_event))
        todo = [f for f in fields if state.get(f) not in (None, "") and not is_sealed(
            state[f]) and not isinstance(state[f], Erased)]
        if not todo:
            return domain_event
        case_id = case_of(domain_event)
        key = None
        if case_id is not None:
            key = self.keys.create(case_id) if isinstance(domain_event, Case.Opened) \
                else self.keys.key(case_id)
        if key is None:
            raise SealingError(f"no person key for the subject {domain_event.originator_id}")
        subject_id = domain_event.originator_id
        for field in todo:
            value = state[field]
            clear = {k: value[k] for k in KEPT_CLEAR.get(field, ()) if k in value}
            private = {k: v for k, v in value.items() if k not in clear} if clear else value
            state[field] = {**clear, TOKEN: seal(key, subject_id, private),
                            KEY_ID: str(case_id)}
        copy = object.__new__(type(domain_event))
        object.__setattr__(copy, "__dict__", state)
        return copy

    def _unsealed(self, domain_event: Any, fields: tuple[str, ...]) -> None:
        state = vars(domain_event)
        for field in fields:
            value = state.get(field)
            if not is_sealed(value):
                continue
            key = self.keys.key(UUID(value[KEY_ID])) if self.unseal else None
            plain = None
            if key is not None:
                try:
                    plain = unseal(key, domain_event.originator_id, value[TOKEN])
                except (InvalidTag, ValueError):
                    plain = None
            if plain is None:
                state[field] = erased(field, value)
            elif field in KEPT_CLEAR:
                state[field] = {**{k: v for k, v in value.items()
                                   if k not in (TOKEN, KEY_ID)}, **plain}
            else:
                state[field] = plain
