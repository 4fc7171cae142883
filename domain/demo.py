"""Loads a network's demo: the directory file of ``<network>/demo``, about 40 fictional cases
with referrals in every state, and a needs register (a district conference and a working
group). What differs between networks — who leads the cases, the conference, the working
group — is ``<network>/demo/scenario.toml``; the stories themselves are the same everywhere.
Every command carries a derived idempotency key, so loading twice records nothing new."""

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
from domain.network import NetworkConfig
from domain.network.loader import NetworkConfigError, _first_error
from domain.organisation import Organisation, contact_key
from domain.receipt import CommandReceipt
from domain.register import NeedRef
from domain import second_factor
from domain.stamp import STAFF_ROLES, Role, Stamp
from domain.vocabulary import SECTORS

CASE_COUNT = 40
# The seed of the demo's choices (residence statuses, hours, correlation ids): changing it
# changes the cases, and a store loaded before would get them a second time.
SEED = 2026


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


# -- scenario.toml: what the network's demo story needs to know about its directory ---------

def _text() -> fields.String:
    return fields.String(required=True, validate=validate.Length(min=1))


def _keys() -> fields.List:
    return fields.List(fields.String(), required=True, validate=validate.Length(min=1))


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class _RaisedNeedSchema(_Strict):
    text = _text()
    sector = fields.String(required=True, validate=validate.OneOf(SECTORS))
    raised_by = _keys()
    # the forum's district unless named (a working group has none of its own)
    district = fields.String(load_default=None)


class _NeedGroupSchema(_Strict):
    title = _text()
    need = fields.String(load_default=None)
    # the conference's needs by their number, counted from 1 in the order listed
    needs = fields.List(fields.Integer(validate=validate.Range(min=1)), required=True,
                        validate=validate.Length(min=1))


class _AgreementSchema(_Strict):
    organisation = fields.String(required=True)
    what = _text()
    # due this many days after the conference (moved to the next working day)
    due_in_days = fields.Integer(required=True, validate=validate.Range(min=0, max=365))
    group = fields.String(load_default=None)
    # the organisation's note when it kept the agreement already
    done = fields.String(load_default=None, validate=validate.Length(min=1))


class _ConferenceSchema(_Strict):
    name = _text()
    district = _text()
    participants = _keys()
    need = fields.List(fields.Nested(_RaisedNeedSchema), required=True,
                       validate=validate.Length(min=1))
    group = fields.List(fields.Nested(_NeedGroupSchema), load_default=list)
    agreement = fields.List(fields.Nested(_AgreementSchema), load_default=list)


class _WorkingGroupSchema(_Strict):
    name = _text()
    participants = _keys()
    lead = fields.String(required=True)
    need = fields.List(fields.Nested(_RaisedNeedSchema), load_default=list)


class _ForwardSchema(_Strict):
    to = fields.String(required=True)
    otherwise = fields.String(required=True)
    reason = _text()


class _ScenarioSchema(_Strict):
    leads = _keys()
    recognised_leads = fields.List(fields.String(), load_default=list)
    asylum_leads = fields.List(fields.String(), load_default=list)
    forward = fields.Nested(_ForwardSchema, required=True)
    conference = fields.Nested(_ConferenceSchema, required=True)
    working_group = fields.Nested(_WorkingGroupSchema, required=True)


@dataclass
class DemoReport:
    organisations: int
    users: int
    cases: int
    referrals_by_status: dict[str, int]


