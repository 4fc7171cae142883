"""Each projection is a ``singledispatchmethod`` per event class. On Python 3.11 reading
such a method off an instance builds a new wrapper every time (``functools.update_wrapper``),
a twentieth of a rebuild with three projections per event; the registered function is
looked up by the event's class instead, from the dispatcher's own cache."""

from __future__ import annotations

from collections.abc import Callable
from functools import singledispatchmethod
from typing import Any


def handler(projection: Any, event: Any, name: str = "project") -> Callable[..., None]:
    """The function ``projection.<name>`` would call for ``event`` (to be called with the
    projection as its first argument)."""
    for klass in type(projection).__mro__:
        method = vars(klass).get(name)
        if isinstance(method, singledispatchmethod):
            return method.dispatcher.dispatch(type(event))
    raise TypeError(f"{type(projection).__name__} has no singledispatchmethod {name!r}")
