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


def proved_minutes() -> float:
    """How long a password proved at the start page opens the person's networks: as long
    as a session lasts without a request (a sign-out anywhere ends it at once)."""
    return current_app.extensions["fallnetz.settings"].session_idle_minutes


def installation() -> Installation:
    return current_app.extensions["fallnetz.installation"]


def network_name() -> str:
    """The request's network's name; none on the installation's own pages (the brand
    beside it is the installation's)."""
    system = g.get("system")
    return system.application.network.name if system is not None else ""


def proof() -> dict[str, Any]:
    """The start page's proof of the password in this browser (the installation's session),
    while it holds: whose, for which networks, since when."""
    if g.get("system") is None:
        data = session.get("proved")
    else:  # a network's request reads the installation's cookie beside its own
        data = current_app.session_interface.installation_session(  # type: ignore[attr-defined]
            current_app, proved_minutes() * 60).get("proved")
    try:
        at = datetime.fromisoformat(data["at"])
        if datetime.now(timezone.utc) - at > timedelta(minutes=proved_minutes()) or \
                not isinstance(data["networks"], dict) or not isinstance(data["user"], str):
            return {}
    except (KeyError, TypeError, ValueError):
        return {}
    return {**data, "at": at}


def other_networks() -> bool:
    """Whether the person signed in here proved their password for other networks too
    (the header then offers to change to them)."""
    found = proof()
    viewer = g.get("viewer")
    return bool(found) and viewer is not None and found["user"] == viewer.user and \
        len(found["networks"]) > 1


# -- the start page and signing in once -------------------------------------------------------
def start(values: dict[str, Any] | None = None,
          errors: dict[str, list[str]] | None = None) -> Any:
    """The networks of this installation, each with its public pages, and the sign-in; or,
    while the password proved here holds, the choice among the person's networks."""
    found = proof() if not errors else {}
    chosen = [entry for entry in installation().enabled()
              if entry.slug in found.get("networks", {})]
    return render_template("networks/start.html", networks=installation().enabled(),
                           values=values or {}, errors=errors or {}, proved=chosen,
                           user=found.get("user"))


def sign_in(data: dict[str, Any]) -> Any:
    """The start page's sign-in (POST /anmelden without a network): the password is
    proved against each network where the username has an account and a membership."""
    from web.auth import password_fingerprint
    from web.security_log import security_event

    proved: dict[str, str] = {}
    tried = False
    for entry in installation().enabled():
        try:
            system = installation().system(entry.slug)
            if system is None or system.application.directory.user(data["username"]) is None:
                continue  # (the password is checked only where the username has an account)
            tried = True
            accounts = system.application.accounts
            account = accounts.authenticate(data["username"], data["password"])
            if account is not None and accounts.memberships(account.username):
                proved[entry.slug] = password_fingerprint(account.password_hash)
        except Exception:  # noqa: BLE001 — a network that is down is left out
            continue
    if not tried and installation().enabled():
        # as long as a wrong password takes: nobody learns from the time taken whether a
        # username exists anywhere
        first = installation().system(installation().enabled()[0].slug)
        if first is not None:
            first.application.accounts.authenticate(data["username"], data["password"])
    if not proved:
        security_event("sign_in_failed", data["username"][:80], reason="password")
        return start({"username": data["username"]},
                     {"password": [_("Username or password is wrong.")]}), 401
    session["proved"] = {"user": data["username"], "networks": proved,
                         "at": datetime.now(timezone.utc).isoformat()}
    if len(proved) == 1:
        return redirect(_continue_url(next(iter(proved))))
    return redirect(url_for("home"))  # the choice, a page of its own (Back, reload)


def _continue_url(slug: str) -> str:
    root = request.script_root
    return f"{root}/n/{slug}{url_for('networks.continue_sign_in')[len(root):]}"


