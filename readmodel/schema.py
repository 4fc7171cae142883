"""The view tables. Times are ISO 8601 strings in UTC (microseconds), so they sort as text."""

from __future__ import annotations

from datetime import datetime, timezone

from readmodel import read_audit
from readmodel.projections import REPORT_INDEXES, REPORT_TABLES
from readmodel.store import Cursor, ViewStore

PROJECTIONS = ("handoff_views",)
# Raise it when a view table's columns or what a projection writes change: the views of an
# older version are then dropped and projected again from the events on first use (kept in
# positions as "schema").
SCHEMA_VERSION = 9
TABLES = {
    "positions": "projection TEXT PRIMARY KEY, position BIGINT NOT NULL",
    "organisations": "organisation_id TEXT PRIMARY KEY, key TEXT NOT NULL, name TEXT NOT NULL, "
                     "sector TEXT NOT NULL, inbox_address TEXT NOT NULL, "
                     "active INTEGER NOT NULL, members TEXT NOT NULL",
    "service_load": "organisation_id TEXT NOT NULL, service_id TEXT NOT NULL, name TEXT NOT "
                    "NULL, needs TEXT NOT NULL, capacity INTEGER, "
                    "active_referrals INTEGER NOT NULL, "
                    "requested_referrals INTEGER NOT NULL, waiting_referrals INTEGER NOT NULL, "
                    "districts TEXT NOT NULL, PRIMARY KEY (organisation_id, service_id)",
    "cases": "case_id TEXT PRIMARY KEY, reference TEXT NOT NULL, "
             "lead_organisation_id TEXT NOT NULL, lead_caseworker TEXT NOT NULL, "
             "district TEXT NOT NULL, legal_sphere TEXT NOT NULL, status TEXT NOT NULL, "
             "opened_at TEXT NOT NULL, version INTEGER NOT NULL, closed_at TEXT, "
             "erasure TEXT, erasure_requested_at TEXT",
    "referrals": "referral_id TEXT PRIMARY KEY, case_id TEXT NOT NULL, case_reference TEXT, "
                 "need TEXT NOT NULL, urgency TEXT NOT NULL, kind TEXT NOT NULL, "
                 "from_organisation_id TEXT NOT NULL, from_user TEXT NOT NULL, "
                 "to_organisation_id TEXT NOT NULL, to_service_id TEXT, "
                 "load_service_id TEXT, status TEXT NOT NULL, "
                 "parent_referral_id TEXT, sent_at TEXT, updated_at TEXT NOT NULL, "
                 "version INTEGER NOT NULL, next_stage TEXT, next_due_at TEXT, "
                 "escalation_level INTEGER NOT NULL, holds TEXT NOT NULL, "
                 "escalations TEXT NOT NULL, first_contact_at TEXT, waitlisted_at TEXT",
    "timeline": "case_id TEXT NOT NULL, position BIGINT NOT NULL, occurred_at TEXT NOT NULL, "
                "subject_id TEXT NOT NULL, event TEXT NOT NULL, actor_user TEXT NOT NULL, "
                "actor_organisation_id TEXT, actor_role TEXT NOT NULL, "
                "PRIMARY KEY (case_id, position)",
    "deadlines": "referral_id TEXT PRIMARY KEY, stage TEXT NOT NULL, due_at TEXT NOT NULL, "
                 "next_level INTEGER NOT NULL, next_escalation_at TEXT, "
                 "escalation_times TEXT NOT NULL",
    # referral_id is empty for the monthly report (stage "monthly_report").
    "notifications": "notification_id TEXT PRIMARY KEY, referral_id TEXT, "
                     "stage TEXT NOT NULL, level INTEGER NOT NULL, status TEXT NOT NULL, "
                     "attempts INTEGER NOT NULL, retry_at TEXT, subject TEXT NOT NULL, "
                     "recipients TEXT NOT NULL, created_at TEXT NOT NULL, "
                     "updated_at TEXT NOT NULL",
    "inapp": "recipient TEXT NOT NULL, notification_id TEXT NOT NULL, "
             "referral_id TEXT NOT NULL, kind TEXT NOT NULL, created_at TEXT NOT NULL, "
             "PRIMARY KEY (recipient, notification_id)",
    "webhooks": "organisation_id TEXT NOT NULL, webhook_id TEXT NOT NULL, url TEXT NOT NULL, "
                "PRIMARY KEY (organisation_id, webhook_id)",
    # Revocations of consent the person asked for on their own page, until recorded.
    "person_requests": "case_id TEXT NOT NULL, consent_id TEXT NOT NULL, "
                       "requested_at TEXT NOT NULL, due_at TEXT NOT NULL, "
                       "PRIMARY KEY (case_id, consent_id)",
    # The person's feedback per referral (the latest), counted per service in the reports.
    "feedback": "referral_id TEXT PRIMARY KEY, organisation_id TEXT NOT NULL, "
                "service_id TEXT, district TEXT NOT NULL, helped TEXT NOT NULL, "
                "understood TEXT NOT NULL, given_at TEXT NOT NULL, by_person INTEGER NOT NULL, "
                "need TEXT NOT NULL, from_organisation_id TEXT NOT NULL",
    **REPORT_TABLES,
}
# The webhook outbox records what was delivered, which the events do not say: a rebuild of
# the views keeps it, and projecting an event again finds its deliveries there already.
OUTBOX_TABLES = {
    "webhook_deliveries": "delivery_id TEXT PRIMARY KEY, position BIGINT NOT NULL, "
                          "organisation_id TEXT NOT NULL, webhook_id TEXT NOT NULL, "
                          "message_id TEXT NOT NULL, payload TEXT NOT NULL, "
                          "status TEXT NOT NULL, attempts INTEGER NOT NULL, "
                          "next_attempt_at TEXT NOT NULL, lease_until TEXT, last_error TEXT, "
                          "created_at TEXT NOT NULL, delivered_at TEXT",
}
# When each worker job last succeeded and last failed (operational facts, not projections of
# events): a rebuild keeps them, and they tell how fresh the views are (DESIGN §10: staleness
# is said, never hidden).
RUN_TABLES = {
    "runs": "job TEXT PRIMARY KEY, succeeded_at TEXT, failed_at TEXT, failure TEXT",
    # How far the last `views rebuild` is (readmodel/rebuild.py), for /health and the
    # operators' page.
    "rebuild_progress": "projection TEXT PRIMARY KEY, phase TEXT NOT NULL, "
                        "done BIGINT NOT NULL, total BIGINT NOT NULL, "
                        "phase_started_at TEXT NOT NULL, phase_started_with BIGINT NOT NULL, "
                        "updated_at TEXT NOT NULL, finished_at TEXT",
    # The reads of case data (readmodel/read_audit.py): a record, not a view.
    **read_audit.TABLES,
}
INDEXES = {
    "inbox": "referrals (to_organisation_id, next_due_at)",
    "outbox": "referrals (from_organisation_id, updated_at)",
    "referrals_by_case": "referrals (case_id)",
    "deadlines_due": "deadlines (next_escalation_at)",
    "notifications_sendable": "notifications (status, retry_at)",
    "webhook_deliveries_due": "webhook_deliveries (status, next_attempt_at)",
    "webhook_deliveries_by_address": "webhook_deliveries (organisation_id, webhook_id, "
                                     "position)",
    **REPORT_INDEXES,
    **read_audit.INDEXES,
}


