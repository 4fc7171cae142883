"""Security events on a logger of their own, ``fallnetz.security``: failed and throttled
sign-ins, sign-outs, sessions ended by time, refused requests (403) and API tokens issued
or revoked — each one line naming the event, the member of staff or token (never a
person of a case), the client's address, the route and, in JSON logs, the correlation id.
Operators send the logger where a supervisor can read it (docs/operations.md)."""

from __future__ import annotations

import logging
from typing import Any

from flask import has_request_context, request

log = logging.getLogger("fallnetz.security")


def security_event(event: str, user: str | None = None, **facts: Any) -> None:
    address = request.remote_addr if has_request_context() else None
    route = request.url_rule.rule if has_request_context() and request.url_rule else None
    details = {"event": event, "user": user, "address": address, "route": route, **facts}
    log.warning("%s user=%s address=%s route=%s%s", event, user or "-", address or "-",
                route or "-", "".join(f" {k}={v}" for k, v in facts.items()),
                extra={"security": details})
