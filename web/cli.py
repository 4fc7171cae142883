"""CLI commands on the app: the demo, the network files, and the operators' commands for
views and escalations (``flask --app web --help`` lists them)."""

from __future__ import annotations

import base64
import json
import os
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from uuid import UUID

import click
from flask import Flask

from domain.base import DomainError
from domain.demo import load_demo
from domain.organisation import DEFAULT_TOKEN_DAYS, MEMBER_ROLES, MOST_TOKEN_DAYS, TOKEN_SCOPES, \
    Organisation
from domain.stamp import Role, Stamp
from domain.network import NetworkConfigError, load_network
from web.application import current_application, current_settings
from web.incoming import UnreadableInput


def init_app(app: Flask) -> None:
    from web.networks import cli as networks_cli

    networks_cli.init_app(app)

    @app.cli.command("load-demo")
    def load_demo_command() -> None:
        """Load each network's demo (directory, users, cases, referrals) — every network's,
        or NETWORK's; safe to repeat."""
        import os

        from flask import g

        installation = app.extensions["fallnetz.installation"]
        slugs = [os.environ["NETWORK"]] if os.environ.get("NETWORK") else [
            entry.slug for entry in installation.enabled()]
        for slug in slugs:
            g.system = installation.system(slug)
            if g.system is None:
                raise click.ClickException(f"No enabled network {slug!r}.")
            _load_demo()

    def _load_demo() -> None:
        from runtime.bootstrap import StoreUnreadable, check_store_opens

        settings = current_settings()
        try:
            check_store_opens(current_application())
        except StoreUnreadable as e:
            raise click.ClickException(str(e)) from None
        hooks, current_application().after_save[:] = list(current_application().after_save), []
        try:  # one nudge for the whole load, not one per command
            report = load_demo(current_application(), settings.network_path / "demo")
        finally:
            current_application().after_save[:] = hooks
        for hook in hooks:
            hook(current_application().recorder.max_notification_id() or 0)
        click.echo(f"{current_application().network.name}: demo loaded: "
                   f"{report.organisations} organisations, {report.users} users, "
                   f"{report.cases} cases.")
        for status, count in sorted(report.referrals_by_status.items()):
            click.echo(f"  referrals {status:>17}: {count}")

    @app.cli.command("set-password")
    @click.argument("username")
    @click.password_option(help="The new password (asked for when not given).")
    def set_password_command(username: str, password: str) -> None:
        """Set a user's password (an operator's reset; users change their own in the web)."""
        from domain.base import DomainError
        from domain.stamp import Stamp

        try:
            current_application().accounts.set_password(Stamp.system("cli:set-password"), username,
                                                        password)
        except DomainError as e:
            raise click.ClickException(str(e.message)) from None
        click.echo(f"The password of {username} is set.")

    @app.cli.group("second-factor")
    def second_factor_group() -> None:
        """The second factor of sign-in (authenticator app and recovery codes)."""

    @second_factor_group.command("remove")
    @click.argument("username")
    def second_factor_remove(username: str) -> None:
        """Remove a user's app (a lost phone): their sessions end, and they set up a new one
        at the next sign-in."""
        from domain.base import DomainError
        from domain.stamp import Stamp

        try:
            current_application().accounts.remove_second_factor(
                Stamp.system("cli:second-factor-remove"), username)
        except DomainError as e:
            raise click.ClickException(str(e.message)) from None
        click.echo(f"The second factor of {username} is removed.")

    @second_factor_group.command("demo-code")
    def second_factor_demo_code() -> None:
        """The code the demo logins' authenticator app would show now (demo only: the key is
        published in the network's demo directory)."""
        from domain import second_factor
        from domain.demo import load_directory_file

        import os

        from flask import g

        installation = app.extensions["fallnetz.installation"]
        # The demo networks share the key: any network's demo folder has it.
        g.system = installation.system(os.environ.get("NETWORK")
                                       or installation.enabled()[0].slug)
        if g.system is None:
            raise click.ClickException("No such enabled network.")
        settings = current_settings()
        directory = load_directory_file(settings.network_path / "demo" / "directory.toml")
        now = current_application().clock()
        secret = directory["second_factor_secret"]
        click.echo(f"{second_factor.code_at(secret, now)}  (next: "
                   f"{second_factor.code_at(secret, now, 1)})")

    @app.cli.command("check-network")
    @click.argument("folder", required=False)
    def check_network_command(folder: str | None) -> None:
        """Validate a network's configuration files (default: every registered network's
        folder, or NETWORK_DIR when none is registered)."""
        from domain.settings import PROJECT_ROOT

        installation = app.extensions["fallnetz.installation"]
        paths = [folder] if folder else [
            PROJECT_ROOT / entry.config_dir for entry in installation.enabled()]
        for path in paths:
            try:
                network = load_network(path)
            except NetworkConfigError as e:
                raise click.ClickException(str(e)) from None
            click.echo(f"{network.name}: {len(network.needs)} needs, {len(network.rules)} "
                       f"rules, deadline policy {network.deadlines.version} — valid.")

    @app.cli.group("views")
    def views_group() -> None:
        """The projected views: status, rebuild."""

    @views_group.command("status")
    def views_status() -> None:
        """Each projection's position and lag behind the event store."""
        lag = _updater(app).lag()
        click.echo(f"handoff_views: position {lag.position} of {lag.last_event} "
                   f"({lag.behind} behind)")

    @views_group.command("rebuild")
    @click.option("--restart", is_flag=True,
                  help="Start from the first event, not where an interrupted rebuild stopped.")
    def views_rebuild(restart: bool) -> None:
        """Project every event again into shadow tables, then put them in the live views'
        place; the lists keep answering meanwhile. Interrupted (Ctrl-C), it goes on where
        it stopped when started again."""
        from readmodel.rebuild import Rebuild, RebuildRunning
        from readmodel.store import ViewStore

        bar = RebuildBar()
        settings = current_settings()
        rebuild = Rebuild(current_application(), ViewStore(settings),
                          settings.instance_path / "rebuild",
                          batch_size=max(settings.view_batch_size, 1000), on_progress=bar.show)
        started = time.monotonic()
        try:
            applied = rebuild.run(restart=restart)
        except RebuildRunning:
            raise click.ClickException("Another rebuild of these views is running; wait for "
                                       "it (its progress is in /health).") from None
        except KeyboardInterrupt:
            bar.close()
            raise click.ClickException("Interrupted; `views rebuild` goes on from here.") \
                from None
        bar.close()
        seconds = max(time.monotonic() - started, 1e-6)
        click.echo(f"{applied} events in {seconds:.1f} s ({applied / seconds:.0f} events/s); "
                   f"the new views are live.")

    _notification_commands(app)
    _exchange_commands(app)
    _staff_commands(app)
    _store_commands(app)

    @app.cli.group("escalations")
    def escalations_group() -> None:
        """Deadline escalations."""

    @escalations_group.command("scan")
    @click.option("--now", "now_text", help="ISO time to scan at (default: now)")
    @click.option("--dry-run", is_flag=True, help="Show what would escalate; record nothing.")
    def escalations_scan(now_text: str | None, dry_run: bool) -> None:
        """Run the escalation scan once."""
        from domain.services.escalations import escalations_due
        from readmodel.queries import due_escalations
        from readmodel.register import missed_agreements

        now = _parse_now(now_text)
        updater = _updater(app)
        updater.catch_up()
        due = due_escalations(updater.store, now)
        found = (escalations_due(due, now) if dry_run
                 else updater.application.escalations.escalate_due(due, now))
        missed = missed_agreements(updater.store, now)
        if not dry_run:
            updater.application.register.escalate_missed(missed, now)
        if not dry_run:
            updater.catch_up()
        verb = "would escalate" if dry_run else "escalated"
        for e in found:
            click.echo(f"{verb}: referral {e.referral_id} stage {e.stage} level {e.level} "
                       f"(due {e.due_at.isoformat(timespec='minutes')})")
        for agreement_id in missed:
            click.echo(f"{verb}: missed agreement {agreement_id}")
        click.echo(f"{len(found) + len(missed)} escalation(s) at "
                   f"{now.isoformat(timespec='minutes')}" + (" (dry run)" if dry_run else ""))


