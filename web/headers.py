"""The security headers of every answer — the pages', the API's and the operators'
endpoints' (``/health`` and ``/metrics`` are mounted beside the Flask app) — set in one
place, as the outermost layer of the web's WSGI app. A header an answer sets itself (the
API documentation's wider Content-Security-Policy) is kept."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": "default-src 'self'; style-src 'self'; script-src 'self'; "
                               "frame-ancestors 'none'",
}
# Served under https only: a browser then refuses plain http to this host for a year.
HSTS = ("Strict-Transport-Security", "max-age=31536000; includeSubDomains")


class SecurityHeaders:
    def __init__(self, app: Callable[..., Iterable[bytes]], *, https: bool) -> None:
        self.app = app
        self.headers = [*HEADERS.items(), *([HSTS] if https else [])]

    def __call__(self, environ: dict[str, Any],
                 start_response: Callable[..., Any]) -> Iterable[bytes]:
        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            present = {name.lower() for name, _value in headers}
            headers = [*headers, *((name, value) for name, value in self.headers
                                   if name.lower() not in present)]
            return start_response(status, headers, exc_info)
        return self.app(environ, start)
