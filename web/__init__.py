"""The web entry point: ``create_app()`` builds the Flask app around the domain's
application (from the composition root, :func:`runtime.bootstrap.bootstrap`): a blueprint per feature, sign-in,
German and English, CSRF protection on every state-changing request."""

from __future__ import annotations

import os
import secrets
from contextlib import ExitStack
from datetime import timedelta
from typing import Any

import click
from flask import Flask, g, redirect, url_for
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

from domain.application import ReferralNetwork
from runtime.bootstrap import DEFAULT, System
from runtime.installation import bootstrap_installation
from domain.settings import Settings
from domain.stamp import Role
from web.headers import SecurityHeaders

csrf = CSRFProtect()

NAVIGATION = {
    Role.CASEWORKER: (("cases.index", _l("Cases")), ("inbox.index", _l("Inbox")),
                      ("inbox.outbox", _l("Outbox")), ("directory.index", _l("Directory"))),
    Role.SUPERVISOR: (("cases.index", _l("Cases")), ("inbox.index", _l("Inbox")),
                      ("inbox.outbox", _l("Outbox")), ("inbox.notifications", _l("Notices")),
                      ("reports.overview", _l("Network")), ("directory.index", _l("Directory")),
                      ("staff.index", _l("Staff"))),
    Role.COORDINATOR: (("reports.overview", _l("Network")),
                       ("register.index", _l("Needs register")),
                       ("directory.escalations", _l("Escalations")),
                       ("directory.index", _l("Directory")),
                       ("responsibilities.index", _l("Responsibilities")),
                       ("exchange.index", _l("Directory exchange")),
                       ("inbox.notifications", _l("Notices"))),
    Role.ADMIN: (("directory.index", _l("Directory")),
                 ("responsibilities.index", _l("Responsibilities")),
                 ("exchange.index", _l("Directory exchange")), ("staff.index", _l("Staff"))),
    Role.DATA_PROTECTION: (("privacy.index", _l("Data protection")),
                           ("privacy.reads", _l("Who read a case"))),
}


def _navigation() -> tuple[tuple[str, Any], ...]:
    from web.networks import NAVIGATION_ENTRY, operates

    viewer = g.get("viewer")
    if viewer is None:
        return ()
    entries = NAVIGATION.get(viewer.role, ())
    return (*entries, NAVIGATION_ENTRY) if operates(viewer) else entries


def _inbox_counts() -> tuple[int, int]:
    """(open, overdue) referrals in the inbox of the organisation acted for, for the
    navigation: an overdue crisis referral is seen on every page, not only in the inbox."""
    from readmodel.queries import inbox_counts
    from web.application import current_application
    from web.reads import read_store

    if g.get("inbox_counts") is None:
        try:
            g.inbox_counts = inbox_counts(read_store(), str(g.viewer.organisation_id),
                                          current_application().clock())
        except Exception:  # noqa: BLE001 — the views away (an outage page): no counts
            g.inbox_counts = (0, 0)
    return g.inbox_counts


