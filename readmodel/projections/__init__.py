"""The projections: each applies events to its own view tables, in the same transaction as
the others, from one position in the notification log (readmodel/runner.py).

A new report is one new module here, with its ``TABLES``, its ``INDEXES`` and its
``PROJECTOR`` class, listed in ``REPORTS``; the schema creates its tables and a rebuild
fills them (raise ``readmodel.schema.SCHEMA_VERSION`` so existing views are projected
again)."""

from __future__ import annotations

from typing import Any

from readmodel.projections import network, register

REPORTS = (network, register)
REPORT_TABLES = {name: columns for module in REPORTS for name, columns in module.TABLES.items()}
REPORT_INDEXES = {name: index for module in REPORTS for name, index in module.INDEXES.items()}


def report_projectors() -> list[Any]:
    return [module.PROJECTOR() for module in REPORTS]
