"""Helpers for driving the web app as its users do: sign in, read a form's tokens, post."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from domain.application import ReferralNetwork
from domain.stamp import Stamp
from testbed.world import ORGANISATIONS, World

PASSWORD = "correct horse battery"
USERS = sorted({user for _n, _s, members in ORGANISATIONS.values() for user in members})


def give_passwords(application: ReferralNetwork) -> None:
    for user in USERS:
        application.accounts.set_password(Stamp.system("test-setup"), user, PASSWORD)


def csrf_token(client: FlaskClient, url: str = "/anmelden") -> str:
    page = client.get(url, follow_redirects=True).get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, f"no CSRF token on {url}"
    return match.group(1)


def sign_in(app: Flask, user: str, password: str = PASSWORD) -> FlaskClient:
    client = app.test_client()
    response = client.post("/anmelden", data={"csrf_token": csrf_token(client),
                                              "username": user, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)
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