def _notification_commands(app: Flask) -> None:
    @app.cli.group("notifications")
    def notifications_group() -> None:
        """The notification outbox."""

    @notifications_group.command("stuck")
    @click.option("--minutes", default=30, show_default=True,
                  help="Claimed at least this long ago.")
    def notifications_stuck(minutes: int) -> None:
        """Notifications claimed for sending whose delivery was never recorded."""
        from readmodel.queries import stuck_notifications

        updater = _updater(app)
        updater.catch_up()
        since = datetime.now(timezone.utc) - timedelta(minutes=minutes)
        rows = stuck_notifications(updater.store, since)
        for row in rows:
            about = (f"referral {row['referral_id']}  {row['stage']} level {row['level']}"
                     if row["referral_id"] else row["stage"])
            click.echo(f"{row['notification_id']}  {about}  attempts {row['attempts']}  "
                       f"claimed {row['updated_at'][:16]}")
        click.echo(f"{len(rows)} notification(s) stuck in sending.")

    @notifications_group.command("release")
    @click.argument("notification_id", type=click.UUID)
    @click.option("--reason", required=True, help="What the check of the mail server showed.")
    def notifications_release(notification_id: UUID, reason: str) -> None:
        """Release a stuck notification for sending, after checking it never went out."""
        current_application().escalations.release_notification(notification_id, reason,
                                                               datetime.now(timezone.utc))
        click.echo("Released; it is sent with the next run.")