def _load_file(path: Path, schema: Schema) -> dict[str, Any]:
    try:
        return schema.load(tomllib.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise NetworkConfigError(path, "(file)", "The file is missing.") from None
    except tomllib.TOMLDecodeError as e:
        raise NetworkConfigError(path, "(syntax)", str(e)) from None
    except ValidationError as e:
        field, message = _first_error(e.messages)
        raise NetworkConfigError(path, field, message) from None


def load_directory_file(path: Path, network: NetworkConfig | None = None) -> dict[str, Any]:
    """The demo directory; with ``network``, checked to hold the organisations its
    configuration names, with a member to act for each."""
    directory = _load_file(path, _DirectorySchema())
    for index, org in enumerate(directory["organisation"]):
        for username, _role in org["members"]:
            if username not in directory["users"]:
                raise NetworkConfigError(path, f"organisation[{index}].members",
                                         f"{username!r} is not in [users].")
    if network is None:
        return directory
    roles = {o["key"]: {role for _u, role in o["members"]} for o in directory["organisation"]}
    named = [(network.coordination_office, "coordinator", "network.toml")] + [
        # whoever the map names may receive a referral or a lead handoff: a caseworker takes it
        (key, "caseworker", "responsibility.toml")
        for rule in (*network.rules, *network.lead_rules) for key in rule.organisations]
    for key, role, where in named:
        if role not in roles.get(key, ()):
            raise NetworkConfigError(path, "organisation",
                                     f"{key!r}, named in {where}, is missing or has no {role}.")
    return directory


def load_scenario_file(path: Path, directory: dict[str, Any],
                       network: NetworkConfig) -> dict[str, Any]:
    """The scenario, checked against the directory and the network: every key it names is
    an organisation with the members its part of the story needs."""
    scenario = _load_file(path, _ScenarioSchema())
    roles = {o["key"]: {role for _u, role in o["members"]} for o in directory["organisation"]}

    def check(field: str, keys: list[str], *needed: str) -> None:
        for key in keys:
            if key not in roles:
                raise NetworkConfigError(path, field, f"{key!r} is not in the directory.")
            for role in needed:
                if role not in roles[key]:
                    raise NetworkConfigError(path, field, f"{key!r} has no {role}.")

    def check_district(field: str, district: str | None) -> None:
        if district is not None and district not in network.districts:
            raise NetworkConfigError(path, field, f"{district!r} is not in network.toml.")

    # A lead's caseworker opens the case; its supervisor marks a referral entered in error.
    check("leads", scenario["leads"], "caseworker", "supervisor")
    check("recognised_leads", scenario["recognised_leads"])
    check("asylum_leads", scenario["asylum_leads"])
    check("forward", [scenario["forward"]["to"], scenario["forward"]["otherwise"]],
          "caseworker")
    conference, group = scenario["conference"], scenario["working_group"]
    check_district("conference.district", conference["district"])
    check("conference.participants", conference["participants"])
    for n, need in enumerate(conference["need"]):
        check(f"conference.need[{n}].raised_by", need["raised_by"])
        check_district(f"conference.need[{n}].district", need["district"])
    titles = [g["title"] for g in conference["group"]]
    for n, need_group in enumerate(conference["group"]):
        if max(need_group["needs"]) > len(conference["need"]):
            raise NetworkConfigError(path, f"conference.group[{n}].needs",
                                     "The conference has no need with this number.")
    for n, agreement in enumerate(conference["agreement"]):
        check(f"conference.agreement[{n}].organisation", [agreement["organisation"]],
              *(["caseworker"] if agreement["done"] else []))
        if agreement["group"] is not None and agreement["group"] not in titles:
            raise NetworkConfigError(path, f"conference.agreement[{n}].group",
                                     f"{agreement['group']!r} is not a group's title.")
    check("working_group.participants", group["participants"])
    check("working_group.lead", [group["lead"]])
    for n, need in enumerate(group["need"]):
        check(f"working_group.need[{n}].raised_by", need["raised_by"])
        if need["district"] is None:
            raise NetworkConfigError(path, f"working_group.need[{n}].district",
                                     "A working group's need names its district.")
        check_district(f"working_group.need[{n}].district", need["district"])
    return scenario


def load_demo(application: ReferralNetwork, demo_dir: Path) -> DemoReport:
    directory = load_directory_file(demo_dir / "directory.toml", application.network)
    scenario = load_scenario_file(demo_dir / "scenario.toml", directory, application.network)
    loader = _DemoLoader(application, directory, scenario, demo_dir / "scenario.toml")
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


class _DemoLoader:
    def __init__(self, application: ReferralNetwork, directory: dict[str, Any],
                 scenario: dict[str, Any], scenario_path: Path) -> None:
        self.application = application
        self.data = directory
        self.scenario = scenario
        self.scenario_path = scenario_path
        self.slug = application.network.slug
        self.system = Stamp.system("demo-load")
        self.members = {o["key"]: o["members"] for o in directory["organisation"]}
        self.keys = {self.org_id(k): k for k in self.members}
        self.rng = random.Random(SEED)
        self.now = self.first_loaded()

    def key(self, *parts: Any) -> str:
        return ":".join(["demo", self.slug, *map(str, parts)])

    def org_id(self, key: str) -> UUID:
        return Organisation.id_for(self.slug, key)

    def stamp(self, org_key: str, role: str = "caseworker", n: int = 0) -> Stamp:
        users = [u for u, r in self.members[org_key] if r == role]
        return Stamp(users[n % len(users)], self.org_id(org_key), role,
                     self.key("corr", self.rng.randrange(10**9)))

    def first_loaded(self) -> datetime:
        """The hour the demo's history was first laid out: now, or that of an earlier load.
        Dates in the commands (a consent's end, the conference's day) follow from it, so a
        load on another day repeats the first one's commands exactly and records nothing,
        instead of meeting its own idempotency keys with other arguments."""
        now = self.application.clock().replace(minute=0, second=0, microsecond=0)
        lead = self.scenario["leads"][0]
        user = [u for u, r in self.members[lead] if r == "caseworker"][0]
        receipt = self.application.find(CommandReceipt, CommandReceipt.id_for(
            Stamp(user, self.org_id(lead), "caseworker", ""), self.key("case", 0, "open")))
        if receipt is None:
            return now
        # case 0 was opened three hours after its start, CASE_COUNT days and the seed's first
        # draw of hours before the load's hour (see cases())
        hours = random.Random(SEED).randrange(8)
        return receipt.created_on - timedelta(hours=3) + timedelta(days=CASE_COUNT,
                                                                    hours=hours)

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
        for i in range(CASE_COUNT):
            start = self.now - timedelta(days=CASE_COUNT - i, hours=self.rng.randrange(8))
            self.case(i, start)

    def case(self, i: int, start: datetime) -> None:
        application, network, rng = self.application, self.application.network, self.rng
        leads = self.scenario["leads"]
        lead = leads[i % len(leads)]
        caseworker = self.stamp(lead, n=i)
        district = network.districts[i % len(network.districts)]
        status = "permit_25" if lead in self.scenario["recognised_leads"] else rng.choice(
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
        receiver_key = self.receiver_for(need, case_id, lead, i)
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
        if lead in self.scenario["asylum_leads"] and status in ("gestattung", "duldung") \
                and i % 3 == 1:
            changed = run("status", application.cases.change_residence_status, caseworker, case_id,
                          "permit_25")
            drafts = changed["draft_referral_ids"]
            if drafts and i % 2 == 1:
                # The caseworker confirms the handoff to the first organisation the map names
                # for the new legal sphere (the Jobcenter), and it takes over.
                taker = self.keys[self.application.repository.get(drafts[0]).to_organisation_id]
                run("consent-lead", application.cases.give_consent, caseworker, case_id,
                    ["benefits"], (start + timedelta(days=400)).date(),
                    receiver_organisation_id=self.org_id(taker))
                run("confirm-lead", application.referrals.send_draft, caseworker, drafts[0])
                # (the first draft's key is the one stores loaded before already hold)
                for n, draft in enumerate(drafts[1:]):
                    run("cancel-lead-draft" + (f"-{n + 1}" if n else ""),
                        application.referrals.cancel_referral, caseworker, draft,
                        "Fallführung geht an das Jobcenter.")
                run("accept-lead", application.referrals.accept_referral,
                    self.stamp(taker, n=i), drafts[0])

    def receiver_for(self, need: str, case_id: UUID, lead: str, i: int) -> str:
        case = self.application.repository.get(case_id)
        network = self.application.responsibilities.effective_network()
        keys = [k for k in network.responsible(need, case.legal_sphere, case.person["district"],
                                               case.housing_stage) if k != lead]
        if not keys:
            raise NetworkConfigError(self.scenario_path, "leads",
                                     f"The responsibility map names no one but {lead!r} for "
                                     f"{need!r} in {case.person['district']!r}.")
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
            forward = self.scenario["forward"]
            target = forward["to"] if receiver.organisation_id != self.org_id(
                forward["to"]) else forward["otherwise"]
            run("consent-forward", application.cases.give_consent, caseworker, case_id, ["health"],
                (self.now + timedelta(days=365)).date(),
                receiver_organisation_id=self.org_id(target))
            run(step, application.referrals.forward_referral, receiver, referral_id,
                self.org_id(target), forward["reason"])
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
        groups and agreements (one kept, one due, one missed: the scan escalates it), as the
        network's scenario.toml tells them."""
        application = self.application
        office = self.stamp(application.network.coordination_office, role="coordinator")
        held = self.now.replace(hour=10) - timedelta(days=21)
        said, group = self.scenario["conference"], self.scenario["working_group"]
        org_id = self.org_id

        def run(step: str, command: Callable[..., dict[str, Any]], *args: Any,
                **kwargs: Any) -> dict[str, Any]:
            with self.at(held):
                return command(*args, idempotency_key=self.key("register", step), **kwargs)
        conference = run("conference", application.register.convene, office, "conference",
                         said["name"], [org_id(k) for k in said["participants"]],
                         district=said["district"], held_on=held.date())["forum_id"]
        for n, need in enumerate(said["need"]):
            run(f"need-{n}", application.register.raise_need, office, conference, need["text"],
                need["sector"], [org_id(k) for k in need["raised_by"]],
                district=need["district"])
        groups = {}
        for need_group in said["group"]:
            title = need_group["title"]
            groups[title] = run(f"group-{title}", application.register.form_group, office,
                                title, [NeedRef(conference, n) for n in need_group["needs"]],
                                need=need_group["need"])["group_id"]
        for n, agreement in enumerate(said["agreement"]):
            due = self._working_day(held + timedelta(days=agreement["due_in_days"]))
            made = run(f"agreement-{n}", application.register.make_agreement, office,
                       conference, org_id(agreement["organisation"]), agreement["what"], due,
                       group_id=groups.get(agreement["group"]))
            if agreement["done"]:
                run(f"agreement-{n}-done", application.register.mark_done,
                    self.stamp(agreement["organisation"]), made["agreement_id"],
                    agreement["done"])
        working_group = run("working-group", application.register.convene, office,
                            "working_group", group["name"],
                            [org_id(k) for k in group["participants"]],
                            lead_organisation_id=org_id(group["lead"]))["forum_id"]
        for n, need in enumerate(group["need"]):  # the first one's key as before scenarios
            run("wg-need" + (f"-{n}" if n else ""), application.register.raise_need, office,
                working_group, need["text"], need["sector"],
                [org_id(k) for k in need["raised_by"]], district=need["district"])

    def _working_day(self, moment: datetime) -> date:
        calendar = calendar_for(self.application.network.state)
        day = moment.date()
        while not calendar.is_working_day(day):
            day += timedelta(days=1)
        return day
