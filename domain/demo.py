"""Loads the demo network: the directory file of ``<network>/demo`` and about 40 fictional
cases with referrals in every state. Every command carries a derived idempotency key, so
loading twice records nothing new."""

from __future__ import annotations

import random
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from domain.application import ReferralNetwork
from domain.deadlines import calendar_for
from domain.network.loader import NetworkConfigError, _first_error
from domain.organisation import Organisation, contact_key
from domain.register import NeedRef
from domain import second_factor
from domain.stamp import STAFF_ROLES, Role, Stamp
from domain.vocabulary import SECTORS

CASE_COUNT = 40


class _ServiceSchema(Schema):
    class Meta:
        unknown = RAISE
    id = fields.String(required=True)
    name = fields.String(required=True)
    needs = fields.List(fields.String(), required=True)
    legal_spheres = fields.List(fields.String(), load_default=list)
    districts = fields.List(fields.String(), load_default=list)
    languages = fields.List(fields.String(), load_default=list)
    capacity = fields.Integer(load_default=None)


class _ContactSchema(Schema):
    class Meta:
        unknown = RAISE
    name = fields.String(required=True)
    title = fields.String(load_default=None)
    phone = fields.String(load_default=None)
    email = fields.String(load_default=None)
    # shown on the public Organigramm (the coordination office's choice)
    public = fields.Boolean(load_default=False)


class _OrganisationSchema(Schema):
    class Meta:
        unknown = RAISE
    key = fields.String(required=True)
    name = fields.String(required=True)
    sector = fields.String(required=True, validate=validate.OneOf(SECTORS))
    inbox = fields.String(required=True)
    members = fields.List(fields.Tuple((fields.String(), fields.String(
        validate=validate.OneOf([r.value for r in STAFF_ROLES])))),
        required=True)
    service = fields.List(fields.Nested(_ServiceSchema), load_default=list)
    contact = fields.List(fields.Nested(_ContactSchema), load_default=list)


class _DirectorySchema(Schema):
    class Meta:
        unknown = RAISE
    organisation = fields.List(fields.Nested(_OrganisationSchema), required=True)
    users = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
    # every demo login's password (fictional network, published in the README)
    password = fields.String(required=True, validate=validate.Length(min=12))
    # the demo's authenticator-app key (base32), published in the README like the password
    second_factor_secret = fields.String(required=True,
                                         validate=validate.Regexp(r"^[A-Z2-7]{32}$"))


@dataclass
class DemoReport:
    organisations: int
    users: int
    cases: int
    referrals_by_status: dict[str, int]


def load_directory_file(path: Path) -> dict[str, Any]:
    try:
        return _DirectorySchema().load(tomllib.loads(path.read_text(encoding="utf-8")))
    except ValidationError as e:
        field, message = _first_error(e.messages)
        raise NetworkConfigError(path, field, message) from None


def load_demo(application: ReferralNetwork, demo_dir: Path) -> DemoReport:
    directory = load_directory_file(demo_dir / "directory.toml")
    loader = _DemoLoader(application, directory)
    loader.directory()
    loader.cases()
    loader.register()
    statuses: dict[str, int] = {}
    for referral in application.all_referrals():
        statuses[referral.status] = statuses.get(referral.status, 0) + 1
    return DemoReport(organisations=len(directory["organisation"]),
                      users=len(directory["users"]), cases=len(application.all_cases()),
                      referrals_by_status=statuses)


# Pseudonymous display names only; invented.
NAMES = ["Familie A.", "Amina K.", "Familie H.", "Yusuf D.", "Familie M.", "Olena S.",
         "Familie T.", "Samir B.", "Familie R.", "Mariam J.", "Familie O.", "Dawit G.",
         "Familie N.", "Iryna P.", "Familie Z.", "Farid E.", "Familie W.", "Leyla C.",
         "Familie Q.", "Hamid F."]
SCENARIOS = [
    # (need, urgency, the receiver's steps after sending)
    ("health.psychosocial", "crisis", []),
    ("health.paediatric", "urgent", ["receive"]),
    ("housing.followup", "routine", ["receive", "accept"]),
    ("health.paediatric", "urgent", ["receive", "reject"]),
    ("health.general", "routine", ["receive", "forward"]),
    ("language", "routine", ["accept", "start"]),
    ("health.psychotherapy", "urgent", ["receive", "accept", "start", "hold"]),
    ("childcare", "routine", ["receive", "accept", "start", "complete"]),
    ("housing.search", "routine", ["accept", "start", "fail"]),
    ("legal", "urgent", ["cancel"]),
    ("volunteer", "routine", ["entered-in-error"]),
    ("family", "routine", ["accept", "start", "hold", "resume"]),
]
LEADS = ["fsa-sachsendorf", "fsa-sachsendorf", "fsa-schmellwitz", "mbe", "fsa-sachsendorf",
         "fsa-schmellwitz", "mbe", "sozialamt"]


