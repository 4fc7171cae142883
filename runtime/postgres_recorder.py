"""The event store's recorder on PostgreSQL: the library's, with a command's events written
in one round trip.

The library keeps notification ids in commit order by locking the events table for the
inserting transaction (readers following the log, and the aggregate cache, rely on it), but
it holds that lock across two round trips: the insert is sent and answered, then the commit
is sent. Between the two the inserting thread must get Python's interpreter lock back, which
under load (several threads per gunicorn worker, more processes than cores) takes
milliseconds; every other command of the installation waits behind the table lock meanwhile,
and the slowest form POSTs waited on exactly that. Here the lock, the NOTIFY and the insert
run in one function call on the pool's autocommit connection: the lock is taken and released
inside the database, and the command waits for one answer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import (
    InterfaceError,
    OperationalError,
    ProgrammingError,
    StoredEvent,
)
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from eventsourcing.utils import retry
from psycopg.sql import SQL, Identifier, Literal


class OneTripRecorder(PostgresApplicationRecorder):
    def __init__(self, datastore: PostgresDatastore, *,
                 events_table_name: str = "stored_events") -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        function = f"{events_table_name}_insert_in_order"
        self.check_identifier_length(function)
        schema = Identifier(self.datastore.schema)
        self.sql_create_statements.append(SQL(
            "CREATE OR REPLACE FUNCTION {schema}.{function}(events {schema}.{event}[]) "
            "RETURNS SETOF bigint LANGUAGE plpgsql AS $BODY$ "
            "BEGIN "
            "  PERFORM set_config('lock_timeout', {lock_timeout}, true); "
            # The library's lock (see PostgresApplicationRecorder._lock_table): ids are
            # handed out and committed by one transaction at a time.
            "  LOCK TABLE {schema}.{table} IN EXCLUSIVE MODE; "
            "  NOTIFY {channel}; "
            "  RETURN QUERY INSERT INTO {schema}.{table} "
            "    (originator_id, originator_version, topic, state) "
            "    SELECT originator_id, originator_version, topic, state FROM unnest(events) "
            "    RETURNING notification_id; "
            "END; $BODY$").format(
                schema=schema, function=Identifier(function),
                event=Identifier(self.stored_event_type_name),
                lock_timeout=Literal(f"{self.datastore.lock_timeout}s"),
                table=Identifier(self.events_table_name),
                channel=Identifier(self.channel_name)))
        self.insert_in_order_statement = SQL(
            "SELECT notification_id FROM {schema}.{function}(%s) AS notification_id").format(
                schema=schema, function=Identifier(function))

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(self, stored_events: Sequence[StoredEvent],
                      **kwargs: Any) -> Sequence[int] | None:
        if not stored_events or any(value is not None for value in kwargs.values()):
            # nothing to insert, or a process's tracking record: the library's way
            return super().insert_events(stored_events, **kwargs)
        rows = [self.construct_pg_stored_event(originator_id=e.originator_id,
                                               originator_version=e.originator_version,
                                               topic=e.topic, state=e.state)
                for e in stored_events]
        with self.datastore.get_connection() as conn, conn.cursor() as cursor:
            if not conn.autocommit:  # the statement must be its own transaction
                raise ProgrammingError("the event store's connections must autocommit")
            cursor.execute(self.insert_in_order_statement, (rows,), prepare=True)
            return [row["notification_id"] for row in cursor.fetchall()]