def create_tables(store: ViewStore) -> None:
    with store.transaction() as cur:
        _serialise_ddl(store, cur)
        if _older_schema(cur):
            for name in TABLES:
                cur.execute(f"DROP TABLE IF EXISTS {{p}}{name}")
        for name, columns in {**TABLES, **OUTBOX_TABLES, **RUN_TABLES}.items():
            cur.execute(f"CREATE TABLE IF NOT EXISTS {{p}}{name} ({columns})")
        for name, definition in INDEXES.items():
            cur.execute(f"CREATE INDEX IF NOT EXISTS {{p}}ix_{name} ON {{p}}{definition}")
        for projection in PROJECTIONS:
            cur.execute("INSERT INTO {p}positions VALUES (?, 0) "
                        "ON CONFLICT (projection) DO NOTHING", (projection,))
        cur.execute("INSERT INTO {p}positions VALUES ('schema', ?) ON CONFLICT (projection) "
                    "DO UPDATE SET position = excluded.position", (SCHEMA_VERSION,))
        # The views count as fresh from the moment they exist: a worker that never ran
        # shows as stale three catch-up intervals later, like one that stopped.
        cur.execute("INSERT INTO {p}runs (job, succeeded_at) VALUES ('views', ?) "
                    "ON CONFLICT (job) DO NOTHING",
                    (datetime.now(timezone.utc).isoformat(timespec="microseconds"),))


