"""Hostile input over the whole URL map (issue 17, finding 6): every web form route, each of
its fields in turn, and every API route that takes a body, fed the payloads of the probe —
JSON nested a thousand levels deep, a number of 5,000 digits, a lone surrogate, control
characters, NUL, malformed UTF-8 — by a user allowed to use the route: never a 5xx, and
nothing stored."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from flask import Flask

from domain.organisation import TOKEN_SCOPES
from domain.stamp import Role, Stamp
from testbed.web import csrf_token, events
from tests.integration.test_web_access import ALLOWED, Setting, clients, posts

# A lone surrogate cannot be put in a str a client sends: it goes in as the bytes a browser
# would send for it (malformed UTF-8), through this stand-in.
LONE_SURROGATE = "LONESURROGATE"
FIELD_PAYLOADS = ("a\x00b", "x\x1bx", "9" * 5000, LONE_SURROGATE, "\u202e\u0007", "[" * 1000)
DEEP = "[" * 1000 + "]" * 1000
BODIES = (DEEP, '{"a": ' + "9" * 5000 + "}", '{"a": "\\ud800"}', '{"a": "x\\u0000"}', "{",
          b'{"a": "\xed\xa0\x80"}')
SKIPPED_FIELDS = {"csrf_token"}


def _hostile_forms(valid: dict[str, Any]) -> list[dict[str, Any]]:
    forms = []
    for field in [f for f in valid if f not in SKIPPED_FIELDS] or ["extra"]:
        for payload in FIELD_PAYLOADS:
            forms.append({**valid, field: payload})
    return forms


def test_no_form_route_gives_a_5xx_or_stores_a_hostile_field(app: Flask) -> None:
    setting = Setting(app)
    users = clients(app)
    wrong = []
    for key, obj, url in posts(app, setting):
        allowed = sorted(ALLOWED[(key, obj)] - {"anonymous"})
        if not allowed or key in ("auth.logout", "auth.login"):
            continue
        client = users[allowed[0]]
        for form in _hostile_forms(setting.form(key, obj)):
            before = events(app)
            body = urlencode({"csrf_token": csrf_token(client), **form}, doseq=True)
            response = client.post(url, data=body.replace(LONE_SURROGATE, "%ED%A0%80"),
                                   content_type="application/x-www-form-urlencoded")
            # A field the route does not check as text (a choice, a number) may still be
            # refused by its own rule; only a 5xx or a stored hostile value is wrong.
            if response.status_code >= 500 or (events(app) != before and _stored_raw(
                    app, form)):
                wrong.append((key, obj, url, repr(form)[:120], response.status_code))
    assert not wrong, "\n".join(map(str, wrong))


def _stored_raw(app: Flask, form: dict[str, Any]) -> bool:
    """Whether a payload went into the store as it was sent (control characters, NUL and
    lone surrogates must never)."""
    application = app.extensions["fallnetz.application"]
    last = application.recorder.max_notification_id() or 0
    for notification in application.notification_log.select(start=max(1, last - 5),
                                                             limit=10):
        event = application.mapper.to_domain_event(notification)
        text = repr(vars(event))
        if any(bad in text for bad in ("\\x00", "\\x1b", "\\ud800", "\\x07")):
            return True
    return False


def test_no_api_route_gives_a_5xx_or_stores_a_hostile_body(app: Flask) -> None:
    setting = Setting(app)
    world = setting.world
    issued = world.application.integrations.issue_api_token(
        Stamp.system("test"), world.org("fsa-sachsendorf"), "probe", Role.SUPERVISOR,
        list(TOKEN_SCOPES))
    headers = {"Authorization": f"Bearer {issued['token']}",
               "Content-Type": "application/json"}
    client = app.test_client()
    values = {"case_id": setting.ids["own_case"], "referral_id": setting.ids["sent"],
              "organisation_id": world.org("fsa-sachsendorf"), "need": "health.psychosocial",
              "consent_id": setting.consent_id, "service_id": "beratung",
              "token_id": "none", "webhook_id": "none", "user_id": setting.ids["own_member"]}
    wrong = []
    for rule in app.url_map.iter_rules():
        methods = (rule.methods or set()) & {"POST", "PUT", "PATCH"}
        if not rule.rule.startswith("/api/") or not methods:
            continue
        url = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values[m.group(1)]), rule.rule)
        for method in methods:
            for body in BODIES:
                before = events(app)
                response = client.open(url, method=method, data=body, headers=headers)
                if response.status_code >= 500 or events(app) != before:
                    wrong.append((method, url, body[:20], response.status_code))
                elif response.status_code not in (400, 401, 403, 404, 409, 415, 422):
                    wrong.append((method, url, body[:20], response.status_code))
    assert not wrong, "\n".join(map(str, wrong))
