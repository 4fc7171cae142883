"""Organisation: an actor of the network's directory, its services and its members."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from datetime import date, datetime, timedelta, timezone
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import event

from domain.base import MAIL_ADDRESS, DomainError, StampedAggregate, require_text
from domain.messages import _
from domain.stamp import Role, Stamp
from domain.vocabulary import LEGAL_SPHERES, SECTORS


class OrganisationInactive(DomainError):
    code = "organisation_inactive"


class UnknownService(DomainError):
    code = "unknown_service"


class InvalidService(DomainError):
    code = "invalid_service"


KEY = re.compile(r"^[a-z0-9][a-z0-9-]{1,39}$")
MEMBER_ROLES = (Role.CASEWORKER, Role.SUPERVISOR, Role.COORDINATOR, Role.ADMIN,
                Role.DATA_PROTECTION)
# What an API token may do beyond its role; the role's own limits (DESIGN §8) still hold.
TOKEN_SCOPES = ("cases:read", "cases:write", "referrals:read", "referrals:write",
                "directory:read", "directory:write", "audit:read", "integrations:write",
                "reports:read", "staff:write")
TOKEN_PRINCIPAL = "api:"  # how a token appears as the acting user in events and audits
# A token lasts a year unless its issuer says otherwise, at most two: a forgotten one ends.
DEFAULT_TOKEN_DAYS = 365
MOST_TOKEN_DAYS = 730


def by_day(moment: datetime) -> date:
    """The day (UTC) of an event's moment."""
    return moment.astimezone(timezone.utc).date()


class UnknownToken(DomainError):
    code = "unknown_token"


def secret_digest(secret: str) -> str:
    """Tokens are long random strings, so a plain SHA-256 keeps them safe at rest; a slow
    password hash would only slow every API request down."""
    return hashlib.sha256(secret.encode()).hexdigest()


def validate_service(service: dict[str, Any]) -> dict[str, Any]:
    """Normalise a service description; the application validated needs against the catalogue."""
    name = require_text(service.get("name"), "name", _("A service name"))
    needs = list(service.get("needs") or [])
    if not needs:
        raise InvalidService(_("A service must offer at least one need."), field="needs")
    spheres = list(service.get("legal_spheres") or [])
    for sphere in spheres:
        if sphere not in LEGAL_SPHERES:
            raise InvalidService(_("Unknown legal sphere {legal_sphere!r}.",
                                   legal_sphere=sphere),
                                 field="legal_spheres")
    capacity = service.get("capacity")
    if capacity is not None and (not isinstance(capacity, int) or capacity < 0):
        raise InvalidService(_("Capacity must be a whole number of at least 0."),
                             field="capacity")
    return {
        "name": name,
        "needs": needs,
        "legal_spheres": spheres,
        "districts": list(service.get("districts") or []),
        "languages": list(service.get("languages") or []),
        "capacity": capacity,
    }


# What a contact person of the directory says: a name, and a title, phone, e-mail where known.
CONTACT_FIELDS = ("name", "title", "phone", "email")


