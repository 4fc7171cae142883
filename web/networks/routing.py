"""Which network a request is for, and each network's own session.

URLs carry the network: ``/n/<slug>/…``. :class:`NetworkPath` moves that prefix from the
path into the script name before Flask sees the request, so the routes stay as they are and
every ``url_for`` of the request builds links within the same network. A request's system
(its network's application and views) is chosen once, before anything else reads; without
a network only the installation's own pages answer (start page, sign-in, language, static
files).

Sessions are the network's too: a cookie of its own name, path and signing salt per
network, so the browser never sends a network's session to another network's pages, and a
cookie copied from one network's name to another's does not verify."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, abort, current_app, g, redirect, request, url_for
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer
from itsdangerous.encoding import base64_encode
from itsdangerous.serializer import Serializer

NETWORK_KEY = "fallnetz.network"
PREFIX = re.compile(r"^/n/([a-z0-9][a-z0-9-]{1,39})(/.*)?$")
# What answers without a network when the installation has several.
INSTALLATION_ENDPOINTS = {"static", "home", "auth.login", "auth.logout",
                          "auth.change_language"}


class NetworkPath:
    """WSGI middleware: ``/n/<slug>/rest`` becomes script name ``/n/<slug>``, path ``/rest``,
    for an enabled network of the installation. Any other ``/n/…`` stays as it is and is
    not found at the installation's root (its error page links to the start page, not to
    a network that does not exist)."""

    def __init__(self, app: Callable[..., Iterable[bytes]], installation: Any) -> None:
        self.app = app
        self.installation = installation

    def _served(self, slug: str) -> bool:
        if not self.installation.several:
            return False
        entry = self.installation.entry(slug)
        return entry is not None and not entry.disabled

    def __call__(self, environ: dict[str, Any],
                 start_response: Callable[..., Any]) -> Iterable[bytes]:
        match = PREFIX.match(environ.get("PATH_INFO") or "")
        if match and self._served(match.group(1)):
            slug = match.group(1)
            environ[NETWORK_KEY] = slug
            environ["SCRIPT_NAME"] = f"{environ.get('SCRIPT_NAME', '').rstrip('/')}/n/{slug}"
            environ["PATH_INFO"] = match.group(2) or "/"
        return self.app(environ, start_response)


def network_of_request() -> str | None:
    return request.environ.get(NETWORK_KEY)


def choose_system() -> Any:
    """The first hook of every request: ``g.system`` is the request's network's system
    (none for the installation's own pages); an unknown or disabled network is not found."""
    installation = current_app.extensions["fallnetz.installation"]
    slug = network_of_request()
    g.system = None
    if slug is None:
        if not installation.several:
            g.system = installation.root()
            return None
        if request.endpoint in INSTALLATION_ENDPOINTS or request.endpoint is None:
            return None
        if request.method in ("GET", "HEAD") and not request.path.startswith("/api/"):
            return redirect(url_for("home"))
        abort(404)
    system = installation.system(slug) if installation.several else None
    if system is None:
        abort(404)
    g.system = system
    return None


class UncompressedSerializer(URLSafeTimedSerializer):
    """Signs the session without trying zlib first while it is small. A session is a few
    hundred bytes (who, when, a message to show), which zlib shortens by a few dozen, while
    setting up its compressor (about 256 KB of state) was a visible share of every request
    that changes the session (a form POST's flash, profiled on 2026-12-02). A larger one is
    compressed as itsdangerous does (when that is shorter), so the cookie stays within what
    browsers keep. Cookies signed compressed are read either way: loading tells them by
    their leading dot."""

    COMPRESSED_FROM_BYTES = 1024

    def dump_payload(self, obj: Any) -> bytes:
        json = Serializer.dump_payload(self, obj)
        if len(json) >= self.COMPRESSED_FROM_BYTES:
            return super().dump_payload(obj)
        return base64_encode(json)


class NetworkSessions(SecureCookieSessionInterface):
    """Flask's signed cookie session, one per network (name, path and salt)."""

    # Messages waiting to be shown: the newest few, each once. A client that never follows
    # the redirect after a form (a script, a tab closed before the next page loaded) would
    # otherwise add one with every form until the browser drops the cookie (over 4 KB: the
    # person is signed out) or the server refuses the request (gunicorn: 431 over 8 KB).
    FLASHES_KEPT = 3

    # (cookie, secret) → (its data, when it was signed), or ({}, None) when forged
    _installation_sessions: dict[tuple[str, Any], tuple[Any, Any]] = {}
    _serializers: dict[tuple[Any, str], URLSafeTimedSerializer] = {}

    def _network(self) -> str | None:
        return network_of_request() if request else None

    def get_cookie_name(self, app: Flask) -> str:
        slug = self._network()
        name = super().get_cookie_name(app)
        return f"{name}-{slug}" if slug else name

    def get_cookie_path(self, app: Flask) -> str:
        slug = self._network()
        return f"{request.script_root}/" if slug else super().get_cookie_path(app)

    def save_session(self, app: Flask, session: Any, response: Any) -> None:
        waiting = session.get("_flashes")
        if waiting and len(waiting) > 1:
            newest_first = list(dict.fromkeys(reversed(waiting)))[:self.FLASHES_KEPT]
            if len(newest_first) < len(waiting):
                session["_flashes"] = newest_first[::-1]
        super().save_session(app, session, response)

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        slug = self._network()
        if not app.secret_key:
            return None
        return self._serializer(app.secret_key, f"{self.salt}:{slug}" if slug else self.salt)

    def _serializer(self, secret_key: Any, salt: str) -> URLSafeTimedSerializer:
        """One per key and salt: making one runs its serializer once (to see whether it
        writes text), a visible share of every request when done per request. It keeps
        no state between calls."""
        key = (secret_key, salt)
        serializer = self._serializers.get(key)
        if serializer is None:
            if len(self._serializers) >= 1000:
                self._serializers.clear()
            serializer = self._serializers[key] = UncompressedSerializer(
                secret_key, salt=salt, serializer=self.serializer,
                signer_kwargs={"key_derivation": self.key_derivation,
                               "digest_method": self.digest_method})
        return serializer

    def installation_session(self, app: Flask, max_age: float) -> dict[str, Any]:
        """The installation's own session (the root cookie) read from within a network's
        request: the networks whose password the person proved at the installation's
        sign-in."""
        serializer = self._serializer(app.secret_key or "", self.salt)
        value = request.cookies.get(super().get_cookie_name(app))
        if not value:
            return {}
        # Every page of a network asks (its header offers the other networks): the cookie's
        # signature is checked once per value, its age on every ask.
        key = (value, app.secret_key)
        signed = self._installation_sessions.get(key)
        if signed is None:
            try:
                signed = serializer.loads(value, return_timestamp=True)
            except Exception:  # noqa: BLE001 — forged: nothing proved
                signed = ({}, None)
            if len(self._installation_sessions) >= 1000:
                self._installation_sessions.clear()
            self._installation_sessions[key] = signed
        data, signed_at = signed
        if signed_at is None or not isinstance(data, dict) or \
                (datetime.now(timezone.utc) - signed_at).total_seconds() > max_age:
            return {}
        return dict(data)
