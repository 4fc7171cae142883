"""Who may see and change what (DESIGN §8), tested over every route of the URL map × every
role × own and foreign organisations' objects.

The table below is written by hand from DESIGN §8; a route missing from it fails the test,
so a new route cannot be forgotten. Refused means 403 or 404 (or, signed out, the way to
the sign-in page), and nothing recorded. GET requests never record anything. A POST without
its CSRF token is refused."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from flask import Flask
from flask.testing import FlaskClient

from domain.directory_import import seen_of
from domain.organisation import Organisation
from domain.register import NeedRef
from domain.stamp import Role, Stamp
from testbed.web import csrf_token, events, sign_in, web_world
from web.referrals.actions import ACTIONS

CASEWORK = {"anna", "birgit", "nadia", "ulrike", "claudia"}
SIGNED_IN = CASEWORK | {"katrin", "root", "dora"}
EVERYONE = SIGNED_IN | {"anonymous"}
TERM = "https://example.org/t"  # a publisher's taxonomy (no import brought its terms)
RECEIVER_ACTIONS = [a for a, act in ACTIONS.items() if act.side == "receiver"]

# (endpoint, object) → who may use it. Objects: own_case (led by FSA Sachsendorf, where anna
# and birgit work), foreign_case (led by the Jobcenter: claudia), sent (a referral from the
# FSA to the PSZ: nadia and ulrike), draft (a draft lead handoff from the FSA to the
# Jobcenter, which stays with the sender), psz (an organisation of the directory).
ALLOWED: dict[tuple[str, str | None], set[str]] = {
    ("home", None): SIGNED_IN, ("static", None): EVERYONE,  # home sends strangers to sign in
    ("auth.login", None): EVERYONE, ("auth.logout", None): EVERYONE,
    ("auth.change_language", None): EVERYONE,
    # The start page's sign-in carried into a network (nobody here has proved a password
    # there: those signed in go to their start page, strangers to sign in).
    ("networks.continue_sign_in", None): SIGNED_IN,
    # The installation's networks: its operators, the admins of the operating network.
    ("networks.index", None): {"root"}, ("networks.add", None): {"root"},
    ("networks.check", "a_network"): {"root"}, ("networks.disable", "a_network"): {"root"},
    ("networks.enable", "a_network"): {"root"},
    ("auth.choose_organisation", None): SIGNED_IN, ("auth.change_password", None): SIGNED_IN,
    # The code step sends whoever has no pending sign-in on (all here: those signed in to
    # their start page, strangers to sign in); the rest is for those signed in.
    ("auth.confirm_code", None): SIGNED_IN, ("auth.enrol_second_factor", None): SIGNED_IN,
    ("auth.account", None): SIGNED_IN, ("auth.renew_recovery_codes", None): SIGNED_IN,
    ("auth.remove_second_factor", None): SIGNED_IN,
    ("cases.index", None): CASEWORK, ("cases.new", None): CASEWORK,
    ("cases.create", None): CASEWORK,
    ("inbox.index", None): CASEWORK, ("inbox.outbox", None): CASEWORK,
    ("inbox.notifications", None): {"birgit", "ulrike", "katrin"},
    ("directory.index", None): SIGNED_IN, ("directory.escalations", None): {"katrin"},
    ("directory.change_capacity", "psz"): {"katrin", "root"},
    ("directory.deactivate", "psz"): {"katrin", "root"},
    ("directory.reactivate", "psz"): {"katrin", "root"},
    ("exchange.index", None): {"katrin", "root"},
    ("exchange.import_document", None): {"katrin", "root"},
    ("exchange.map_term", None): {"katrin", "root"},
    ("exchange.map_area", None): {"katrin", "root"},
    ("exchange.unmap_term", None): {"katrin", "root"},
    ("exchange.unmap_area", None): {"katrin", "root"},
    ("exchange.choose_sector", None): {"katrin", "root"},
    ("exchange.publish", "psz"): {"katrin", "root"},
    # The person's own page is for anyone with a code (none here: its forms refuse them).
    ("person.enter", None): EVERYONE, ("person.open_page", None): EVERYONE,
    ("person.status", None): EVERYONE, ("person.choose_language", None): EVERYONE,
    ("person.give_feedback", "sent"): EVERYONE, ("person.give_feedback", "draft"): EVERYONE,
    ("person.request_revocation", None): EVERYONE, ("person.leave", None): EVERYONE,
    ("voice.consent_form", "own_case"): {"anna", "birgit"},
    ("voice.consent_form", "foreign_case"): {"claudia"},
    ("referrals.show", "sent"): {"anna", "birgit", "nadia", "ulrike"},
    ("referrals.show", "draft"): {"anna", "birgit"},
    ("cases.confirm_draft", "sent"): {"anna", "birgit"},
    ("cases.confirm_draft", "draft"): {"anna", "birgit"},
    ("cases.discard_draft", "sent"): {"anna", "birgit"},
    ("cases.discard_draft", "draft"): {"anna", "birgit"},
}
for endpoint in ("cases.show", "cases.record_need", "cases.resolve_need", "cases.give_consent",
                 "cases.revoke_consent", "cases.change_residence_status", "cases.refer",
                 "cases.send_referral", "cases.close", "cases.reopen",
                 "cases.correct_person_data", "cases.change_housing_stage"):
    ALLOWED[(endpoint, "own_case")] = {"anna", "birgit"}
    ALLOWED[(endpoint, "foreign_case")] = {"claudia"}
# Staff: the admin manages every organisation's members, a supervisor their own's; a
# one-time link nobody was given opens for nobody.
ALLOWED[("staff.index", None)] = ALLOWED[("staff.add_member", None)] = {"birgit", "ulrike",
                                                                        "root"}
# The person's own voice, kept by the lead organisation (web/voice).
for endpoint in ("voice.issue_slip", "voice.revoke_access", "voice.record_own_goals",
                 "voice.record_signed_form"):
    ALLOWED[(endpoint, "own_case")] = {"anna", "birgit"}
    ALLOWED[(endpoint, "foreign_case")] = {"claudia"}
# What the person told the lead caseworker about a referral: the sent one is led by the FSA.
ALLOWED[("voice.record_feedback", "sent")] = {"anna", "birgit"}
ALLOWED[("voice.record_feedback", "draft")] = {"anna", "birgit"}
for endpoint in ("staff.change_role", "staff.remove", "staff.disable", "staff.enable",
                 "staff.new_link"):
    ALLOWED[(endpoint, "own_member")] = {"birgit", "root"}
    ALLOWED[(endpoint, "foreign_member")] = {"ulrike", "root"}
ALLOWED[("staff.set_password", "a_link")] = set()
# Erasure: a supervisor of the lead organisation asks, the data protection officer decides
# for any case of the network (and sees who read any case).
ALLOWED[("cases.request_erasure", "own_case")] = {"birgit"}
ALLOWED[("cases.request_erasure", "foreign_case")] = set()  # the Jobcenter has no Leitung
for endpoint in ("privacy.erase", "privacy.decline"):
    ALLOWED[(endpoint, "own_case")] = ALLOWED[(endpoint, "foreign_case")] = {"dora"}
ALLOWED[("privacy.index", None)] = ALLOWED[("privacy.reads", None)] = {"dora"}
for endpoint in ("privacy.access_report_json", "privacy.access_report_file"):
    ALLOWED[(endpoint, "own_case")] = {"birgit", "dora"}
    ALLOWED[(endpoint, "foreign_case")] = {"dora"}
# The network's reports: the coordination office, and supervisors for their organisation.
for endpoint in ("overview", "overview_csv", "overview_pdf", "network_map_page",
                 "network_map_csv", "network_map_pdf", "care_gaps_page", "care_gaps_csv",
                 "care_gaps_pdf", "capacity_page", "capacity_csv", "capacity_pdf"):
    ALLOWED[(f"reports.{endpoint}", None)] = {"katrin", "birgit", "ulrike"}
ALLOWED[("reports.record_demand", None)] = {"katrin"}
ALLOWED[("reports.withdraw_demand", None)] = {"katrin"}
# The needs register: kept by the coordination office; an agreement is also seen, and marked
# done, by the organisation that took it on (the PSZ's).
for endpoint in ("index", "convene", "group_needs", "politics", "politics_csv",
                 "politics_pdf", "record_sending"):
    ALLOWED[(f"register.{endpoint}", None)] = {"katrin"}
for endpoint in ("forum", "change_participants", "raise_need", "make_agreement", "pack",
                 "pack_pdf", "need", "correct_need", "withdraw_need", "rename_forum"):
    ALLOWED[(f"register.{endpoint}", "a_forum")] = {"katrin"}
for endpoint in ("group", "change_group_status", "describe_group"):
    ALLOWED[(f"register.{endpoint}", "a_group")] = {"katrin"}
for endpoint in ("agreement", "mark_done"):
    ALLOWED[(f"register.{endpoint}", "psz_agreement")] = {"katrin", "nadia", "ulrike"}
for endpoint in ("withdraw_agreement", "follow_up", "reschedule_agreement"):
    ALLOWED[(f"register.{endpoint}", "psz_agreement")] = {"katrin"}
# The responsibility map: kept by the coordination office and the admins (who kept its file
# before); the Organigramm for all staff; its public page for anyone, without sign-in.
for endpoint in ("index", "history", "rule", "save_rule", "remove_rule", "lead_rule",
                 "save_lead_rule", "remove_lead_rule", "self_help", "save_self_help",
                 "download", "upload", "contacts"):
    ALLOWED[(f"responsibilities.{endpoint}", None)] = {"katrin", "root"}
ALLOWED[("responsibilities.choose_contacts", "psz")] = {"katrin", "root"}
ALLOWED[("responsibilities.organigramm", None)] = SIGNED_IN
ALLOWED[("public.organigramm", None)] = EVERYONE
for endpoint in ("audit.case", "audit.case_print", "audit.case_csv"):
    ALLOWED[(endpoint, "own_case")] = {"birgit"}
    ALLOWED[(endpoint, "foreign_case")] = set()  # the Jobcenter of the test has no Leitung
for endpoint in ("audit.referral", "audit.referral_print", "audit.referral_csv"):
    ALLOWED[(endpoint, "sent")] = {"birgit", "ulrike"}
    ALLOWED[(endpoint, "draft")] = {"birgit"}
for action in RECEIVER_ACTIONS:
    ALLOWED[(f"referrals.act:{action}", "sent")] = {"nadia", "ulrike"}
    ALLOWED[(f"referrals.act:{action}", "draft")] = set()
for objects in ("sent", "draft"):
    ALLOWED[("referrals.act:stornieren", objects)] = {"anna", "birgit"}
    ALLOWED[("referrals.act:irrtuemlich", objects)] = {"birgit"}

OBJECT_KINDS = {"case_id": ("own_case", "foreign_case"), "referral_id": ("sent", "draft"),
                "organisation_id": ("psz",), "filename": (None,),
                "user_id": ("own_member", "foreign_member"), "token": ("a_link",),
                "code": (None,), "forum_id": ("a_forum",), "group_id": ("a_group",),
                "agreement_id": ("psz_agreement",), "slug": ("a_network",)}


class Setting:
    """The test network with one object of each kind."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.application = app.extensions["fallnetz.application"]
        world = self.world = web_world(app)
        own = world.open_case(needs=["health.psychosocial"])
        self.consent_id = world.consent(own)
        sent = world.send(own)
        drafts = self.application.cases.change_residence_status(world.anna, own, "permit_25")
        foreign = self.application.cases.open_case(world.claudia, {
            "display_name": "Familie K.", "household_size": 2, "district": "Mitte"},
            "own_flat", "permit_25", needs=["benefits"])["case_id"]
        # A consent of each case, whose form prints in the person's language.
        self.consents = {"own_case": self.consent_id, "foreign_case": self.application.cases
                         .give_consent(world.claudia, foreign, ["benefits"],
                                       self.application.today() + timedelta(days=90),
                                       sector="employment")["consent_id"]}
        # An expected demand the coordinator may withdraw (and record again: a withdrawn
        # one answers 422).
        self.estimate_id = self.application.planning.record_demand(
            world.as_("katrin", "koordinierungsstelle"), "housing", date(2026, 1, 1),
            date(2026, 12, 1), 450)["estimate_id"]
        # A conference with a need in a group, and an agreement the PSZ took on.
        katrin = world.as_("katrin", "koordinierungsstelle")
        register = self.application.register
        forum_id = register.convene(katrin, "conference", "Stadtteilkonferenz", [
            world.org("psz")], district="Sandow", held_on=self.application.today())["forum_id"]
        register.raise_need(katrin, forum_id, "Kitaplätze fehlen", "education",
                            [world.org("psz")])
        group_id = register.form_group(katrin, "Kita", [NeedRef(forum_id, 1)])["group_id"]
        due = self.application.today() + timedelta(days=7)
        while due.weekday() > 4:
            due += timedelta(days=1)
        agreement_id = register.make_agreement(katrin, forum_id, world.org("psz"),
                                               "Sprechstunde anbieten", due)["agreement_id"]
        self.register_ids = {"a_forum": forum_id, "a_group": group_id,
                             "psz_agreement": agreement_id}
        # Members of staff whom the others manage (a caseworker of the FSA, one of the PSZ);
        # none of the signed-in users, so removing them changes nobody's access.
        system = Stamp.system("test-setup")
        self.member_organisations = {"own_member": world.org("fsa-sachsendorf"),
                                     "foreign_member": world.org("psz")}
        members = {name: self.application.staff.add_member(
            system, organisation_id, f"staff-{name}", name, "caseworker")["user_id"]
            for name, organisation_id in self.member_organisations.items()}
        self.ids = {"own_case": own, "foreign_case": foreign, "sent": sent,
                    "draft": drafts["draft_referral_ids"][0], "psz": world.org("psz"),
                    **members, **self.register_ids,
                    "a_network": self.application.network.slug, None: None}

    def version(self, name: str) -> int:
        return self.application.repository.get(self.ids[name]).version

    def _keep_member(self, name: str) -> None:
        organisation = self.application.find(Organisation, self.member_organisations[name])
        if f"staff-{name}" not in organisation.members:
            self.application.directory.add_member(
                Stamp.system("test-setup"), organisation.id, f"staff-{name}", Role.CASEWORKER)

    def _keep_active(self) -> None:
        organisation = self.application.find(Organisation, self.world.org("psz"))
        if not organisation.active:
            self.application.directory.reactivate_organisation(Stamp.system("test-setup"),
                                                               organisation.id)

    def form(self, endpoint: str, obj: str | None) -> dict[str, Any]:
        """A complete, valid form for the route, so only access can stop it."""
        key = {"idempotency_key": uuid4().hex}
        versioned = {**key, "expected_version": self.version(obj)} if isinstance(
            self.ids.get(obj), UUID) else key
        today = self.application.today()
        action = endpoint.partition(":")[2]
        member = {"organisation_id": self.member_organisations[obj].hex} \
            if obj in self.member_organisations else {}
        if member:  # a member removed by an earlier request is a member again
            self._keep_member(obj)
        self._keep_active()  # an organisation deactivated by an earlier request works again
        # a form of the responsibility map carries the map's version
        mapped = {**key, "expected_version": self.application.responsibilities.version()}
        def seen(kind: str, *names: str) -> str:
            return seen_of(self.application.exchange.mapping(), kind, *names)
        samples: dict[str, Callable[[], dict[str, Any]]] = {
            "auth.login": lambda: {"username": "nobody", "password": "wrong password"},
            "networks.add": lambda: {"config_dir": "networks/nowhere"},
            "networks.disable": dict, "networks.enable": dict,
            "auth.logout": dict, "auth.change_language": lambda: {"language": "de"},
            "auth.choose_organisation": lambda: {"membership": "none"},
            "auth.confirm_code": lambda: {"code": "123456"},
            "cases.correct_person_data": lambda: {**versioned, "display_name": "Familie Z.",
                                                  "household_size": "6",
                                                  "district": "Sandow"},
            "cases.change_housing_stage": lambda: {**versioned, "housing_stage": "own_flat"},
            "voice.issue_slip": lambda: {**versioned, "language": "ar"},
            "voice.revoke_access": lambda: versioned,
            "voice.record_own_goals": lambda: {**versioned, "goals": "Arbeit",
                                               "abilities": "Deutsch B1"},
            "voice.record_signed_form": lambda: {**versioned,
                                                 "consent_id": self.consents[obj]},
            "voice.record_feedback": lambda: {**versioned, "helped": "much",
                                              "understood": "yes"},
            "person.open_page": lambda: {"code": "AAAA-BBBB-CCCC", "birth_year": "1990"},
            "person.give_feedback": lambda: {"helped": "much", "understood": "yes"},
            "person.request_revocation": lambda: {"consent_id": self.consent_id},
            "person.leave": dict,
            "directory.deactivate": lambda: {**versioned, "reason": "Test"},
            "directory.reactivate": lambda: versioned,
            "exchange.import_document": lambda: {**key, "publisher": "land"},
            "exchange.map_term": lambda: {**key, "seen": seen("term", TERM, "T-1"),
                                          "taxonomy": TERM, "code": "T-1",
                                          "needs": "benefits", "sector": "social_work"},
            "exchange.unmap_term": lambda: {**key, "seen": seen("term", TERM, "T-1"),
                                            "taxonomy": TERM, "code": "T-1"},
            "exchange.map_area": lambda: {**key, "seen": seen("area", "Nord"),
                                          "area": "Nord", "districts": "Sandow"},
            "exchange.unmap_area": lambda: {**key, "seen": seen("area", "Nord"),
                                            "area": "Nord"},
            "exchange.choose_sector": lambda: {**key, "seen": seen("sector", "land", "x1"),
                                               "publisher": "land", "source_id": "x1",
                                               "sector": "health"},
            "exchange.publish": lambda: {**versioned, "public": "on", "services": "beratung"},
            "staff.add_member": lambda: {**key, "organisation_id": self.world.org(
                "fsa-sachsendorf").hex, "username": f"neu-{uuid4().hex[:8]}",
                "display_name": "Neu", "role": "caseworker"},
            "staff.change_role": lambda: {**member, "role": "supervisor"},
            "staff.remove": lambda: member, "staff.enable": lambda: member,
            "staff.new_link": lambda: member,
            "staff.disable": lambda: {**member, "reason": "Test"},
            "staff.set_password": lambda: {"password": "x" * 12, "repeated_password": "x" * 12},
            "auth.enrol_second_factor": lambda: {"code": "123456"},
            "auth.renew_recovery_codes": lambda: {"code": "123456"},
            "auth.remove_second_factor": dict,
            "auth.change_password": lambda: {"current_password": "wrong one",
                                             "new_password": "x" * 12,
                                             "repeated_password": "x" * 12},
            "cases.create": lambda: {**key, "display_name": "Familie P.",
                                     "household_size": "3", "district": "Sandow",
                                     "housing_stage": "own_flat",
                                     "residence_status": "gestattung"},
            "cases.record_need": lambda: {**versioned, "need": "health.general"},
            "cases.resolve_need": lambda: {**versioned, "need": "health.psychosocial"},
            "cases.give_consent": lambda: {**versioned, "sector": "health",
                                           "purposes": "health",
                                           "expires_on": str(today + timedelta(days=90))},
            "cases.revoke_consent": lambda: {**versioned, "consent_id": self.consent_id,
                                             "reason": "Widerruf"},
            "cases.change_residence_status": lambda: {**versioned,
                                                      "residence_status": "duldung"},
            "cases.send_referral": lambda: {
                **key, "need": "health.psychosocial", "urgency": "urgent", "kind": "service",
                "receiver": f"{self.ids['psz']}:beratung", "reason": "Bitte Erstgespräch."},
            "cases.confirm_draft": lambda: {**versioned, "crisis_override_reason": ""},
            "cases.close": lambda: {**versioned, "reason": "umgezogen"},
            "cases.reopen": lambda: {**versioned, "reason": "zurückgekehrt"},
            "cases.request_erasure": lambda: {**versioned, "reason": "Antrag der Person"},
            "privacy.erase": lambda: versioned,
            "privacy.decline": lambda: {**versioned, "reason": "Aufbewahrungspflicht"},
            "cases.discard_draft": lambda: {**versioned, "reason": "nicht zuständig"},
            "reports.record_demand": lambda: {**versioned, "need": "housing",
                                              "first_month": "2026-01",
                                              "last_month": "2026-12", "people": "450"},
            "reports.withdraw_demand": lambda: {**versioned,
                                                "estimate_id": str(self.estimate_id)},
            "register.convene": lambda: {**key, "kind": "working_group", "name": "AG Wohnen",
                                         "lead_organisation_id": str(self.world.org("mbe"))},
            "register.group_needs": lambda: {**key, "action": "move", "group": "none",
                                             "needs": f"{self.ids['a_forum']}:1"},
            "register.record_sending": lambda: {**key, "recipient": "Sozialausschuss",
                                                "sent_on": str(today),
                                                "groups": str(self.ids["a_group"])},
            "register.change_participants": lambda: {**versioned, "participants": str(
                self.world.org("mbe"))},
            "register.raise_need": lambda: {**key, "text": "Ein Bedarf",
                                            "sector": "housing"},
            "register.make_agreement": lambda: {**key, "organisation_id": str(
                self.world.org("mbe")), "what": "Etwas tun",
                "due_on": str(today + timedelta(days=7 + (2 if (today + timedelta(days=7))
                                                          .weekday() > 4 else 0)))},
            "register.change_group_status": lambda: {**versioned, "change": "resolve",
                                                     "note": "gelöst"},
            "register.mark_done": lambda: {**versioned, "note": "erledigt"},
            "register.rename_forum": lambda: {**versioned, "name": "Konferenz",
                                              "held_on": str(today)},
            "register.describe_group": lambda: {**versioned, "title": "Kita und Schule"},
            "register.correct_need": lambda: {**versioned, "text": "Kitaplätze fehlen sehr",
                                              "sector": "education"},
            "register.withdraw_need": lambda: {**versioned, "reason": "doppelt"},
            "register.withdraw_agreement": lambda: {**versioned, "note": "entfällt"},
            "register.reschedule_agreement": lambda: {
                **versioned, "reason": "verschoben",
                "due_on": str(today + timedelta(days=14 + (2 if (today + timedelta(days=14))
                                                           .weekday() > 4 else 0)))},
            "register.follow_up": lambda: {**key, "forum_id": str(self.ids["a_forum"]),
                                           "note": "läuft"},
            "responsibilities.save_rule": lambda: {**mapped, "need": "health.general",
                                                   "organisations": "psz"},
            "responsibilities.remove_rule": lambda: {**mapped, "rule_id": "r1"},
            "responsibilities.save_lead_rule": lambda: {**mapped, "legal_sphere": "SGB II",
                                                        "need": "benefits",
                                                        "districts": "Sandow",
                                                        "organisations": "jobcenter"},
            "responsibilities.remove_lead_rule": lambda: {**mapped, "rule_id": "l18"},
            "responsibilities.save_self_help": lambda: {**mapped, "need": "language",
                                                        "housing_stage": "own_flat",
                                                        "text": "Kurs suchen"},
            "responsibilities.upload": lambda: mapped,
            "responsibilities.choose_contacts": lambda: {**versioned, "contacts": ""},
            "directory.change_capacity": lambda: {**versioned, "service_id": "beratung",
                                                  "capacity": "30"},
            "referrals.act": lambda: {**versioned, "reason": "Grund",
                                      "receiver": f"{self.world.org('gesundheitsamt')}:"}
            if action in ("weiterleiten",) else {**versioned, **{
                field: "Text" for field in ACTIONS[action].form._declared_fields
                if field in ("reason", "outcome")},
                **({"grounds": "other"} if action == "ablehnen" else {})},
        }
        return samples[endpoint.partition(":")[0]]()