def _staff_commands(app: Flask) -> None:
    """The operators' side of staff management (the web's „Personal“ page does the same)."""
    @app.cli.group("staff")
    def staff_group() -> None:
        """Members of staff: add, one-time links, disable and enable."""

    def organisation_id(key: str) -> UUID:
        found = current_application().find(
            Organisation, Organisation.id_for(current_application().network.slug, key))
        if found is None:
            raise click.ClickException(f"No organisation with the key {key!r}.")
        return found.id

    def run(command: Callable[[], Any]) -> Any:
        try:
            return command()
        except DomainError as e:
            raise click.ClickException(str(e.message)) from None

    def link_of(token: str) -> str:
        from web.staff import setup_link_url

        return setup_link_url(token)

    system = Stamp.system("cli:staff")

    @staff_group.command("add")
    @click.argument("organisation_key")
    @click.argument("username")
    @click.option("--name", required=True, help="The name shown to colleagues.")
    @click.option("--role", required=True, help="caseworker, supervisor, coordinator, admin "
                  "or data_protection.")
    @click.option("--email", default=None, help="Their own e-mail address.")
    def staff_add(organisation_key: str, username: str, name: str, role: str,
                  email: str | None) -> None:
        """Add a member (a new account gets a one-time link to set its password)."""
        staff = current_application().staff
        org = organisation_id(organisation_key)
        result = run(lambda: staff.add_member(system, org, username, name, role, email))
        click.echo(f"{username} is a {role} of {organisation_key}.")
        if result["new"]:
            token = run(lambda: staff.issue_setup_link(system, org, username))
            click.echo(f"One-time link (7 days): {link_of(token)}")

    @staff_group.command("link")
    @click.argument("organisation_key")
    @click.argument("username")
    def staff_link(organisation_key: str, username: str) -> None:
        """A new one-time link for the member to set their password (a reset)."""
        token = run(lambda: current_application().staff.issue_setup_link(
            system, organisation_id(organisation_key), username))
        click.echo(f"One-time link (7 days): {link_of(token)}")

    @staff_group.command("disable")
    @click.argument("organisation_key")
    @click.argument("username")
    @click.option("--reason", required=True)
    def staff_disable(organisation_key: str, username: str, reason: str) -> None:
        """Disable an account: its sessions end at once, nobody signs in with it."""
        run(lambda: current_application().staff.disable(
            system, organisation_id(organisation_key), username, reason))
        click.echo(f"{username} is disabled.")

    @staff_group.command("role")
    @click.argument("organisation_key")
    @click.argument("username")
    @click.argument("role")
    def staff_role(organisation_key: str, username: str, role: str) -> None:
        """Give a member another role."""
        run(lambda: current_application().staff.change_role(
            system, organisation_id(organisation_key), username, role))
        click.echo(f"{username} is a {role} of {organisation_key}.")

    @staff_group.command("remove")
    @click.argument("organisation_key")
    @click.argument("username")
    def staff_remove(organisation_key: str, username: str) -> None:
        """A member no longer (the account stays, with its other memberships)."""
        run(lambda: current_application().staff.remove_member(
            system, organisation_id(organisation_key), username))
        click.echo(f"{username} is no longer a member of {organisation_key}.")

    @staff_group.command("enable")
    @click.argument("organisation_key")
    @click.argument("username")
    def staff_enable(organisation_key: str, username: str) -> None:
        run(lambda: current_application().staff.enable(
            system, organisation_id(organisation_key), username))
        click.echo(f"{username} is enabled.")


