"""The network's reports on a large history: each report page (default filter: the last
twelve months) served in-process by the Flask app (test client, no network) from the
views the projections benchmark has just rebuilt; against a bare Flask page of the same
size in the same client."""

from __future__ import annotations

from typing import Any

from flask import Flask

from bench.timing import median_ms
from domain.settings import Settings
from runtime.bootstrap import bootstrap
from testbed.web import sign_in
from web import create_app

PAGES = {"overview": "/netzwerk", "network_map": "/netzwerk/karte",
         "care_gaps": "/netzwerk/versorgungsluecken", "capacity": "/netzwerk/kapazitaet"}


def _bare_ms(size: int, repeats: int) -> float:
    bare = Flask("bare_report")
    body = "x" * size
    bare.add_url_rule("/", "page", lambda: body)
    client = bare.test_client()
    return median_ms(lambda: client.get("/"), repeats)


def measure(url: str, repeats: int) -> dict[str, Any]:
    """Median milliseconds per report page (the coordinator's, on the views at ``url``)."""
    settings = Settings(database_url=url, secret_key="bench-secret")
    application = bootstrap(settings).application
    app = create_app(settings, application=application, config={"NUDGE_WORKERS": False})
    client = sign_in(app, "katrin")
    pages: dict[str, float] = {}
    sizes: dict[str, int] = {}
    for name, path in PAGES.items():
        def page(path: str = path) -> None:
            response = client.get(path)
            assert response.status_code == 200, (path, response.status_code)
            sizes[name] = len(response.data)
        pages[name] = median_ms(page, repeats)
    application.close()
    slowest = max(pages, key=lambda name: pages[name])
    return {"engine": pages[slowest], "slowest": slowest, "pages": pages,
            "bytes": sizes[slowest], "bare": _bare_ms(sizes[slowest], repeats)}