def routes(app: Flask) -> list[tuple[str, str, str, str | None, dict[str, Any]]]:
    """(endpoint key, method, rule, object name, URL values) for every route and object."""
    found = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/"):
            continue  # the API's own table: tests/integration/test_api_access.py
        if rule.endpoint.startswith("hsds."):
            continue  # public, read-only, for anyone: tests/integration/test_hsds_api.py
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            # the object's own parameter first (a consent's form names its case too)
            params = sorted((p for p in rule.arguments if p != "action"),
                            key=lambda p: (p not in OBJECT_KINDS, p))
            objects = OBJECT_KINDS[params[0]] if params else (None,)
            actions = list(ACTIONS) if "action" in rule.arguments else [None]
            for obj in objects:
                for action in actions:
                    key = f"{rule.endpoint}:{action}" if action else rule.endpoint
                    found.append((key, method, rule.rule, obj, {
                        "param": params[0] if params else None, "action": action}))
    return found


def url_for_route(setting: Setting, rule: str, obj: str | None, values: dict[str, Any],
                  ) -> str:
    url = rule
    if values["param"] == "filename":
        url = url.replace("<path:filename>", "fallnetz.css")
    elif values["param"] == "token":  # a one-time link nobody was given
        url = url.replace("<token>", "0" * 32 + ".not-a-link")
    elif values["param"] == "code":  # the person's page in Arabic
        url = url.replace("<string:code>", "ar")
    elif values["param"]:
        url = url.replace(f"<uuid:{values['param']}>", str(setting.ids[obj]))
        if "<string:consent_id>" in url:
            url = url.replace("<string:consent_id>", setting.consents[obj])
    url = url.replace("<int:number>", "1")  # a forum's first need
    url = url.replace("<slug>", str(setting.ids.get("a_network")))
    if values["action"]:
        url = url[:url.rindex("/<")] + f"/{values['action']}"
    return url


