"""A webhook goes to the address its check resolved: a name that resolves to a public
address for the check and to this host for the POST (DNS rebinding) never reaches this
host's services. The resolver is swapped for the test's; the service on this host is a
real HTTP server."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
import requests

from workers import webhooks
from workers.webhooks import WebhookSettings

PUBLIC = "93.184.216.34"


class Recorder(BaseHTTPRequestHandler):
    received: list[str] = []
    hosts: list[str] = []

    def do_POST(self) -> None:  # noqa: N802 (the standard library's name)
        Recorder.received.append(self.path)
        Recorder.hosts.append(self.headers["Host"])
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def service_on_this_host() -> Iterator[int]:
    Recorder.received, Recorder.hosts = [], []
    server = HTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()


@pytest.fixture
def rebinding(monkeypatch: pytest.MonkeyPatch) -> None:
    """rebind.invalid is public for the first look-up, this host for every later one."""
    real = socket.getaddrinfo
    looked_up: list[str] = []

    def resolve(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host != "rebind.invalid":
            return real(host, port, *args, **kwargs)
        address = PUBLIC if not looked_up else "127.0.0.1"
        looked_up.append(address)
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "",
                 (address, int(port)))]
    monkeypatch.setattr(socket, "getaddrinfo", resolve)


def test_the_post_goes_to_the_address_that_was_checked(service_on_this_host: int,
                                                       rebinding: None) -> None:
    settings = WebhookSettings(allow_http=True, timeout=1.0)
    url = f"http://rebind.invalid:{service_on_this_host}/hook"
    refusal, address = settings.checked(url)
    assert (refusal, address) == (None, PUBLIC)
    hook = {"url": url, "secret": "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}
    row = {"payload": '{"type": "referral.status_changed"}', "message_id": "msg_1"}
    with requests.Session() as session:
        error = webhooks._post(session, hook, row, settings, address)
    assert error is not None  # the public address does not answer in the test
    assert Recorder.received == []  # and this host's service never saw the POST


def test_unpinned_the_same_post_would_have_reached_this_host(service_on_this_host: int,
                                                            rebinding: None) -> None:
    """What the pinning prevents: the resolver's second answer taken at its word."""
    settings = WebhookSettings(allow_http=True, timeout=1.0)
    url = f"http://rebind.invalid:{service_on_this_host}/hook"
    assert settings.checked(url) == (None, PUBLIC)
    hook = {"url": url, "secret": "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}
    row = {"payload": "{}", "message_id": "msg_2"}
    with requests.Session() as session:
        assert webhooks._post(session, hook, row, settings, None) is None
    assert Recorder.received == ["/hook"]


def test_a_pinned_post_to_a_public_name_keeps_the_name_in_the_host_header(
        service_on_this_host: int) -> None:
    """Pinned to this host's address (as the check would pin a public one), the receiver
    sees its own name, not the address."""
    status = webhooks._post_pinned(f"http://empfaenger.example:{service_on_this_host}/h?x=1",
                                   "127.0.0.1", b"{}", {"Content-Type": "application/json"},
                                   timeout=2.0)
    assert status == 204 and Recorder.received == ["/h?x=1"]
    assert Recorder.hosts == [f"empfaenger.example:{service_on_this_host}"]
