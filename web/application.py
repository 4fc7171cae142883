"""Access to the domain's application from inside a request or CLI command."""

from __future__ import annotations

from flask import current_app

from domain.application import ReferralNetwork


def current_application() -> ReferralNetwork:
    return current_app.extensions["fallnetz.application"]
