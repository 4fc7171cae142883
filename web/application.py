"""Access to the request's network — its system, the domain's application and its settings —
from inside a request or CLI command. A request's network is chosen by its URL
(web/networks/routing.py); a CLI command's by ``NETWORK`` in the environment, or the only
one there is."""

from __future__ import annotations

import os

from flask import current_app, g, has_request_context
from werkzeug.exceptions import NotFound

from domain.application import ReferralNetwork
from domain.settings import Settings
from runtime.bootstrap import System


class NoNetworkChosen(NotFound):
    pass


def current_system() -> System:
    system = g.get("system")
    if system is not None:
        return system
    if has_request_context():
        raise NoNetworkChosen()  # the installation's own pages have no network's data
    g.system = cli_system()
    return g.system


def cli_system() -> System:
    """The network a CLI command works on: ``NETWORK=<slug>``, or the only one."""
    import click

    installation = current_app.extensions["fallnetz.installation"]
    slug = os.environ.get("NETWORK", "").strip()
    if not slug:
        enabled = installation.enabled()
        if len(enabled) != 1:
            raise click.ClickException(
                "This installation has several networks; say which one with NETWORK=<slug> "
                f"(one of: {', '.join(e.slug for e in enabled)}).")
        slug = enabled[0].slug
    system = installation.system(slug)
    if system is None:
        raise click.ClickException(f"No enabled network {slug!r} (flask --app web networks "
                                   "list).")
    return system


def current_application() -> ReferralNetwork:
    return current_system().application


def current_settings() -> Settings:
    """The network's settings when a network is chosen (its store, its links), else the
    installation's."""
    system = g.get("system")
    if system is None and not has_request_context():
        system = current_system()
    return system.settings if system is not None \
        else current_app.extensions["fallnetz.settings"]