def _exchange_commands(app: Flask) -> None:
    @app.cli.group("tokens")
    def tokens_group() -> None:
        """API tokens of the organisations (for the systems that call /api/v1)."""

    def organisation_for(key: str):  # type: ignore[no-untyped-def]
        found = current_application().organisation_by_key(key)
        if found is None:
            raise click.ClickException(f"No organisation with the key {key!r}.")
        return found

    @tokens_group.command("issue")
    @click.argument("organisation_key")
    @click.argument("name")
    @click.option("--role", required=True,
                  type=click.Choice([r.value for r in MEMBER_ROLES]))
    @click.option("--scope", "scopes", multiple=True, required=True,
                  type=click.Choice(TOKEN_SCOPES), help="Repeat for several scopes.")
    @click.option("--days", type=click.IntRange(1, MOST_TOKEN_DAYS), default=DEFAULT_TOKEN_DAYS,
                  show_default=True, help="Days until it expires.")
    def tokens_issue(organisation_key: str, name: str, role: str, scopes: tuple[str],
                     days: int) -> None:
        """Issue a token; it is shown once."""
        organisation = organisation_for(organisation_key)
        application = current_application()
        try:
            issued = application.integrations.issue_api_token(
                Stamp.system("cli:tokens-issue"), organisation.id, name, Role(role), list(scopes),
                expires_on=application.today() + timedelta(days=days))
        except DomainError as e:
            raise click.ClickException(str(e.message)) from None
        click.echo(f"Token {issued['token_id']} ({name}, {role} of {organisation.name}, until "
                   f"{issued['expires_on']}); keep it now, it is not shown again:")
        click.echo(issued["token"])

    @tokens_group.command("list")
    @click.argument("organisation_key")
    def tokens_list(organisation_key: str) -> None:
        """The organisation's tokens (never their secrets)."""
        for token_id, token in organisation_for(organisation_key).api_tokens.items():
            state = ("revoked" if token["revoked"] else "expired"
                     if token["expires_on"] < current_application().today() else "active")
            click.echo(f"{token_id}  {token['name']:<20} {token['role']:<11} {state:<8} "
                       f"until {token['expires_on']}  {' '.join(token['scopes'])}")

    @tokens_group.command("revoke")
    @click.argument("organisation_key")
    @click.argument("token_id")
    def tokens_revoke(organisation_key: str, token_id: str) -> None:
        """Revoke a token: it is refused from the next request on."""
        organisation = organisation_for(organisation_key)
        try:
            current_application().integrations.revoke_api_token(Stamp.system("cli:tokens-revoke"),
                                                                organisation.id, token_id)
        except DomainError as e:
            raise click.ClickException(str(e.message)) from None
        click.echo(f"Token {token_id} is revoked.")

    @app.cli.group("hsds")
    def hsds_group() -> None:
        """The directory in Open Referral HSDS 3.0."""

    _mapping_commands(hsds_group)

    @hsds_group.command("export")
    @click.argument("file", type=click.File("w", encoding="utf-8"))
    def hsds_export(file) -> None:  # type: ignore[no-untyped-def]
        """Write the active organisations as HSDS 3.0 JSON (- for standard output)."""
        document = current_application().exchange.export_hsds()
        json.dump(document, file, ensure_ascii=False, indent=2)
        file.write("\n")
        click.echo(f"{len(document)} organisations exported.", err=True)

    @hsds_group.command("import")
    @click.argument("source", type=click.Path(exists=True, dir_okay=True, path_type=Path))
    @click.option("--publisher", default="hsds", show_default=True,
                  help="Whose directory this is: a re-import of the same publisher updates "
                       "the organisations it imported before.")
    @click.option("--dry-run", is_flag=True, help="Report what would happen; store nothing.")
    def hsds_import(source: Path, publisher: str, dry_run: bool) -> None:
        """Import an HSDS 3.0 directory: a JSON document, or the tabular data package (a
        folder or a zip with datapackage.json and CSV tables). Reports each organisation
        and service: registered, updated, unchanged, pending (with what is missing) or
        refused (with JSON pointers)."""
        from domain.exchange.hsds import Unreadable
        from domain.exchange.hsds_tables import read_package
        from web.incoming import hsds_document

        try:
            document = read_package(source) if source.is_dir() else \
                hsds_document(source.read_bytes())
        except UnreadableInput as e:
            raise click.ClickException(str(e.description)) from None
        except Unreadable as e:
            raise click.ClickException("; ".join(f"{x['pointer']}: {x['detail']}"
                                                 for x in e.errors)) from None
        try:
            report = current_application().exchange.import_hsds(
                Stamp.system("cli:hsds-import"), document, publisher=publisher,
                dry_run=dry_run)
        except DomainError as e:
            raise click.ClickException(str(e.message)) from None
        if dry_run:
            click.echo("Dry run: nothing was stored.")
        for organisation in report.organisations:
            click.echo(f"{organisation.outcome:<10} #{organisation.index} {organisation.name}"
                       + (f" ({organisation.key})" if organisation.key else ""))
            for reason in organisation.missing:
                click.echo(f"             missing: {reason}")
            for error in organisation.errors:
                click.echo(f"             {error['pointer']}: {error['detail']}")
            for service in organisation.services:
                click.echo(f"  {service.outcome:<10} {service.name}")
                for reason in service.missing:
                    click.echo(f"               missing: {reason}")
        counts = report.counts()
        click.echo(", ".join(f"{outcome} {number}" for outcome, number in counts.items()))
        if counts["refused"]:
            raise SystemExit(1)


