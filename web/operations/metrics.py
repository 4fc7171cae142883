"""Prometheus metrics at ``/metrics``.

Requests, their latency and the outcomes of commands are counted where they happen, in the
web processes; under gunicorn every worker writes them to ``PROMETHEUS_MULTIPROC_DIR``
(set up by ``deploy/gunicorn.conf.py``) and any worker answers for all. Routes are labelled
by their rule (``/faelle/<uuid:case_id>``), never by the path with its ids.

What the Celery workers do (projection lag, escalations, mails sent, outbox backlog) is read
from the database at each scrape instead of being counted in the worker processes: the
store is the truth, survives restarts of any process, and needs no extra port per worker.
These are counts of recorded facts, so a ``views rebuild`` may briefly lower them."""

from __future__ import annotations

import hmac
import os
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from flask import Flask, Response, g, request
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, make_wsgi_app
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector

from domain.settings import Settings
from web.operations.health import view_store
from readmodel.schema import PROJECTIONS

REQUESTS = Counter("fallnetz_http_requests", "HTTP requests answered, by route rule.",
                   ["route", "method", "status"])
LATENCY = Histogram("fallnetz_http_request_duration_seconds",
                    "Time to answer an HTTP request, by route rule.", ["route", "method"],
                    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
COMMANDS = Counter("fallnetz_commands", "Commands sent by forms or the API, by outcome.",
                   ["command", "outcome"])

STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}


def outcome(status: int) -> str:
    if status < 400:
        return "done"
    if status == 409:
        return "conflict"
    if status in (400, 422):
        return "invalid"
    if status in (401, 403, 404):
        return "refused"
    if status == 429:
        return "throttled"
    if status == 503:
        return "unavailable"
    return "error"


def route() -> str:
    return request.url_rule.rule if request.url_rule is not None else "unmatched"


def init_app(app: Flask) -> None:
    def start_clock() -> None:
        g.request_started = time.perf_counter()

    def count(response: Response) -> Response:
        started = g.pop("request_started", None)
        rule, method = route(), request.method
        REQUESTS.labels(rule, method, str(response.status_code)).inc()
        if started is not None:
            LATENCY.labels(rule, method).observe(time.perf_counter() - started)
        if method in STATE_CHANGING and request.url_rule is not None:
            action = (request.view_args or {}).get("action")
            command = f"{request.endpoint}:{action}" if action else str(request.endpoint)
            COMMANDS.labels(command, outcome(response.status_code)).inc()
        return response

    app.before_request_funcs.setdefault(None, []).insert(0, start_clock)
    app.after_request(count)


class StoreCollector:
    """Projection lag per view, mail outbox by status, escalations and mails sent: read
    from the database with a connection of its own at each scrape."""

    def __init__(self, settings: Settings, last_event: Callable[[], int]) -> None:
        self.settings = settings
        self.last_event = last_event

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("fallnetz_store_up",
                               "1 when the event store answered this scrape.")
        try:
            facts = self._read()
        except Exception:  # an outage must not break the scrape of the request metrics
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from facts

    def _read(self) -> list[Metric]:
        store = view_store(self.settings)
        try:
            with store.reading() as cur:
                positions = {r["projection"]: int(r["position"]) for r in
                             cur.all("SELECT projection, position FROM {p}positions")}
                statuses = cur.all("SELECT status, COUNT(*) AS n FROM {p}notifications "
                                   "GROUP BY status")
                levels = cur.all("SELECT stage, level, COUNT(*) AS n FROM {p}notifications "
                                 "WHERE referral_id IS NOT NULL GROUP BY stage, level")
                hooks = cur.all("SELECT status, COUNT(*) AS n FROM {p}webhook_deliveries "
                                "GROUP BY status")
        finally:
            store.close()
        last = self.last_event()
        events = GaugeMetricFamily("fallnetz_events", "Events in the event store.")
        events.add_metric([], last)
        lag = GaugeMetricFamily("fallnetz_view_lag_events",
                                "Events a projected view has still to take in.",
                                labels=["view"])
        for projection in PROJECTIONS:
            lag.add_metric([projection], max(0, last - positions.get(projection, 0)))
        outbox = GaugeMetricFamily("fallnetz_outbox_notifications",
                                   "Notifications in the mail outbox, by status.",
                                   labels=["status"])
        counts = {r["status"]: int(r["n"]) for r in statuses}
        for status in ("pending", "sending", "retry", "delivered", "failed"):
            outbox.add_metric([status], counts.get(status, 0))
        backlog = GaugeMetricFamily("fallnetz_outbox_backlog",
                                    "Notifications not yet delivered.")
        backlog.add_metric([], sum(n for s, n in counts.items()
                                   if s not in ("delivered", "failed")))
        escalations = CounterMetricFamily("fallnetz_escalations",
                                          "Escalations recorded (one notification each).",
                                          labels=["stage", "level"])
        for r in levels:
            escalations.add_metric([r["stage"], str(r["level"])], int(r["n"]))
        mails = CounterMetricFamily("fallnetz_mails_sent",
                                    "Mails (escalations, monthly reports) whose "
                                    "delivery was recorded.")
        mails.add_metric([], counts.get("delivered", 0))
        webhooks = GaugeMetricFamily("fallnetz_webhook_deliveries",
                                     "Referral status changes in the webhook outbox, by "
                                     "status (pending and sending are still owed).",
                                     labels=["status"])
        hook_counts = {r["status"]: int(r["n"]) for r in hooks}
        for status in ("pending", "sending", "delivered", "failed", "dropped"):
            webhooks.add_metric([status], hook_counts.get(status, 0))
        return [events, lag, outbox, backlog, escalations, mails, webhooks]


class _ThisProcess:
    """The default registry as one collector among others (single-process servers)."""

    def collect(self) -> Iterable[Metric]:
        return REGISTRY.collect()


def exposition_app(settings: Settings, last_event: Callable[[], int]) -> Any:
    """The WSGI app for ``/metrics``: all gunicorn workers' counts (multiprocess mode) or
    this process's, and the store's."""
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)
    else:
        registry.register(_ThisProcess())  # type: ignore[arg-type]
    registry.register(StoreCollector(settings, last_event))  # type: ignore[arg-type]
    return OperatorsOnly(make_wsgi_app(registry), settings.metrics_token)


class OperatorsOnly:
    """``/metrics`` answers the monitoring only: a request with ``METRICS_TOKEN`` as its
    bearer token, or one made on this host directly (Prometheus scraping gunicorn's own
    address; a request through the reverse proxy carries X-Forwarded-For and is not one)."""

    LOOPBACK = ("127.0.0.1", "::1")

    def __init__(self, app: Any, token: str) -> None:
        self.app = app
        self.token = token

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        given = environ.get("HTTP_AUTHORIZATION", "")
        by_token = bool(self.token) and hmac.compare_digest(given.encode(),
                                                            f"Bearer {self.token}".encode())
        on_this_host = (environ.get("REMOTE_ADDR") in self.LOOPBACK
                        and "HTTP_X_FORWARDED_FOR" not in environ)
        if by_token or on_this_host:
            return self.app(environ, start_response)
        start_response("403 Forbidden", [("Content-Type", "text/plain; charset=utf-8"),
                                         ("Cache-Control", "no-store")])
        return [b"metrics: a bearer token (METRICS_TOKEN) or a request on this host\n"]