def posts(app: Flask, setting: Setting) -> Iterator[tuple[str, str | None, str]]:
    """(endpoint key, object name, URL) of every POST route and object."""
    for key, method, rule, obj, values in routes(app):
        if method == "POST":
            yield key, obj, url_for_route(setting, rule, obj, values)


@pytest.fixture
def setting(app: Flask) -> Setting:
    return Setting(app)


def clients(app: Flask) -> dict[str, FlaskClient]:
    signed_in = {user: sign_in(app, user) for user in sorted(SIGNED_IN)}
    return {**signed_in, "anonymous": app.test_client()}


def refused(response: Any, user: str) -> bool:
    if user == "anonymous" and response.status_code == 302:
        return "/anmelden" in response.headers["Location"]
    return response.status_code in (403, 404)


def test_every_route_is_in_the_access_table(app: Flask, setting: Setting) -> None:
    missing = sorted({(key, obj) for key, _m, _r, obj, _v in routes(app)
                      if (key, obj) not in ALLOWED})
    assert not missing, f"routes without an access rule in this test: {missing}"


def test_gets_show_only_what_design_allows_and_change_nothing(app: Flask,
                                                             setting: Setting) -> None:
    users = clients(app)
    before = events(app)
    wrong = []
    for key, method, rule, obj, values in routes(app):
        if method != "GET":
            continue
        url = url_for_route(setting, rule, obj, values)
        for user, client in users.items():
            response = client.get(url)
            allowed = user in ALLOWED[(key, obj)]
            # a page someone may see is shown, not redirected (but the start and sign-in
            # pages, which send people on)
            shown = response.status_code == 200 or key in (
                "home", "auth.login", "auth.confirm_code", "networks.continue_sign_in",
                # the person's page without their code goes to where they enter it
                "person.choose_language", "person.status")
            if response.status_code >= 500 or allowed == refused(response, user) or (
                    allowed and not shown):
                wrong.append((user, "GET", url, key, obj, response.status_code))
    assert not wrong, "\n".join(map(str, wrong))
    assert events(app) == before, "a GET request recorded an event"