def _mapping_commands(hsds_group: click.Group) -> None:
    @hsds_group.group("mapping")
    def mapping_group() -> None:
        """How other publishers' taxonomy terms and service areas map onto this network."""

    @mapping_group.command("export")
    @click.argument("file", type=click.File("w", encoding="utf-8"))
    def mapping_export(file) -> None:  # type: ignore[no-untyped-def]
        """Write the mapping as TOML (- for standard output), to keep with the network's
        files or to bring to another network."""
        from domain.exchange.mapping_file import mapping_toml

        file.write(mapping_toml(current_application().exchange.mapping()))

    @mapping_group.command("import")
    @click.argument("file", type=click.File("rb"))
    def mapping_import(file) -> None:  # type: ignore[no-untyped-def]
        """Apply a mapping file: each term and area as if the coordinator mapped it; what
        it makes mappable is registered."""
        from domain.exchange.mapping_file import MappingFileError, read_mapping

        try:
            terms, areas, sectors = read_mapping(file.read())
            made = current_application().exchange.apply_mapping(
                Stamp.system("cli:hsds-mapping"), terms, areas, sectors)["services"]
        except MappingFileError as e:
            raise click.ClickException(str(e)) from None
        except DomainError as e:
            raise click.ClickException(f"{e.message} Nothing was changed.") from None
        click.echo(f"Terms mapped: {len(terms)}, areas mapped: {len(areas)}, sectors chosen: "
                   f"{len(sectors)}; services that became receivers: {len(made)}.")


