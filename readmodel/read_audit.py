"""Who read a person's case data, when, and what (GDPR Art. 5(2), 32: accountability): one
row per read of a case page, a referral page, a history, its print or CSV, and the API's
case, referral, history and FHIR answers. Appended in the request that read, never
changed, kept through every rebuild of the views: reads leave no event, so this is a
record of its own, not a projection. A row names the reader (user, role, organisation),
the case, what was read and the request's correlation id — nothing of the case itself."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from domain.stamp import Stamp
from readmodel.store import ViewStore, ts

TABLES = {
    "read_audit": "case_id TEXT NOT NULL, read_at TEXT NOT NULL, what TEXT NOT NULL, "
                  "reader TEXT NOT NULL, role TEXT NOT NULL, organisation_id TEXT, "
                  "correlation_id TEXT NOT NULL",
}
INDEXES = {"read_audit_by_case": "read_audit (case_id, read_at)"}
# What a read was, by the name a row keeps (the pages' and the API's).
KINDS = ("case_page", "referral_page", "case_history", "case_print", "case_csv",
         "referral_history", "referral_print", "referral_csv", "api_case", "api_referral",
         "api_case_history", "api_referral_history", "fhir", "access_report", "person_page")


def record_read(store: ViewStore, case_id: str, what: str, by: Stamp, at: datetime) -> None:
    assert what in KINDS, what
    with store.transaction() as cur:
        cur.execute("INSERT INTO {p}read_audit VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (case_id, ts(at), what, by.user, str(by.role),
                     str(by.organisation_id) if by.organisation_id else None,
                     by.correlation_id))


def reads_of_case(store: ViewStore, case_id: str, limit: int = 200) -> list[dict[str, Any]]:
    """The case's reads, the latest first."""
    with store.reading() as cur:
        return cur.all("SELECT * FROM {p}read_audit WHERE case_id = ? "
                       "ORDER BY read_at DESC LIMIT ?", (case_id, limit))
