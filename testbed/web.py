"""Helpers for driving the web app as its users do: sign in, read a form's tokens, post."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

import pyotp

from domain import second_factor
from domain.application import ReferralNetwork
from domain.stamp import Stamp
from testbed.world import ORGANISATIONS, World

PASSWORD = "correct horse battery"
USERS = sorted({user for _n, _s, members in ORGANISATIONS.values() for user in members})


# The authenticator app of every test user whose role needs a second factor.
SECOND_FACTOR = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
RECOVERY_CODES: dict[str, list[str]] = {}


def give_passwords(application: ReferralNetwork) -> None:
    """Passwords for all, and the second factor (SECOND_FACTOR) for those who need one."""
    system = Stamp.system("test-setup")
    for user in USERS:
        application.accounts.set_password(system, user, PASSWORD)
        roles = [role for _o, role in application.accounts.memberships(user)]
        if second_factor.required(roles):
            # set up with the previous step's code, so that the current one is still free
            code = second_factor.code_at(SECOND_FACTOR, application.clock(), -1)
            RECOVERY_CODES[user] = application.accounts.enrol_second_factor(
                system, SECOND_FACTOR, code, username=user)


def code_for(application: ReferralNetwork, user: str) -> str:
    """A code the app would show now that has not been used yet (a step either side of now
    is accepted), else one of the user's recovery codes: tests sign in more often than
    once in 30 seconds, often at a clock that stands still."""
    account = application.directory.user(user)
    assert account is not None and account.has_second_factor()
    secret, now = account.second_factor or "", application.clock()
    current = pyotp.TOTP(secret).timecode(now)
    # The previous step last: a sign-in that crosses into the next step a moment later
    # still has the current one and the next accepted, not the previous.
    for offset in (0, 1, -1):
        if current + offset > account.last_code_step:
            return second_factor.code_at(secret, now, offset)
    return RECOVERY_CODES[user].pop()


def csrf_token(client: FlaskClient, url: str = "/anmelden") -> str:
    page = client.get(url, follow_redirects=True).get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, f"no CSRF token on {url}"
    return match.group(1)


def sign_in(app: Flask, user: str, password: str = PASSWORD) -> FlaskClient:
    """Signs in as the user does, with the second factor's code where their role needs it."""
    client = app.test_client()
    response = client.post("/anmelden", data={"csrf_token": csrf_token(client),
                                              "username": user, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)
    if response.headers["Location"].endswith("/anmelden/code"):
        application = app.extensions["fallnetz.application"]
        response = client.post("/anmelden/code", data={
            "csrf_token": csrf_token(client, "/anmelden/code"),
            "code": code_for(application, user)})
        assert response.status_code == 302, response.get_data(as_text=True)
    client.landing = response.headers["Location"]  # type: ignore[attr-defined]
    return client


def hidden_fields(page: str, action: str) -> dict[str, str]:
    """The hidden inputs of the form that posts to ``action``."""
    form = re.search(r'<form method="post" action="' + re.escape(action) + r'"[^>]*>(.*?)</form>',
                     page, re.S)
    assert form, f"no form posting to {action}"
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"',
                           form.group(1)))


def submit(client: FlaskClient, page_url: str, action: str, **fields: Any) -> Any:
    """Posts the form of ``page_url`` that goes to ``action``, as a browser would: with its
    hidden fields (CSRF token, idempotency key, version) and the given inputs."""
    page = client.get(page_url).get_data(as_text=True)
    data = {**hidden_fields(page, action), **fields}
    return client.post(action, data=data)


def events(app: Flask) -> int:
    return app.extensions["fallnetz.application"].recorder.max_notification_id() or 0


def web_world(app: Flask) -> World:
    application = app.extensions["fallnetz.application"]
    world = World.build(application)
    give_passwords(application)
    return world
