"""One way every form issues its command: validate, run, and answer with the next page or
the same page with the problem beside its field. A concurrent change answers 409 with the
current state and "changed meanwhile"; nothing is overwritten."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from flask import Response
from marshmallow import Schema

from domain.base import ConflictError, DomainError, NotFound, PermissionDenied
from web.errors import conflict_message
from web.forms import FormError, domain_error, load_form

Rerender = Callable[[dict[str, list[str]], dict[str, Any], int], Any]


def submit(form: type[Schema], command: Callable[[dict[str, Any]], Any], *,
           rerender: Rerender, success: Callable[[Any], Response],
           extra: dict[str, Any] | None = None,
           aliases: dict[str, str] | None = None) -> Any:
    """``aliases`` names the form field where a domain error about another field belongs
    (e.g. a missing consent belongs beside the chosen receiver)."""
    try:
        data = load_form(form, extra)
    except FormError as e:
        return rerender(e.errors, e.values, 422)
    try:
        result = command(data)
    except ConflictError as e:
        return rerender({"_form": [conflict_message(e)]}, data, 409)
    except (NotFound, PermissionDenied):
        raise
    except DomainError as e:
        known: Sequence[str] = list(form._declared_fields)  # type: ignore[attr-defined]
        if e.field in (aliases or {}):
            e.field = (aliases or {})[e.field]
        error = domain_error(e, data, known)
        return rerender(error.errors, error.values, 422)
    return success(result)