class RebuildBar:
    """A progress bar per phase of a rebuild (tqdm: rate and time left)."""

    UNITS = {"copying": "rows"}

    def __init__(self) -> None:
        self.phase: str | None = None
        self.bar: Any = None

    def show(self, progress: Any) -> None:
        from tqdm import tqdm

        if progress.phase != self.phase:
            self.close()
            self.phase = progress.phase
            if progress.phase in ("swapping", "done"):  # one transaction: nothing to count
                if progress.phase == "swapping":
                    click.echo("Swapping: the new views take the live ones' place …")
                return
            if progress.phase == "following" and progress.done >= progress.total:
                return  # nothing came meanwhile
            self.bar = tqdm(total=progress.total, initial=progress.done,
                            desc=progress.phase.capitalize(),
                            unit=self.UNITS.get(progress.phase, "events"), unit_scale=True,
                            dynamic_ncols=True)
        if self.bar is not None:
            self.bar.total = progress.total
            self.bar.update(progress.done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _updater(app: Flask):  # type: ignore[no-untyped-def]
    from readmodel.runner import ViewUpdater
    from readmodel.store import ViewStore

    return ViewUpdater(current_application(), ViewStore(current_settings()))


def _parse_now(text: str | None) -> datetime:
    if not text:
        return datetime.now(timezone.utc)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(f"{text!r} is not an ISO time", param_hint="--now") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _progress_to(bar: Any) -> Callable[[int], None]:
    """For work that reports how much it has done in all: click's bar takes steps."""
    seen = [0]

    def progress(done: int) -> None:
        bar.update(done - seen[0])
        seen[0] = done
    return progress


def _store_commands(app: Flask) -> None:
    @app.cli.group("store")
    def store_group() -> None:
        """The event store's encryption: encrypt an old store, rotate the master key."""

    @store_group.command("new-key")
    def new_key() -> None:
        """Print a new master key (32 random bytes, base64) for MASTER_KEY or its file."""
        click.echo(base64.b64encode(os.urandom(32)).decode())

    @app.cli.command("verify-store")
    def verify_store() -> None:
        """Check the tamper-evident chain over every stored event; name the first event
        altered, removed or put in afterwards (exit status 1)."""
        from runtime.event_chain import EventChain

        chain = EventChain(current_application(), current_settings())
        total = current_application().recorder.max_notification_id() or 0
        with click.progressbar(length=total, label="Checking the stored events",
                               show_pos=True) as bar:
            verdict = chain.verify(_progress_to(bar))
        if verdict.first_break is not None:
            click.echo(f"Broken: {verdict.first_break}. {verdict.checked} events before it "
                       "are intact.", err=True)
            raise SystemExit(1)
        click.echo(f"Intact: {verdict.checked} events checked"
                   + (f"; {verdict.unchained} newer ones not linked yet (the workers link "
                      "them after their next catch-up)." if verdict.unchained else "."))

    @store_group.command("encrypt")
    @click.option("--previous-key-file", type=click.Path(exists=True, dir_okay=False),
                  help="The master key the store was encrypted with so far (rotation).")
    def encrypt(previous_key_file: str | None) -> None:
        """Encrypt every stored event with the current master key and seal the person data
        with the cases' own keys; resumable (stop it and run it again). Stop the web and
        the workers first."""
        from domain.settings import SettingsError, _decoded_key
        from runtime.store_encryption import encrypt_store

        settings = current_settings()
        previous = None
        if previous_key_file:
            try:
                previous = _decoded_key(Path(previous_key_file).read_text().strip(),
                                        previous_key_file)
            except SettingsError as e:
                raise click.ClickException(str(e)) from None
        application = current_application()
        total = application.recorder.max_notification_id() or 0
        with click.progressbar(length=total, label="Encrypting the stored events",
                               show_pos=True) as bar:
            try:
                outcome = encrypt_store(application, settings, previous_master=previous,
                                        progress=_progress_to(bar))
            except ValueError as e:
                raise click.ClickException(str(e)) from None
        if outcome.rewritten:  # the events' bytes changed on purpose: a new chain
            from runtime.event_chain import EventChain

            EventChain(application, settings).restart()
        click.echo(f"{outcome.events} events: {outcome.rewritten} written again, the others "
                   f"were encrypted already; {outcome.keys_rewrapped} person keys wrapped "
                   "with the current master key.")
