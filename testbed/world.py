"""A small network for the scenario tests: real organisations of the Cottbus map with one
or two members each, registered through the application's own commands."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any
from uuid import UUID, uuid4

from domain.application import ReferralNetwork
from domain.organisation import Organisation
from domain.referral import Referral
from domain.stamp import Role, Stamp

ORGANISATIONS = {
    # key: (name, sector, {user: role})
    "fsa-sachsendorf": ("FSA Sachsendorf", "social_work",
                        {"anna": "caseworker", "birgit": "supervisor"}),
    "psz": ("Psychosoziales Zentrum", "health", {"nadia": "caseworker", "ulrike": "supervisor"}),
    "jobcenter": ("Jobcenter", "employment", {"claudia": "caseworker"}),
    "mbe": ("Migrationsberatung", "social_work", {"jana": "caseworker"}),
    "gesundheitsamt": ("Gesundheitsamt", "health", {"achim": "caseworker"}),
    "sozialamt": ("Sozialamt", "administration", {"petra": "caseworker"}),
    "koordinierungsstelle": ("Koordinierungsstelle", "administration",
                             {"katrin": "coordinator", "root": "admin",
                              "dora": "data_protection"}),
}
SERVICES = {
    "psz": ("beratung", {"name": "Psychosoziale Beratung", "needs": ["health.psychosocial"],
                         "capacity": 25}),
    "jobcenter": ("leistungen", {"name": "Bürgergeld", "needs": ["benefits"],
                                 "legal_spheres": ["SGB II"], "capacity": 500}),
}


@dataclass
class World:
    application: ReferralNetwork
    ids: dict[str, UUID] = field(default_factory=dict)
    _counter: int = 0

    @classmethod
    def build(cls, application: ReferralNetwork) -> World:
        world = cls(application)
        system = Stamp.system("test-setup")
        for key, (name, sector, members) in ORGANISATIONS.items():
            result = application.directory.register_organisation(system, key, name, sector,
                                                                 f"{key}@test.invalid")
            world.ids[key] = result["organisation_id"]
            for user, role in members.items():
                if application.directory.user(user) is None:
                    application.directory.register_user(system, user, user.title())
                application.directory.add_member(system, world.ids[key], user, Role(role))
        for key, (service_id, service) in SERVICES.items():
            application.directory.add_service(system, world.ids[key], service_id, service)
        return world

    def org(self, key: str) -> UUID:
        return self.ids[key]

    def as_(self, user: str, key: str) -> Stamp:
        role = ORGANISATIONS[key][2][user]
        self._counter += 1
        return Stamp(user, self.ids[key], role, f"req-{self._counter}")

    @property
    def anna(self) -> Stamp:
        return self.as_("anna", "fsa-sachsendorf")

    @property
    def birgit(self) -> Stamp:
        return self.as_("birgit", "fsa-sachsendorf")

    @property
    def nadia(self) -> Stamp:
        return self.as_("nadia", "psz")

    @property
    def dora(self) -> Stamp:
        """The data protection officer."""
        return self.as_("dora", "koordinierungsstelle")

    @property
    def claudia(self) -> Stamp:
        return self.as_("claudia", "jobcenter")

    def open_case(self, **overrides: Any) -> UUID:
        kwargs: dict[str, Any] = {
            "person": {"display_name": "Familie T.", "birth_year": 1990, "household_size": 4,
                       "languages": ["ar"], "interpreter_needed": True,
                       "district": "Sachsendorf"},
            "housing_stage": "shared_accommodation", "residence_status": "gestattung",
            "needs": ["health.psychosocial"],
        }
        kwargs.update(overrides)
        return self.application.cases.open_case(self.anna, **kwargs)["case_id"]

    def consent(self, case_id: UUID, purposes: list[str] | None = None, **kwargs: Any) -> str:
        today = self.application.today()
        kwargs.setdefault("expires_on", today + timedelta(days=180))
        if "receiver_organisation_id" not in kwargs and "sector" not in kwargs:
            kwargs["sector"] = "health"
        return self.application.cases.give_consent(self.anna, case_id, purposes or ["health"],
                                     **kwargs)["consent_id"]

    def send(self, case_id: UUID, to: str = "psz", need: str = "health.psychosocial",
             urgency: str = "urgent", **kwargs: Any) -> UUID:
        return self.application.referrals.send_referral(
            self.anna, case_id, need, urgency, self.org(to), "Bitte um Erstgespräch.", **kwargs
        )["referral_id"]

    def case_with_two_referrals(self) -> tuple[UUID, UUID, UUID]:
        """A case whose first referral (to the PSZ) is completed and whose second (to the
        Jobcenter) waits for its receiver: (case, completed, waiting)."""
        case_id = self.open_case(needs=["health.psychosocial", "benefits"])
        self.consent(case_id)
        self.consent(case_id, purposes=["benefits"],
                     receiver_organisation_id=self.org("jobcenter"))
        done = self.send(case_id)
        referrals = self.application.referrals
        referrals.receive_referral(self.nadia, done)
        referrals.accept_referral(self.nadia, done)
        referrals.start_referral(self.nadia, done)
        referrals.complete_referral(self.nadia, done, "Beratung abgeschlossen")
        return case_id, done, self.send(case_id, to="jobcenter", need="benefits")

    def referral(self, referral_id: UUID):  # type: ignore[no-untyped-def]
        return self.application.repository.get(referral_id)

    def case(self, case_id: UUID):  # type: ignore[no-untyped-def]
        return self.application.repository.get(case_id)


def past(days: int) -> date:
    return date.today() - timedelta(days=days)


def organisation_id(network: str, key: str) -> UUID:
    return Organisation.id_for(network, key)


def backlog(world: World, referrals: int) -> int:
    """A history to catch up or rebuild: five events per referral to the PSZ (sent,
    received, accepted, first contact, on hold), saved in batches of a hundred; the last
    notification id."""
    case_id = world.open_case()
    batch: list[Referral] = []
    for i in range(referrals):
        referral = Referral.create(
            id=uuid4(), case_id=case_id, need="health.psychosocial", urgency="routine",
            kind="service", from_organisation_id=world.org("fsa-sachsendorf"),
            from_user="anna", to_organisation_id=world.org("psz"), to_service_id=None,
            reason="Erstgespräch", by=world.anna, consent_id="c", policy_version="p")
        referral.receive(by=world.nadia)
        referral.accept(by=world.nadia)
        referral.start(by=world.nadia)
        referral.hold("Pause", by=world.nadia)
        batch.append(referral)
        if len(batch) == 100 or i == referrals - 1:
            world.application.save(*batch)
            batch = []
    return world.application.recorder.max_notification_id()
