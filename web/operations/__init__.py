"""What operators need of the web: health endpoints, Prometheus metrics, correlation ids and
request logs, and 503 answers while the database is unreachable (see docs/operations.md).

``/health`` and ``/metrics`` are mounted beside the Flask app, not inside it: they serve
machines, carry no case data, and must answer without a session or the database's pool."""

from __future__ import annotations

from flask import Flask
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from web.operations import logs, metrics, outage
from web.operations.health import HealthApp


def init_app(app: Flask) -> None:
    installation = app.extensions["fallnetz.installation"]
    # Each goes to the head of the request hooks, so they run in reverse: the clocks start,
    # then the outage guard, then the app's own hooks (sign-in already reads the database).
    outage.init_app(app)
    metrics.init_app(app)
    logs.init_app(app)
    app.wsgi_app = logs.RequestIds(DispatcherMiddleware(app.wsgi_app, {  # type: ignore[method-assign]
        "/health": HealthApp(installation),
        "/metrics": metrics.exposition_app(installation),
    }))
