"""Every read of case data is recorded (readmodel/read_audit.py): the views that show a
case, a referral, their histories and exports say so with ``@records_read(kind)``. Only
an answer given (200) counts; a refusal or an error read nothing."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar
from uuid import UUID

from flask import current_app, g, make_response

from domain.referral import Referral
from readmodel.read_audit import record_read
from web.application import current_application
from web.reads import read_store

F = TypeVar("F", bound=Callable[..., Any])


def records_read(what: str) -> Callable[[F], F]:
    def decorate(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            response = make_response(view(*args, **kwargs))
            # READ_AUDIT is off only in the benchmark's comparison run (bench/privacy.py).
            if response.status_code == 200 and g.get("viewer") is not None and \
                    current_app.config.get("READ_AUDIT", True):
                record_read(read_store(), str(_case_of(kwargs)), what, g.viewer,
                            current_application().clock())
            return response
        return wrapped  # type: ignore[return-value]
    return decorate


def _case_of(arguments: dict[str, Any]) -> UUID:
    if "case_id" in arguments:
        return UUID(str(arguments["case_id"]))
    # The view has loaded the referral in this request already (one load each).
    referral = current_application().load(Referral, arguments["referral_id"],
                                          what="referral")
    return referral.case_id