def _older_schema(cur: Cursor) -> bool:
    """Views written by a version whose tables had other columns (none: a new database)."""
    try:
        rows = cur.all("SELECT projection, position FROM {p}positions")
    except Exception:  # no views yet; PostgreSQL needs the failed statement undone
        if cur.store.dialect == "postgres":
            cur.execute("ROLLBACK TO SAVEPOINT before_views")
        return False
    found = {row["projection"]: int(row["position"]) for row in rows}
    return bool(found) and found.get("schema", 1) < SCHEMA_VERSION


def drop_tables(store: ViewStore) -> None:
    with store.transaction() as cur:
        _serialise_ddl(store, cur)
        for name in TABLES:
            cur.execute(f"DROP TABLE IF EXISTS {{p}}{name}")


def _serialise_ddl(store: ViewStore, cur: Cursor) -> None:
    # Concurrent CREATE ... IF NOT EXISTS can still collide in PostgreSQL's catalogue.
    if store.dialect == "postgres":
        cur.execute("SELECT pg_advisory_xact_lock(4242001)")
        cur.execute("SAVEPOINT before_views")


VIEW_TABLES = [name for name in TABLES if name != "positions"]
# What a rebuild projects into its shadow tables: the views and, since the projectors write
# it, an outbox of its own (thrown away: the live one has every delivery already).
SHADOW_TABLES = {**TABLES, **OUTBOX_TABLES}
# The indexes of the views, which move with them when a rebuild takes the live ones' place.
VIEW_INDEXES = {name: definition for name, definition in INDEXES.items()
                if definition.split(" ", 1)[0] in VIEW_TABLES}


def create_shadow_tables(cur: Cursor, indexes: bool = True) -> None:
    """Empty shadow tables (the cursor's prefix names them), at position 0 of this schema,
    in the caller's transaction. Without indexes they fill faster; :func:`create_view_indexes`
    adds them after. No lock of the live views' DDL is taken: their names differ, and the
    caller's transaction may be a long copy."""
    for name, columns in SHADOW_TABLES.items():
        cur.execute(f"DROP TABLE IF EXISTS {{p}}{name}")
        cur.execute(f"CREATE TABLE {{p}}{name} ({columns})")
    for projection in PROJECTIONS:
        cur.execute("INSERT INTO {p}positions VALUES (?, 0)", (projection,))
    cur.execute("INSERT INTO {p}positions VALUES ('schema', ?)", (SCHEMA_VERSION,))
    if indexes:
        create_view_indexes(cur)


def create_view_indexes(cur: Cursor) -> None:
    for name, definition in VIEW_INDEXES.items():
        cur.execute(f"CREATE INDEX IF NOT EXISTS {{p}}ix_{name} ON {{p}}{definition}")


def drop_shadow_tables(store: ViewStore) -> None:
    with store.transaction() as cur:
        _serialise_ddl(store, cur)
        for name in SHADOW_TABLES:
            cur.execute(f"DROP TABLE IF EXISTS {{p}}{name}")


def shadow_schema(store: ViewStore) -> int | None:
    """The schema version of the shadow tables the store's prefix names; None: none there
    (or not complete)."""
    with store.reading() as cur:
        try:
            row = cur.one("SELECT position FROM {p}positions WHERE projection = 'schema'")
        except Exception:  # no such table
            return None
    return int(row["position"]) if row else None
