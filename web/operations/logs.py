"""Correlation ids and one log line per request.

Every request gets an id: the reverse proxy's ``X-Request-ID`` when it looks like one (a
UUID or hex digits, so no name can ride in on it), else a fresh one. The id is answered in
``X-Request-ID``, stamped on the events the request records and on every log line it
writes. The request's line names the route rule, not the path, and no parameters."""

from __future__ import annotations

import logging
import re
import secrets
import time
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, Response, g, request

from runtime.logs import correlation_id

log = logging.getLogger("fallnetz.requests")

# A UUID or 16 to 64 hex digits: nothing a person's name could be written in.
REQUEST_ID = re.compile(r"[0-9a-f]{16,64}|[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}", re.I)


class RequestIds:
    """WSGI middleware around everything, the health and metrics endpoints included."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any],
                 start_response: Callable[..., Any]) -> Iterable[bytes]:
        given = environ.get("HTTP_X_REQUEST_ID", "")
        request_id = given if REQUEST_ID.fullmatch(given) else secrets.token_hex(8)
        environ["HTTP_X_REQUEST_ID"] = request_id  # what the web's sign-in layer reads
        token = correlation_id.set(request_id)

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            headers.append(("X-Request-ID", request_id))
            return start_response(status, headers, exc_info)
        try:
            return self.app(environ, start)
        finally:
            correlation_id.reset(token)


def init_app(app: Flask) -> None:
    def start_clock() -> None:
        g.log_started = time.perf_counter()

    def log_request(response: Response) -> Response:
        started = g.pop("log_started", None)
        rule = request.url_rule.rule if request.url_rule is not None else "unmatched"
        log.info("%s %s %s", request.method, rule, response.status_code, extra={
            "method": request.method, "route": rule, "status": response.status_code,
            "duration_ms": round((time.perf_counter() - started) * 1000, 1)
            if started is not None else None})
        return response

    app.before_request_funcs.setdefault(None, []).insert(0, start_clock)
    app.after_request(log_request)
