"""CLI commands on the app: ``flask --app web load-demo`` and ``flask --app web check-network``."""

from __future__ import annotations

import click
from flask import Flask

from domain.demo import load_demo
from domain.network import NetworkConfigError, load_network
from web.engine import engine


def init_app(app: Flask) -> None:
    @app.cli.command("load-demo")
    def load_demo_command() -> None:
        """Load the demo network (directory, users, cases, referrals); safe to repeat."""
        settings = app.extensions["fallnetz.settings"]
        report = load_demo(engine(), settings.network_path / "demo")
        click.echo(f"Demo network loaded: {report.organisations} organisations, "
                   f"{report.users} users, {report.cases} cases.")
        for status, count in sorted(report.referrals_by_status.items()):
            click.echo(f"  referrals {status:>17}: {count}")

    @app.cli.command("check-network")
    @click.argument("folder", required=False)
    def check_network_command(folder: str | None) -> None:
        """Validate a network's configuration files (default: NETWORK_DIR)."""
        path = folder or app.extensions["fallnetz.settings"].network_path
        try:
            network = load_network(path)
        except NetworkConfigError as e:
            raise click.ClickException(str(e)) from None
        click.echo(f"{network.name}: {len(network.needs)} needs, {len(network.rules)} rules, "
                   f"deadline policy {network.deadlines.version} — valid.")