def _instance_secret(settings: Settings) -> str:
    """Without SECRET_KEY, a random key kept in the instance folder (readable by the owner
    only), so every worker process of one installation signs sessions alike."""
    path = settings.instance_path / "secret_key"
    if not path.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        draft = path.with_name(f"secret_key.{os.getpid()}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
        try:  # a hard link appears complete or not at all; the first process wins
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    key = path.read_text().strip()
    if len(key) < 32:
        raise RuntimeError(f"{path} holds no usable secret key; delete it or set SECRET_KEY.")
    return key


def create_app(settings: Settings | None = None, *, application: ReferralNetwork | None = None,
               config: dict[str, Any] | None = None) -> Flask:
    settings = settings or Settings.from_env()
    app = Flask(__name__, instance_relative_config=False)
    app.config["SECRET_KEY"] = settings.secret_key or _instance_secret(settings)
    app.config.update(
        NUDGE_WORKERS=True,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.public_base_url.startswith("https://"),
        PERMANENT_SESSION_LIFETIME=timedelta(hours=settings.session_hours),
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
        MAX_CONTENT_LENGTH=1024 * 1024,
        RATELIMIT_STORAGE_URI=settings.ratelimit_storage_uri,
    )
    app.config.update(config or {})
    app.extensions["fallnetz.settings"] = settings
    if settings.trusted_proxies:  # the client's address, as the proxies in front saw it
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=settings.trusted_proxies, x_proto=settings.trusted_proxies)
    # Celery's workers wait for a nudge after each command (when a broker is configured);
    # the embedded worker looks at the log itself.
    from web.reads import places_taken

    def configure(_slug: str, system: System) -> None:
        # Commands ask how many places a service has in use, in requests and in the CLI.
        system.application.places_taken = (
            lambda organisation_id, service_id: places_taken(organisation_id, service_id,
                                                             system))

    installation = bootstrap_installation(
        settings, application=application, on_system=configure,
        nudge=DEFAULT if app.config["NUDGE_WORKERS"] else None)
    app.extensions["fallnetz.installation"] = installation
    root = installation.root()
    if root is not None:  # one network, served at the root (tests reach it directly)
        app.extensions["fallnetz.system"] = root
        app.extensions["fallnetz.application"] = root.application
    from web import api, cli, errors, i18n, incoming, labels, links
    from web.audit import bp as audit_bp
    from web.auth import bp as auth_bp, home_for, load_viewer, throttle
    from web.cases import bp as cases_bp
    from web.directory import bp as directory_bp
    from web.exchange import bp as exchange_bp
    from web.hsds import bp as hsds_bp
    from web.person import bp as person_bp, init_app as init_person
    from web.voice import bp as voice_bp
    from web.inbox import bp as inbox_bp
    from web.privacy import bp as privacy_bp
    from web.referrals import bp as referrals_bp
    from web.register import bp as register_bp
    from web.reports import bp as reports_bp
    from web.public import bp as public_bp
    from web.responsibilities import bp as responsibilities_bp
    from web.staff import bp as staff_bp
    from web.networks import (bp as networks_bp, network_name, other_networks,
                              start as networks_start)
    from web.networks.routing import NetworkPath, NetworkSessions, choose_system

    i18n.init_app(app)
    incoming.init_app(app)
    labels.init_app(app)
    links.init_app(app)
    csrf.init_app(app)
    for blueprint in (auth_bp, cases_bp, referrals_bp, inbox_bp, audit_bp, directory_bp,
                      exchange_bp, hsds_bp, reports_bp, privacy_bp, staff_bp, person_bp,
                      voice_bp, register_bp, responsibilities_bp, public_bp, networks_bp):
        app.register_blueprint(blueprint)
    init_person(app)
    api.init_app(app)
    # One load of each aggregate per request (see ReferralNetwork.one_load_each); opened
    # before the viewer's membership is loaded, so the command reuses it. And one look at
    # the log's newest rows instead of a query per cached aggregate (log_checked).
    @app.before_request
    def load_each_once() -> None:
        if g.system is not None:
            g.loads = ExitStack()
            g.loads.enter_context(g.system.application.one_load_each())
            g.loads.enter_context(g.system.application.log_checked())

    @app.teardown_appcontext
    def deliver_nudges(_error: BaseException | None) -> None:
        """A CLI command's nudges go out before its process ends. A request's do not wait:
        the server's nudging thread lives on. (The request context is already gone when the
        app context is torn down, so it cannot tell the two apart; click's context can.)"""
        if click.get_current_context(silent=True) is None:
            return
        for each in installation.open_systems():
            flush = getattr(each.nudge, "flush", None)
            if flush is not None:
                flush()

    @app.teardown_request
    def forget_loads(_error: BaseException | None) -> None:
        loads = g.pop("loads", None)
        if loads is not None:
            loads.close()

    app.before_request(load_viewer)
    throttle.init_app(app)

    @app.get("/")
    def home() -> Any:
        if g.system is None:  # the installation's start page: its networks
            return networks_start()
        if g.viewer is None:
            return redirect(url_for("auth.login"))
        return redirect(home_for(g.viewer.role, g.viewer.organisation_id))

    from web.forms import new_key

    app.jinja_env.globals.update(
        new_key=new_key,
        network_name=network_name,
        navigation=_navigation,
        other_networks=other_networks,
        inbox_counts=_inbox_counts)

    @app.after_request
    def not_cached(response: Any) -> Any:
        if g.get("viewer") is not None:  # pages with case data are not kept by caches
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    errors.init_app(app)
    cli.init_app(app)
    from web import operations  # health, metrics, request logs, 503 during a DB outage

    # Inside /health and /metrics, which live at the installation's root only.
    app.wsgi_app = NetworkPath(app.wsgi_app, installation)  # type: ignore[method-assign]
    operations.init_app(app)
    # Before every other hook (the outage guard and sign-in already need the network).
    app.before_request_funcs.setdefault(None, []).insert(0, choose_system)
    app.session_interface = NetworkSessions()
    app.wsgi_app = SecurityHeaders(  # type: ignore[method-assign]
        app.wsgi_app, https=settings.public_base_url.startswith("https://"))
    return app