@bp.get("/anmelden/weiter")
def continue_sign_in() -> Any:
    """Inside the chosen network: the sign-in goes on from the start page's proof."""
    from web.auth import password_fingerprint, second_factor

    from web.auth import end_session

    if g.get("system") is None:
        abort(404)
    found = proof()
    slug = g.system.application.network.slug
    if not found or slug not in found["networks"]:
        return redirect(url_for("auth.login"))
    username, fingerprint = found["user"], found["networks"][slug]
    if g.viewer is not None:
        if g.viewer.user == username:
            return redirect(url_for("home"))
        end_session()  # someone else signs in at this computer: the session before ends
        g.viewer = None
    accounts = g.system.application.accounts
    account = g.system.application.directory.user(username)
    memberships = accounts.memberships(username) if account is not None else []
    if account is None or not memberships or \
            password_fingerprint(account.password_hash) != fingerprint or \
            account.session_ended(found["at"]):  # signed out since: a copied proof is void
        return redirect(url_for("auth.login"))
    language = _installation_language()
    if language:  # the language chosen at the start page goes on
        session["language"] = language
    if account.has_second_factor() or second_factor_required(r for _o, r in memberships):
        return second_factor.begin(account, None)
    return redirect(second_factor.finish(account, None))


def sign_out_everywhere(current: str | None) -> None:
    """Signing out ends the person's sessions in every network the start page's proof
    opened in this browser (``current``'s is ended by its own sign-out), on the server:
    copies of the cookies, the proof's included, open nothing afterwards."""
    import logging
    import secrets

    from domain.stamp import Stamp

    found = proof()
    if not found:
        return
    for slug in found["networks"]:
        if slug == current:
            continue
        try:
            system = installation().system(slug)
            if system is None:
                continue
            accounts = system.application.accounts
            memberships = accounts.memberships(found["user"])
            if memberships:
                organisation, role = memberships[0]
                accounts.sign_out(Stamp(found["user"], organisation.id, role,
                                        secrets.token_hex(8)))
        except Exception:  # noqa: BLE001 — a network that is down: its session times out
            logging.getLogger(__name__).warning("network %s: sign-out not recorded", slug)


def _installation_language() -> str | None:
    data = current_app.session_interface.installation_session(  # type: ignore[attr-defined]
        current_app, 24 * 3600)
    language = data.get("language")
    return language if isinstance(language, str) else None


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
# What an operator's request about networks could not do (runtime/installation.py's codes).
REFUSALS = {
    "no_configuration": _l("There is no network configuration (network.toml) in this "
                           "folder."),
    "configuration_invalid": _l("The network's configuration cannot be read: %(detail)s"),
    "registered_already": _l("A network with the short name %(slug)s is registered "
                             "already."),
    "store_taken": _l("This store belongs to the network %(name)s; every network has a store "
                      "of its own."),
    "store_installation": _l("This is the installation's own database (its list of "
                             "networks); every network has a store of its own."),
    "url_invalid": _l("This is no database address Fallnetz can use: sqlite:///… within the "
                      "instance folder, or postgresql://…"),
    "sqlite_outside": _l("A network's SQLite file lies in the instance folder (%(folder)s)."),
    "not_a_store": _l("This file is no store of Fallnetz; it is left as it is."),
    "store_unreachable": _l("The store cannot be opened (%(detail)s); the network is not "
                            "added."),
}


def refusal(error: NetworkError) -> str:
    text = REFUSALS.get(error.code)
    return str(text) % error.values if text is not None else str(error)


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
    return _index_with({}, {})


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
        return _index_with(dict(request.form), {e.field: [refusal(e)]}), 422
    flash(_("The network %(name)s is added; it is served at %(path)s.", name=entry.name,
            path=f"/n/{entry.slug}/"), "success")
    return redirect(url_for("networks.index"))


def _index_with(values: dict[str, Any], errors: dict[str, list[str]]) -> str:
    return render_template("networks/index.html", entries=installation().entries(),
                           several=installation().several, folders=_available_folders(),
                           operating=g.system.application.network.slug, values=values,
                           errors=errors)


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
    flash((_("%(name)s is switched off: its pages and workers stop; its data stay.",
             name=entry.name) if disabled else
           _("%(name)s is switched on again.", name=entry.name)), "success")
    return redirect(url_for("networks.index"))
