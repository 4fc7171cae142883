"""Links of a list's rows: ``url_for`` builds and checks a URL afresh on every call, a
tenth of an inbox page's time with one link per row. Within a request the route's link is
built once with a placeholder id and each row's id is put in its place."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from uuid import UUID

from flask import url_for

_PLACEHOLDER = UUID(int=0)
_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def row_link(endpoint: str, argument: str, **values: Any) -> Callable[[Any], str]:
    """``row_link("referrals.show", "referral_id")(row.referral_id)`` is
    ``url_for("referrals.show", referral_id=row.referral_id)``, for ids (UUIDs)."""
    pattern = url_for(endpoint, **{argument: _PLACEHOLDER}, **values)
    before, placeholder, after = pattern.partition(str(_PLACEHOLDER))
    if not placeholder:
        raise ValueError(f"{endpoint} does not take {argument} in its path")

    def link(value: Any) -> str:
        # An id as text from a view, or a UUID: the same 36 characters, nothing to quote;
        # anything else is refused rather than put into a link.
        text = str(value)
        if not _ID.fullmatch(text):
            raise ValueError(f"not an id: {text!r}")
        return f"{before}{text}{after}"
    return link


def init_app(app: Any) -> None:
    app.jinja_env.globals["row_link"] = row_link