def test_posts_by_those_design_forbids_are_refused_and_record_nothing(
        app: Flask, setting: Setting) -> None:
    users = clients(app)
    wrong = []
    for key, obj, url in posts(app, setting):
        for user, client in users.items():
            if user in ALLOWED[(key, obj)]:
                continue
            before = events(app)
            response = client.post(url, data={"csrf_token": csrf_token(client),
                                              **setting.form(key, obj)})
            if not refused(response, user) or events(app) != before:
                wrong.append((user, url, key, obj, response.status_code))
    assert not wrong, "\n".join(map(str, wrong))


def test_posts_by_those_design_allows_get_through(app: Flask, setting: Setting) -> None:
    """Those allowed reach the command: it is done (302), or refused for the state the
    object is in by now (422, 409) — never for want of access."""
    users = clients(app)
    wrong = []
    for key, obj, url in posts(app, setting):
        if key == "auth.logout":
            continue
        for user in sorted(ALLOWED[(key, obj)]):
            client = users[user]
            response = client.post(url, data={"csrf_token": csrf_token(client),
                                              **setting.form(key, obj)})
            if response.status_code not in (200, 302, 401, 409, 422):
                wrong.append((user, url, key, obj, response.status_code,
                              response.get_data(as_text=True)[-400:]))
    assert not wrong, "\n".join(map(str, wrong))


def test_a_post_without_csrf_token_is_refused_and_records_nothing(
        app: Flask, setting: Setting) -> None:
    users = clients(app)
    wrong = []
    for key, obj, url in posts(app, setting):
        user = sorted(ALLOWED[(key, obj)] - {"anonymous"} or {"anna"})[0]
        before = events(app)
        response = users[user].post(url, data=setting.form(key, obj))
        if response.status_code != 400 or events(app) != before:
            wrong.append((user, url, response.status_code))
    assert not wrong, "\n".join(map(str, wrong))


def test_unknown_objects_are_404_for_everyone(app: Flask, setting: Setting) -> None:
    users = clients(app)
    for _key, method, rule, obj, values in routes(app):
        if method != "GET" or values["param"] not in ("case_id", "referral_id"):
            continue
        url = url_for_route(setting, rule, obj, values).replace(str(setting.ids[obj]),
                                                                str(uuid4()))
        for user in ("anna", "birgit", "katrin"):
            response = users[user].get(url)
            assert response.status_code in (403, 404), (user, url, response.status_code)
