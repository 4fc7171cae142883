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
    from each network's database with a connection of its own at each scrape. With several
    networks every series carries the network's slug (its ``network`` label)."""

    def __init__(self, installation: Any) -> None:
        self.installation = installation

    def collect(self) -> Iterator[Metric]:
        several = self.installation.several
        up = GaugeMetricFamily("fallnetz_store_up",
                               "1 when the event store answered this scrape.",
                               labels=["network"] if several else [])
        families: dict[str, Metric] = {}
        for slug, settings, last_event in self._networks(several):
            label = [slug] if several else []
            try:
                self._read(settings, last_event, label, families)
            except Exception:  # an outage must not break the scrape of the request metrics
                up.add_metric(label, 0)
                continue
            up.add_metric(label, 1)
        yield up
        yield from families.values()

    def _networks(self, several: bool) -> list[tuple[str, Settings, Callable[[], int]]]:
        installation = self.installation
        if not several:
            root = installation.root()
            return [("", installation.settings,
                     lambda: root.application.recorder.max_notification_id() or 0)]

        def last_event(slug: str) -> Callable[[], int]:
            return lambda: installation.system(slug).application.recorder \
                .max_notification_id() or 0
        return [(entry.slug, entry.settings(installation.settings), last_event(entry.slug))
                for entry in installation.enabled()]

    @staticmethod
    def _read(settings: Settings, last_event: Callable[[], int], label: list[str],
              families: dict[str, Metric]) -> None:
        store = view_store(settings)
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
        last = last_event()
        names = ["network"] if label else []

        def family(kind: type, name: str, text: str, *labels: str) -> Any:
            if name not in families:
                families[name] = kind(name, text, labels=[*names, *labels])
            return families[name]

        family(GaugeMetricFamily, "fallnetz_events", "Events in the event store.") \
            .add_metric(label, last)
        lag = family(GaugeMetricFamily, "fallnetz_view_lag_events",
                     "Events a projected view has still to take in.", "view")
        for projection in PROJECTIONS:
            lag.add_metric([*label, projection],
                           max(0, last - positions.get(projection, 0)))
        outbox = family(GaugeMetricFamily, "fallnetz_outbox_notifications",
                        "Notifications in the mail outbox, by status.", "status")
        counts = {r["status"]: int(r["n"]) for r in statuses}
        for status in ("pending", "sending", "retry", "delivered", "failed"):
            outbox.add_metric([*label, status], counts.get(status, 0))
        family(GaugeMetricFamily, "fallnetz_outbox_backlog",
               "Notifications not yet delivered.").add_metric(
            label, sum(n for s, n in counts.items() if s not in ("delivered", "failed")))
        escalations = family(CounterMetricFamily, "fallnetz_escalations",
                             "Escalations recorded (one notification each).", "stage", "level")
        for r in levels:
            escalations.add_metric([*label, r["stage"], str(r["level"])], int(r["n"]))
        family(CounterMetricFamily, "fallnetz_mails_sent",
               "Mails (escalations, monthly reports) whose delivery was recorded.") \
            .add_metric(label, counts.get("delivered", 0))
        webhooks = family(GaugeMetricFamily, "fallnetz_webhook_deliveries",
                          "Referral status changes in the webhook outbox, by status (pending "
                          "and sending are still owed).", "status")
        hook_counts = {r["status"]: int(r["n"]) for r in hooks}
        for status in ("pending", "sending", "delivered", "failed", "dropped"):
            webhooks.add_metric([*label, status], hook_counts.get(status, 0))


class _ThisProcess:
    """The default registry as one collector among others (single-process servers)."""

    def collect(self) -> Iterable[Metric]:
        return REGISTRY.collect()


def exposition_app(installation: Any) -> Any:
    """The WSGI app for ``/metrics``: all gunicorn workers' counts (multiprocess mode) or
    this process's, and the store's."""
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)
    else:
        registry.register(_ThisProcess())  # type: ignore[arg-type]
    registry.register(StoreCollector(installation))  # type: ignore[arg-type]
    return OperatorsOnly(make_wsgi_app(registry), installation.settings.metrics_token)


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