def contact_key(contact: dict[str, Any]) -> str:
    """A contact as it reads now. The coordinator chooses contacts public by this key, so a
    contact changed by an import afterwards (another name, another address) is a new one
    and not public until chosen again."""
    text = json.dumps(contact, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class Organisation(StampedAggregate):
    @staticmethod
    def id_for(network: str, key: str) -> UUID:
        """Organisations named in a network's files get ids derived from their key."""
        return uuid5(NAMESPACE_URL, f"fallnetz:organisation:{network}:{key}")

    @event("Registered")
    def __init__(self, id: UUID, key: str, name: str, sector: str, inbox_address: str,
                 contacts: list[dict[str, str]], by: Stamp) -> None:
        self.key = key
        self.name = name
        self.sector = sector
        self.inbox_address = inbox_address
        self.contacts = contacts
        self.services: dict[str, dict[str, Any]] = {}
        self.members: dict[str, str] = {}
        self.api_tokens: dict[str, dict[str, Any]] = {}
        self.webhooks: dict[str, dict[str, Any]] = {}
        self.active = True
        # The services the HSDS API serves to anyone; None: the organisation is not public.
        self.public_services: list[str] | None = None
        # The contacts (their contact_key) the public Organigramm shows; none until chosen.
        self.public_contacts: list[str] = []

    @classmethod
    def register(cls, id: UUID, key: str, name: str, sector: str, inbox_address: str,
                 contacts: list[dict[str, str]] | None, by: Stamp) -> Organisation:
        if not KEY.match(key or ""):
            raise DomainError(_("A key is 2–40 lower-case letters, digits or '-'."), field="key")
        name = require_text(name, "name", _("The organisation's name"))
        if sector not in SECTORS:
            raise DomainError(_("Unknown sector {sector!r}.", sector=sector), field="sector")
        inbox = require_text(inbox_address, "inbox_address", _("An inbox address"))
        if not MAIL_ADDRESS.match(inbox):
            raise DomainError(_("This is not an e-mail address."), field="inbox_address")
        return cls(id=id, key=key, name=name, sector=sector, inbox_address=inbox,
                   contacts=list(contacts or []), by=by)

    # -- services ---------------------------------------------------------------------------
    def add_service(self, service_id: str, service: dict[str, Any], by: Stamp) -> None:
        self._require_active()
        service_id = require_text(service_id, "service_id", _("A service id"))
        if service_id in self.services:
            raise InvalidService(_("Service {service_id!r} exists already.",
                                   service_id=service_id),
                                 field="service_id")
        self._service_added(service_id=service_id, service=validate_service(service), by=by)

    @event("ServiceAdded")
    def _service_added(self, service_id: str, service: dict[str, Any], by: Stamp) -> None:
        self.services[service_id] = service

    def change_service(self, service_id: str, service: dict[str, Any], by: Stamp) -> None:
        self._require_active()
        self.service(service_id)
        self._service_changed(service_id=service_id, service=validate_service(service), by=by)

    @event("ServiceChanged")
    def _service_changed(self, service_id: str, service: dict[str, Any], by: Stamp) -> None:
        self.services[service_id] = service

    def change_capacity(self, service_id: str, capacity: int, by: Stamp) -> None:
        self._require_active()
        self.service(service_id)
        if not isinstance(capacity, int) or capacity < 0:
            raise InvalidService(_("Capacity must be a whole number of at least 0."),
                                 field="capacity")
        self._capacity_changed(service_id=service_id, capacity=capacity, by=by)

    @event("CapacityChanged")
    def _capacity_changed(self, service_id: str, capacity: int, by: Stamp) -> None:
        self.services[service_id] = {**self.services[service_id], "capacity": capacity}

    def end_service(self, service_id: str, by: Stamp) -> None:
        """No longer offered (its publisher withdrew it); referrals to it stay as they are.
        Described again by a later change, it is offered again."""
        if not self.service(service_id).get("ended"):
            self._service_ended(service_id=service_id, by=by)

    @event("ServiceEnded")
    def _service_ended(self, service_id: str, by: Stamp) -> None:
        self.services[service_id] = {**self.services[service_id], "ended": True}

    def offered_services(self) -> dict[str, dict[str, Any]]:
        """The services one can refer to: all but the ended ones."""
        return {k: s for k, s in self.services.items() if not s.get("ended")}

    def service(self, service_id: str) -> dict[str, Any]:
        try:
            return self.services[service_id]
        except KeyError:
            raise UnknownService(_("{organisation} offers no service {service_id!r}.",
                                   organisation=self.name, service_id=service_id),
                                 field="service_id") from None

    def offers(self, need: str) -> bool:
        return any(need in s["needs"] for s in self.offered_services().values())

    # -- what a publisher changes, and what is public ----------------------------------------
    def change_details(self, name: str, inbox_address: str, contacts: list[dict[str, str]],
                       by: Stamp) -> None:
        """Name, inbox and contacts as the directory it was imported from says now."""
        self._require_active()
        name = require_text(name, "name", _("The organisation's name"))
        inbox = require_text(inbox_address, "inbox_address", _("An inbox address"))
        if not MAIL_ADDRESS.match(inbox):
            raise DomainError(_("This is not an e-mail address."), field="inbox_address")
        if (name, inbox, list(contacts)) != (self.name, self.inbox_address, self.contacts):
            self._details_changed(name=name, inbox_address=inbox, contacts=list(contacts),
                                  by=by)

    @event("DetailsChanged")
    def _details_changed(self, name: str, inbox_address: str, contacts: list[dict[str, str]],
                         by: Stamp) -> None:
        self.name, self.inbox_address, self.contacts = name, inbox_address, contacts

    def publish(self, services: list[str], by: Stamp) -> None:
        """Served to anyone by the HSDS API, with these of its services."""
        for service_id in services:
            self.service(service_id)
        self._published(services=sorted(set(services)), by=by)

    @event("Published")
    def _published(self, services: list[str], by: Stamp) -> None:
        self.public_services = services

    def withdraw(self, by: Stamp) -> None:
        if self.public_services is None:
            raise DomainError(_("{organisation} is not public.", organisation=self.name),
                              field="public")
        self._withdrawn(by=by)

    @event("PublicationWithdrawn")
    def _withdrawn(self, by: Stamp) -> None:
        self.public_services = None

    def choose_public_contacts(self, keys: list[str], by: Stamp) -> bool:
        """The contacts (by :func:`contact_key`) the public Organigramm shows; the others
        stay for the network's staff. Records nothing when the choice is as it was."""
        known = {contact_key(c) for c in self.contacts}
        if any(key not in known for key in keys):
            raise DomainError(_("{organisation} has no such contact (any more); please look "
                                "at its contacts again.", organisation=self.name),
                              field="contacts")
        chosen = sorted(set(keys))
        if chosen == sorted(k for k in self.public_contacts if k in known):
            return False
        self._public_contacts_chosen(contacts=chosen, by=by)
        return True

    @event("PublicContactsChosen")
    def _public_contacts_chosen(self, contacts: list[str], by: Stamp) -> None:
        self.public_contacts = contacts

    def shown_contacts(self) -> list[dict[str, Any]]:
        """The contacts chosen public, as they read now."""
        chosen = set(self.public_contacts)
        return [c for c in self.contacts if contact_key(c) in chosen]

    # -- members ----------------------------------------------------------------------------
    def add_member(self, user: str, role: Role, by: Stamp) -> None:
        self._require_active()
        if Role(role) not in MEMBER_ROLES:
            raise DomainError(_("Role {role!r} cannot be given to a member.", role=role),
                              field="role")
        if self.members.get(user) == Role(role).value:
            raise DomainError(_("{user} is already a {role} of {organisation}.", user=user,
                                role=role, organisation=self.name), field="user")
        self._member_added(user=user, role=Role(role).value, by=by)

    @event("MemberAdded")
    def _member_added(self, user: str, role: str, by: Stamp) -> None:
        self.members[user] = role

    def remove_member(self, user: str, by: Stamp) -> None:
        if user not in self.members:
            raise DomainError(_("{user} is not a member of {organisation}.", user=user,
                                organisation=self.name), field="user")
        self._member_removed(user=user, by=by)

    @event("MemberRemoved")
    def _member_removed(self, user: str, by: Stamp) -> None:
        del self.members[user]

    def role_of(self, user: str) -> str | None:
        return self.members.get(user)

    def acting_role(self, user: str) -> str | None:
        """The role a member, or a system acting with one of our API tokens, acts in."""
        if user.startswith(TOKEN_PRINCIPAL):
            token = self._token_named(user[len(TOKEN_PRINCIPAL):])
            return token["role"] if token is not None else None
        return self.role_of(user)

    # -- API tokens -------------------------------------------------------------------------
    def issue_token(self, token_id: str, name: str, role: Role, scopes: list[str],
                    secret: str, expires_on: date, today: date, by: Stamp) -> None:
        self._require_active()
        if not today < expires_on <= today + timedelta(days=MOST_TOKEN_DAYS):
            raise DomainError(_("A token expires after today and within {days} days.",
                                days=MOST_TOKEN_DAYS), field="expires_on")
        if not KEY.match(name or ""):
            raise DomainError(_("A token name is 2–40 lower-case letters, digits or '-'."),
                              field="name")
        if self._token_named(name) is not None:
            raise DomainError(_("{organisation} has an active token named {name!r} already.",
                                organisation=self.name, name=name), field="name")
        if Role(role) not in MEMBER_ROLES:
            raise DomainError(_("Role {role!r} cannot be given to a member.", role=role),
                              field="role")
        unknown = sorted(set(scopes) - set(TOKEN_SCOPES))
        if unknown or not scopes:
            raise DomainError(_("Scopes are some of: {scopes}.", scopes=", ".join(TOKEN_SCOPES)),
                              field="scopes")
        self._token_issued(token_id=token_id, name=name, role=Role(role).value,
                           scopes=sorted(set(scopes)), secret_hash=secret_digest(secret),
                           expires_on=expires_on, by=by)

    @event("TokenIssued")
    def _token_issued(self, token_id: str, name: str, role: str, scopes: list[str],
                      secret_hash: str, by: Stamp, expires_on: date | None = None) -> None:
        # Tokens issued before they expired get a year from their issue.
        expires = expires_on or by_day(self.modified_on) + timedelta(days=DEFAULT_TOKEN_DAYS)
        self.api_tokens[token_id] = {"name": name, "role": role, "scopes": scopes,
                                     "secret_hash": secret_hash, "revoked": False,
                                     "expires_on": expires}

    def revoke_token(self, token_id: str, by: Stamp) -> None:
        token = self.api_tokens.get(token_id)
        if token is None or token["revoked"]:
            raise UnknownToken(_("{organisation} has no active token {token_id!r}.",
                                 organisation=self.name, token_id=token_id), field="token_id")
        self._token_revoked(token_id=token_id, by=by)

    @event("TokenRevoked")
    def _token_revoked(self, token_id: str, by: Stamp) -> None:
        self.api_tokens[token_id] = {**self.api_tokens[token_id], "revoked": True}

    def token_matching(self, token_id: str, secret: str, today: date) -> dict[str, Any] | None:
        """The active, unexpired token with this id and secret, compared in constant
        time."""
        token = self.api_tokens.get(token_id)
        if token is None or token["revoked"] or not self.active or token["expires_on"] < today:
            return None
        if not hmac.compare_digest(token["secret_hash"], secret_digest(secret)):
            return None
        return token

    def _token_named(self, name: str) -> dict[str, Any] | None:
        return next((t for t in self.api_tokens.values()
                     if t["name"] == name and not t["revoked"]), None)

    # -- webhooks ---------------------------------------------------------------------------
    def subscribe_webhook(self, webhook_id: str, url: str, secret: str, by: Stamp) -> None:
        self._require_active()
        if not re.match(r"^https?://[^\s/]+", url or "") or len(url) > 2000:
            raise DomainError(_("A webhook address is an http or https URL."), field="url")
        if any(w["url"] == url for w in self.webhooks.values()):
            raise DomainError(_("This address is subscribed already."), field="url")
        self._webhook_subscribed(webhook_id=webhook_id, url=url, secret=secret, by=by)

    @event("WebhookSubscribed")
    def _webhook_subscribed(self, webhook_id: str, url: str, secret: str, by: Stamp) -> None:
        self.webhooks[webhook_id] = {"url": url, "secret": secret}

    def remove_webhook(self, webhook_id: str, by: Stamp) -> None:
        if webhook_id not in self.webhooks:
            raise DomainError(_("{organisation} has no webhook {webhook_id!r}.",
                                organisation=self.name, webhook_id=webhook_id),
                              field="webhook_id")
        self._webhook_removed(webhook_id=webhook_id, by=by)

    @event("WebhookRemoved")
    def _webhook_removed(self, webhook_id: str, by: Stamp) -> None:
        del self.webhooks[webhook_id]

    # -- lifecycle --------------------------------------------------------------------------
    def deactivate(self, reason: str, by: Stamp) -> None:
        self._require_active()
        self._deactivated(reason=require_text(reason, "reason", _("A reason")), by=by)

    @event("Deactivated")
    def _deactivated(self, reason: str, by: Stamp) -> None:
        self.active = False

    def reactivate(self, by: Stamp) -> None:
        """Back in the directory (deactivated by mistake, or working again)."""
        if self.active:
            raise DomainError(_("{organisation} is active.", organisation=self.name),
                              field="organisation_id")
        self._reactivated(by=by)

    @event("Reactivated")
    def _reactivated(self, by: Stamp) -> None:
        self.active = True

    def _require_active(self) -> None:
        if not self.active:
            raise OrganisationInactive(_("{organisation} is no longer active.",
                                         organisation=self.name))
