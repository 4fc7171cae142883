"""The installation's own pages: its start page (the networks, and signing in once for all
of them), carrying that sign-in into the chosen network, and the operators' pages where
networks are added, checked, disabled and enabled again.

Signing in at the start page proves the password against every network where the username
has an account; the proof (which networks, a fingerprint of each password hash) is kept in
the installation's own session for a few minutes. The person then chooses a network, and
that network's sign-in goes on from the proof — with its own second factor and choice of
organisation, as when signing in there directly. A network's session never leaves its path
(web/networks/routing.py)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from flask import (Blueprint, abort, current_app, flash, g, redirect, render_template,
                   request, session, url_for)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from domain.second_factor import required as second_factor_required
from domain.stamp import Role
from runtime.installation import Installation, NetworkError
from web.forms import FormError, FormSchema, load_form, text

bp = Blueprint("networks", __name__)
PROVED_MINUTES = 10  # how long a password proved at the start page opens the networks


def installation() -> Installation:
    return current_app.extensions["fallnetz.installation"]


def network_name() -> str:
    """The request's network's name; the installation's on its own pages."""
    system = g.get("system")
    if system is not None:
        return system.application.network.name
    return current_app.extensions["fallnetz.settings"].installation_name


# -- the start page and signing in once -------------------------------------------------------
def start(values: dict[str, Any] | None = None, errors: dict[str, list[str]] | None = None,
          proved: list[Any] | None = None) -> Any:
    """The networks of this installation, each with its public pages, and the sign-in."""
    return render_template("networks/start.html", networks=installation().enabled(),
                           values=values or {}, errors=errors or {}, proved=proved)


def sign_in(data: dict[str, Any]) -> Any:
    """The start page's sign-in (POST /anmelden without a network): the password is
    proved against each network where the username has an account and a membership."""
    from web.auth import password_fingerprint
    from web.security_log import security_event

    proved: dict[str, str] = {}
    for entry in installation().enabled():
        try:
            system = installation().system(entry.slug)
            if system is None:
                continue
            accounts = system.application.accounts
            account = accounts.authenticate(data["username"], data["password"])
            if account is not None and accounts.memberships(account.username):
                proved[entry.slug] = password_fingerprint(account.password_hash)
        except Exception:  # noqa: BLE001 — a network that is down is left out
            continue
    if not proved:
        security_event("sign_in_failed", data["username"][:80], reason="password")
        return start({"username": data["username"]},
                     {"password": [_("Username or password is wrong.")]}), 401
    session["proved"] = {"user": data["username"], "networks": proved,
                         "at": datetime.now(timezone.utc).isoformat()}
    chosen = [entry for entry in installation().enabled() if entry.slug in proved]
    if len(chosen) == 1:
        return redirect(_continue_url(chosen[0].slug))
    return start(proved=chosen)


def _continue_url(slug: str) -> str:
    root = request.script_root
    return f"{root}/n/{slug}{url_for('networks.continue_sign_in')[len(root):]}"


@bp.get("/anmelden/weiter")
def continue_sign_in() -> Any:
    """Inside the chosen network: the sign-in goes on from the start page's proof."""
    from web.auth import password_fingerprint, second_factor

    if g.get("system") is None:
        abort(404)
    if g.viewer is not None:
        return redirect(url_for("home"))
    proof = current_app.session_interface.installation_session(  # type: ignore[attr-defined]
        current_app, PROVED_MINUTES * 60).get("proved") or {}
    slug = g.system.application.network.slug
    try:
        at = datetime.fromisoformat(proof["at"])
        fingerprint = proof["networks"][slug]
        username = proof["user"]
    except (KeyError, TypeError, ValueError):
        return redirect(url_for("auth.login"))
    if datetime.now(timezone.utc) - at > timedelta(minutes=PROVED_MINUTES):
        flash(_("Please sign in again."), "info")
        return redirect(url_for("auth.login"))
    accounts = g.system.application.accounts
    account = g.system.application.directory.user(username)
    memberships = accounts.memberships(username) if account is not None else []
    if account is None or not memberships or \
            password_fingerprint(account.password_hash) != fingerprint:
        return redirect(url_for("auth.login"))
    if account.has_second_factor() or second_factor_required(r for _o, r in memberships):
        return second_factor.begin(account, None)
    return redirect(second_factor.finish(account, None))