class _DemoLoader:
    def __init__(self, application: ReferralNetwork, directory: dict[str, Any]) -> None:
        self.application = application
        self.data = directory
        self.slug = application.network.slug
        self.system = Stamp.system("demo-load")
        self.members = {o["key"]: o["members"] for o in directory["organisation"]}
        self.rng = random.Random(2026)

    def key(self, *parts: Any) -> str:
        return ":".join(["demo", self.slug, *map(str, parts)])

    def org_id(self, key: str) -> UUID:
        return Organisation.id_for(self.slug, key)

    def stamp(self, org_key: str, role: str = "caseworker", n: int = 0) -> Stamp:
        users = [u for u, r in self.members[org_key] if r == role]
        return Stamp(users[n % len(users)], self.org_id(org_key), role,
                     self.key("corr", self.rng.randrange(10**9)))

    def directory(self) -> None:
        application, system = self.application, self.system
        for username, display in self.data["users"].items():
            application.directory.register_user(system, username, display,
                              email=f"{username}@demo.fallnetz.invalid",
                              idempotency_key=self.key("user", username))
            application.accounts.set_password(system, username, self.data["password"],
                             idempotency_key=self.key("user", username, "password"))
        for org in self.data["organisation"]:
            k = org["key"]
            application.directory.register_organisation(system, k, org["name"], org["sector"],
                                                        org["inbox"],
                                                        idempotency_key=self.key("org", k))
            for service in org["service"]:
                service = dict(service)
                service_id = service.pop("id")
                application.directory.add_service(system, self.org_id(k), service_id, service,
                                idempotency_key=self.key("org", k, "service", service_id))
            for username, role in org["members"]:
                application.directory.add_member(system, self.org_id(k), username, Role(role),
                               idempotency_key=self.key("org", k, "member", username))
            self.contacts(k, org["contact"])
        self.second_factors()

    def contacts(self, key: str, listed: list[dict[str, Any]]) -> None:
        """The organisation's contact persons, and those the coordination office made
        public for the Organigramm (as commands of their own, so that a network loaded
        before contacts existed gets them too)."""
        if not listed:
            return
        application = self.application
        contacts = [{k: v for k, v in c.items() if k != "public" and v} for c in listed]
        application.directory.change_contacts(self.system, self.org_id(key), contacts,
                                              idempotency_key=self.key("org", key, "contacts"))
        public = [contact_key(c) for c, said in zip(contacts, listed) if said["public"]]
        if public:
            application.directory.choose_public_contacts(
                self.system, self.org_id(key), public,
                idempotency_key=self.key("org", key, "public-contacts"))

    def second_factors(self) -> None:
        """Every login whose role needs one gets the demo's published authenticator key, set
        up with the previous step's code so that the current one still signs in."""
        application, secret = self.application, self.data["second_factor_secret"]
        for username in self.data["users"]:
            account = application.directory.user(username)
            roles = [role for _o, role in application.accounts.memberships(username)]
            if account is None or account.has_second_factor() or \
                    not second_factor.required(roles):
                continue
            application.accounts.enrol_second_factor(
                self.system, secret, second_factor.code_at(secret, application.clock(), -1),
                username=username)

    @contextmanager
    def at(self, moment: datetime) -> Iterator[None]:
        # The demo's history is spread over the past weeks, so deadlines and histories look
        # like a working network's.
        original = self.application.clock
        self.application.clock = lambda: moment
        try:
            yield
        finally:
            self.application.clock = original

    def cases(self) -> None:
        now = self.application.clock().replace(minute=0, second=0, microsecond=0)
        for i in range(CASE_COUNT):
            start = now - timedelta(days=CASE_COUNT - i, hours=self.rng.randrange(8))
            self.case(i, start)

    def case(self, i: int, start: datetime) -> None:
        application, network, rng = self.application, self.application.network, self.rng
        lead = LEADS[i % len(LEADS)]
        caseworker = self.stamp(lead, n=i)
        district = network.districts[i % len(network.districts)]
        status = "permit_25" if lead in ("mbe",) else rng.choice(
            ["gestattung", "gestattung", "duldung", "permit_24"])
        need, urgency, steps = SCENARIOS[i % len(SCENARIOS)]
        tick = iter(range(1, 100))

        def when() -> datetime:
            return start + timedelta(hours=3 * next(tick))

        def run(step: str, command: Callable[..., dict[str, Any]], *args: Any,
                **kwargs: Any) -> dict[str, Any]:
            with self.at(when()):
                return command(*args, idempotency_key=self.key("case", i, step), **kwargs)

        opened = run("open", application.cases.open_case, caseworker,
                     {"display_name": NAMES[i % len(NAMES)], "birth_year": 1975 + i % 30,
                      "household_size": 1 + i % 5, "languages": [["ar", "fa", "uk", "ti",
                                                                   "ru"][i % 5], "en"],
                      "interpreter_needed": i % 3 == 0, "district": district},
                     "shared_accommodation" if i % 4 else "followup_accommodation", status,
                     needs=[need])
        case_id = opened["case_id"]
        receiver_key = self.receiver_for(need, case_id, i)
        consent_kwargs: dict[str, Any] = (
            {"sector": "health"} if need.startswith("health") and i % 2 == 0
            else {"receiver_organisation_id": self.org_id(receiver_key)})
        moment = when()
        if not (urgency == "crisis" and i % 2 == 0):
            with self.at(moment):
                application.cases.give_consent(caseworker, case_id, [need.split(".")[0]],
                                 (moment + timedelta(days=365)).date(),
                                 idempotency_key=self.key("case", i, "consent"),
                                 **consent_kwargs)
        sent = run("send", application.referrals.send_referral, caseworker, case_id, need, urgency,
                   self.org_id(receiver_key),
                   "Bitte um Übernahme; Details im persönlichen Gespräch.",
                   crisis_override_reason=("Akute Krise, Einwilligung wird nachgeholt."
                                           if urgency == "crisis" else None))
        referral_id = sent["referral_id"]
        receiver = self.stamp(receiver_key, n=i)
        for step in steps:
            self.receiver_step(step, run, receiver, caseworker, lead, referral_id, case_id,
                               need, i)
        if lead.startswith("fsa") and status in ("gestattung", "duldung") and i % 3 == 1:
            changed = run("status", application.cases.change_residence_status, caseworker, case_id,
                          "permit_25")
            drafts = changed["draft_referral_ids"]
            if drafts and i % 2 == 1:
                # The caseworker confirms the handoff to the Jobcenter and it takes over.
                run("consent-lead", application.cases.give_consent, caseworker, case_id,
                    ["benefits"], (start + timedelta(days=400)).date(),
                    receiver_organisation_id=self.org_id("jobcenter"))
                run("confirm-lead", application.referrals.send_draft, caseworker, drafts[0])
                run("cancel-lead-draft", application.referrals.cancel_referral, caseworker,
                    drafts[1], "Fallführung geht an das Jobcenter.")
                run("accept-lead", application.referrals.accept_referral,
                    self.stamp("jobcenter", n=i), drafts[0])

    def receiver_for(self, need: str, case_id: UUID, i: int) -> str:
        case = self.application.repository.get(case_id)
        network = self.application.responsibilities.effective_network()
        keys = network.responsible(need, case.legal_sphere, case.person["district"],
                                   case.housing_stage)
        return keys[i % len(keys)]

    def receiver_step(self, step: str, run: Callable[..., Any], receiver: Stamp,
                      caseworker: Stamp, lead: str, referral_id: UUID, case_id: UUID,
                      need: str, i: int) -> None:
        application = self.application
        if step == "receive":
            run(step, application.referrals.receive_referral, receiver, referral_id)
        elif step == "accept":
            run(step, application.referrals.accept_referral, receiver, referral_id)
        elif step == "reject":
            run(step, application.referrals.reject_referral, receiver, referral_id,
                "Keine freie Kapazität in den nächsten Wochen.")
        elif step == "forward":
            target = "gesundheitsamt" if receiver.organisation_id != self.org_id(
                "gesundheitsamt") else "hausarzt-mitte"
            run("consent-forward", application.cases.give_consent, caseworker, case_id, ["health"],
                (application.clock() + timedelta(days=365)).date(),
                receiver_organisation_id=self.org_id(target))
            run(step, application.referrals.forward_referral, receiver, referral_id,
                self.org_id(target), "Erstuntersuchung zuerst im Gesundheitsamt.")
        elif step == "start":
            run(step, application.referrals.start_referral, receiver, referral_id)
        elif step == "hold":
            run(step, application.referrals.hold_referral, receiver, referral_id,
                "Person für drei Wochen verreist.")
        elif step == "resume":
            run(step, application.referrals.resume_referral, receiver, referral_id)
        elif step == "complete":
            run(step, application.referrals.complete_referral, receiver, referral_id,
                "Platz ab nächstem Monat.")
        elif step == "fail":
            run(step, application.referrals.fail_referral, receiver, referral_id,
                "Kein passender Wohnraum verfügbar.")
        elif step == "cancel":
            run(step, application.referrals.cancel_referral, caseworker, referral_id,
                "Termin hat sich anderweitig erledigt.")
        elif step == "entered-in-error":
            supervisor = self.stamp(lead, role="supervisor")
            run(step, application.referrals.mark_referral_entered_in_error, supervisor,
                referral_id, "Falscher Fall ausgewählt.")

    def register(self) -> None:
        """A district conference three weeks ago and a working group, with their needs, need
        groups and agreements: one kept, one due, one missed (the scan escalates it)."""
        application = self.application
        office = self.stamp("koordinierungsstelle", role="coordinator")
        held = self.application.clock().replace(hour=10, minute=0, second=0,
                                                microsecond=0) - timedelta(days=21)
        orgs = {k: self.org_id(k) for k in ("fsa-sachsendorf", "mbe", "psz", "jugendamt",
                                             "sozialamt", "wohnungsgesellschaft", "jobcenter",
                                             "willkommen-ev")}

        def run(step: str, command: Callable[..., dict[str, Any]], *args: Any,
                **kwargs: Any) -> dict[str, Any]:
            with self.at(held):
                return command(*args, idempotency_key=self.key("register", step), **kwargs)
        conference = run("conference", application.register.convene, office, "conference",
                         "Stadtteilkonferenz Sachsendorf", list(orgs.values()),
                         district="Sachsendorf", held_on=held.date())["forum_id"]
        for n, (text, sector, by) in enumerate([
                ("Zu wenige Kitaplätze für Kinder aus der Gemeinschaftsunterkunft",
                 "education", ["fsa-sachsendorf", "jugendamt"]),
                ("Keine Hausaufgabenhilfe am Nachmittag in der Nähe der Unterkunft",
                 "education", ["willkommen-ev"]),
                ("Wartezeiten von mehr als zwei Monaten auf psychotherapeutische Behandlung",
                 "health", ["psz"]),
                ("Sprachmittlung für Arztbesuche fehlt", "health", ["psz", "fsa-sachsendorf"]),
                ("Kaum bezahlbare Wohnungen für große Familien", "housing",
                 ["wohnungsgesellschaft", "sozialamt"]),
                ("Auszug aus der Unterkunft scheitert an fehlenden Mietkautionen", "housing",
                 ["mbe"])]):
            run(f"need-{n}", application.register.raise_need, office, conference, text,
                sector, [orgs[k] for k in by])
        groups = {}
        for title, need, numbers in (("Kinderbetreuung und Lernen", "childcare", [1, 2]),
                                     ("Psychosoziale Versorgung", "health", [3, 4])):
            groups[title] = run(f"group-{title}", application.register.form_group, office,
                                title, [NeedRef(conference, n) for n in numbers],
                                need=need)["group_id"]
        for n, (key, what, days, group) in enumerate([
                ("jugendamt", "Übersicht freier Kitaplätze im Stadtteil an die FSA geben", 7,
                 "Kinderbetreuung und Lernen"),
                ("psz", "Sprachmittlerpool für Arztpraxen im Stadtteil aufbauen", 60,
                 "Psychosoziale Versorgung"),
                ("willkommen-ev", "Hausaufgabenhilfe zweimal wöchentlich in der Unterkunft "
                 "anbieten", 14, "Kinderbetreuung und Lernen")]):
            due = self._working_day(held + timedelta(days=days))
            made = run(f"agreement-{n}", application.register.make_agreement, office,
                       conference, orgs[key], what, due, group_id=groups[group])
            if n == 0:
                run("agreement-0-done", application.register.mark_done,
                    self.stamp("jugendamt"), made["agreement_id"],
                    "Liste mit freien Plätzen am Stadtteiltreff übergeben.")
        group = run("working-group", application.register.convene, office, "working_group",
                    "AG Wohnraum", [orgs["wohnungsgesellschaft"], orgs["sozialamt"]],
                    lead_organisation_id=orgs["mbe"])["forum_id"]
        run("wg-need", application.register.raise_need, office, group,
            "Wohnberechtigungsscheine brauchen über drei Monate", "housing",
            [orgs["sozialamt"], orgs["mbe"]], district="Mitte")

    def _working_day(self, moment: datetime) -> date:
        calendar = calendar_for(self.application.network.state)
        day = moment.date()
        while not calendar.is_working_day(day):
            day += timedelta(days=1)
        return day
