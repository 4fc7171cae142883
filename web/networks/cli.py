"""``flask --app web networks add|list|check|disable|enable``: the operators' commands for the
installation's networks (the same as its web pages, web/networks/__init__.py). Running web
and worker processes take a change up within a few seconds, without a restart."""

from __future__ import annotations

import json

import click
from flask import Flask

from runtime.installation import Installation, NetworkError


def init_app(app: Flask) -> None:
    installation: Installation = app.extensions["fallnetz.installation"]

    @app.cli.group("networks")
    def networks() -> None:
        """The networks of this installation (each with a store of its own)."""

    @networks.command("add")
    @click.argument("config_dirs", nargs=-1, required=True)
    @click.option("--database-url", default="",
                  help="The network's store (default: its own SQLite file beside the "
                       "installation's, or its own schema in the installation's PostgreSQL "
                       "database); only with one folder.")
    @click.option("--if-missing", is_flag=True,
                  help="Leave networks already registered as they are (for scripts).")
    def add(config_dirs: tuple[str, ...], database_url: str, if_missing: bool) -> None:
        """Register networks from their configuration folders (networks/<name>)."""
        if database_url and len(config_dirs) > 1:
            raise click.UsageError("--database-url names the store of one network")
        for folder in config_dirs:
            try:
                entry = installation.add(folder, database_url=database_url)
            except NetworkError as error:
                if if_missing and "registered already" in str(error):
                    continue
                raise click.ClickException(str(error)) from None
            click.echo(f"added {entry.slug}: {entry.name} — /n/{entry.slug}/")

    @networks.command("list")
    def list_networks() -> None:
        """The registered networks: slug, state, configuration folder, name."""
        entries = installation.entries(fresh=True)
        if not entries:
            root = installation.root_entry()
            click.echo(f"{root.slug}\tserved at the root (no network registered)\t"
                       f"{root.config_dir}\t{root.name}")
            return
        for entry in entries:
            state = "disabled" if entry.disabled else "enabled"
            click.echo(f"{entry.slug}\t{state}\t{entry.config_dir}\t{entry.name}")

    @networks.command("check")
    @click.argument("slugs", nargs=-1)
    def check(slugs: tuple[str, ...]) -> None:
        """Check networks (all when none is named): configuration, store, views. Exits 1
        when one fails."""
        chosen = slugs or tuple(e.slug for e in (installation.entries(fresh=True)
                                                 or [installation.root_entry()]))
        failed = False
        for slug in chosen:
            try:
                report = installation.check(slug)
            except NetworkError as error:
                raise click.ClickException(str(error)) from None
            failed |= not report["ok"]
            click.echo(json.dumps(report, ensure_ascii=False))
        if failed:
            raise SystemExit(1)

    @networks.command("disable")
    @click.argument("slug")
    def disable(slug: str) -> None:
        """Stop serving a network (pages and workers); its data stays."""
        _set(slug, True)

    @networks.command("enable")
    @click.argument("slug")
    def enable(slug: str) -> None:
        """Serve a disabled network again."""
        _set(slug, False)

    def _set(slug: str, disabled: bool) -> None:
        try:
            installation.set_disabled(slug, disabled)
        except NetworkError as error:
            raise click.ClickException(str(error)) from None
        click.echo(f"{slug} {'disabled' if disabled else 'enabled'}")