# -- the operators' pages ---------------------------------------------------------------------
def operates(viewer: Any) -> bool:
    """The installation's operators: the admins of its operating network
    (``OPERATOR_NETWORK``; the first network added, or the only one)."""
    if viewer is None or viewer.role != Role.ADMIN or g.get("system") is None:
        return False
    return g.system.application.network.slug == operating_network()


def operating_network() -> str:
    chosen = current_app.extensions["fallnetz.settings"].operator_network
    if chosen:
        return chosen
    entries = installation().entries()
    if not entries:
        return installation().root_entry().slug
    return min(entries, key=lambda e: (e.added_at, e.slug)).slug


def _operators_only() -> None:
    if g.viewer is None:
        abort(redirect(url_for("auth.login", next=request.script_root + request.path)))
    if not operates(g.viewer):
        abort(403)


NAVIGATION_ENTRY = ("networks.index", _l("Networks"))


class AddNetworkForm(FormSchema):
    config_dir = text(max_length=300)
    database_url = text(required=False, max_length=500)


class SlugForm(FormSchema):
    slug = text(max_length=40)


def _available_folders() -> list[str]:
    """Network folders of the installation (networks/*) not registered yet."""
    from domain.settings import PROJECT_ROOT

    taken = {entry.config_dir for entry in installation().entries()}
    return sorted(str(path.parent.relative_to(PROJECT_ROOT))
                  for path in (PROJECT_ROOT / "networks").glob("*/network.toml")
                  if str(path.parent.relative_to(PROJECT_ROOT)) not in taken)


@bp.get("/betrieb/netzwerke")
def index() -> Any:
    _operators_only()
    return render_template("networks/index.html", entries=installation().entries(),
                           several=installation().several, folders=_available_folders(),
                           values={}, errors={})


@bp.post("/betrieb/netzwerke")
def add() -> Any:
    _operators_only()
    try:
        data = load_form(AddNetworkForm)
        entry = installation().add(data["config_dir"],
                                   database_url=data.get("database_url") or "")
    except FormError as e:
        return _index_with(e.values, e.errors), 422
    except NetworkError as e:
        return _index_with(dict(request.form), {"config_dir": [str(e)]}), 422
    flash(_("The network %(name)s is added; it is served at %(path)s.", name=entry.name,
            path=f"/n/{entry.slug}/"), "success")
    return redirect(url_for("networks.index"))


def _index_with(values: dict[str, Any], errors: dict[str, list[str]]) -> str:
    return render_template("networks/index.html", entries=installation().entries(),
                           several=installation().several, folders=_available_folders(),
                           values=values, errors=errors)


@bp.get("/betrieb/netzwerke/<slug>")
def check(slug: str) -> Any:
    _operators_only()
    if installation().entry(slug) is None:
        abort(404)
    return render_template("networks/check.html", report=installation().check(slug))


@bp.post("/betrieb/netzwerke/<slug>/abschalten")
def disable(slug: str) -> Any:
    return _set_disabled(slug, True)


@bp.post("/betrieb/netzwerke/<slug>/einschalten")
def enable(slug: str) -> Any:
    return _set_disabled(slug, False)


def _set_disabled(slug: str, disabled: bool) -> Any:
    _operators_only()
    entry = installation().entry(slug)
    if entry is None:
        abort(404)
    if not installation().several:
        flash(_("This installation serves one network, at the root of the site; add "
                "another before disabling one."), "error")
        return redirect(url_for("networks.index"))
    if disabled and slug == g.system.application.network.slug:
        flash(_("The operating network cannot be disabled from its own pages."), "error")
        return redirect(url_for("networks.index"))
    installation().set_disabled(slug, disabled)
    flash((_("The network %(name)s is disabled: its pages and workers stop; its data stays.",
             name=entry.name) if disabled else
           _("The network %(name)s is enabled again.", name=entry.name)), "success")
    return redirect(url_for("networks.index"))
