"""The PostgreSQL event store: the library's, with a faster insert of new events.

``eventsourcing`` inserts a save's events as one array of a composite type,
which psycopg can only send as text: every event's state is hex-encoded and
then escaped twice, in Python. That was a fifth of the Kafka consumer's CPU.
Here the same INSERT takes four arrays of plain columns instead, sent in
psycopg's binary format (its C code): the same rows, in the same order, with
the same table lock, NOTIFY and returned notification ids, at a quarter of
the CPU (about 6 instead of 30 microseconds per event).

A lost connection (SPEC §9) is retried only while nothing can have been
committed: the library retries a failed insert whatever the failure, and a
connection that broke while the COMMIT was on its way would then make the
command's optimistic-concurrency retry record it a second time. Here a failure
before the COMMIT is retried (the server rolled the transaction back) on a
revived pool, and one during it raises ``WriteOutcomeUnknown``, which the API
answers with 503.

A command's reads of other aggregates (commands/reads.py) are asserted in the
same INSERT: it inserts nothing when one of them has an event newer than the
version read, of a kind the command cares about, and the transaction is rolled
back with ``ReadsChanged``. The
table lock the library takes for every insert (gapless notification ids)
already orders all writers, and the assertion runs after it, in a statement
whose snapshot sees every write committed before: no extra lock, no extra
round trip, one index probe per aggregate read (a check-in: its cycle).

Everything else (reading, snapshots, tracking, the table definitions) is the
library's own, but for ``select_positions``: the notification ids of a stretch
of an aggregate's versions, for the public event shape (SPEC §11).
``entrypoints.settings`` selects this factory for PostgreSQL.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresFactory
from eventsourcing.utils import register_topic
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composed, Identifier

from commands.reads import UNCHANGED, Read, ReadsChanged, assertion_rows
from projections.store import revive_pool

INSERT_ATTEMPTS = 10
INSERT_RETRY_WAIT = 0.2


class WriteOutcomeUnknown(OperationalError):
    """The connection broke while the events' transaction was committing: they may or
    may not be stored. Never retried by the server (a retry could record a command
    twice); the caller may send it again (If-Match keeps that safe)."""


class ColumnArraysApplicationRecorder(PostgresApplicationRecorder):
    """Inserts new events as ``unnest`` of one binary array per column."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        id_type = "text" if self.datastore.originator_id_type == "text" else "uuid"
        # unnest() of several arrays yields their elements side by side, in order,
        # so notification ids follow the order of the events, as the library's do.
        names = {
            "schema": Identifier(self.datastore.schema),
            "table": Identifier(self.events_table_name),
            "id_type": SQL(id_type),
        }
        insert = (
            "INSERT INTO {schema}.{table} (originator_id, originator_version, topic, state)"
            " SELECT * FROM unnest(%b::{id_type}[], %b::bigint[], %b::text[], %b::bytea[])"
        )
        self.insert_column_arrays_statement: Composed = SQL(
            insert + " RETURNING notification_id"
        ).format(**names)
        # The same, inserting nothing if an aggregate the command read has a newer
        # event of a topic it cares about ('' any topic). Uncorrelated: evaluated
        # once; each probe is a range of the primary key's index.
        self.insert_if_unchanged_statement: Composed = SQL(
            insert + " WHERE NOT EXISTS (SELECT 1"
            " FROM unnest(%b::{id_type}[], %b::bigint[], %b::text[])"
            " AS r(originator_id, version, topic)"
            " JOIN {schema}.{table} AS e ON e.originator_id = r.originator_id"
            " AND e.originator_version > r.version"
            " AND (r.topic = '' OR e.topic = r.topic))"
            " RETURNING notification_id"
        ).format(**names)
        self.select_positions_statement: Composed = SQL(
            "SELECT originator_version, notification_id FROM {schema}.{table}"
            " WHERE originator_id = %s AND originator_version > %s AND originator_version <= %s"
        ).format(**names)

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """The library's insert, retried on a lost connection only before the COMMIT."""
        if self.datastore.enable_db_functions and not kwargs.get(UNCHANGED):
            found: Sequence[int] | None = super().insert_events(stored_events, **kwargs)
            return found
        for attempt in range(1, INSERT_ATTEMPTS + 1):
            committing = False
            try:
                notification_ids: Sequence[int] | None = None
                failure: Exception | None = None
                with self.datastore.get_connection() as conn:
                    with conn.pipeline() as pipeline, conn.transaction():
                        with conn.cursor() as curs:
                            self._insert_events(curs, stored_events, **kwargs)
                        if stored_events:
                            with conn.cursor() as curs:
                                try:
                                    self._insert_stored_events(curs, stored_events, **kwargs)
                                    # Sync now: a version clash raises IntegrityError here.
                                    pipeline.sync()
                                    notification_ids = self._fetch_ids_after_insert_events(
                                        curs, stored_events, **kwargs
                                    )
                                except Exception as error:  # re-raised after the pipeline
                                    failure = error
                        if failure is None and len(notification_ids or ()) < len(stored_events):
                            # Inserted nothing: a read aggregate moved on. Roll back.
                            raise ReadsChanged("an aggregate the command read has changed")
                        # Only the COMMIT is left: from here a lost connection
                        # leaves the outcome unknown.
                        committing = failure is None
                    if failure is not None:
                        raise failure
                return notification_ids
            except (InterfaceError, OperationalError) as lost:
                if committing:
                    raise WriteOutcomeUnknown(str(lost)) from lost
                if attempt == INSERT_ATTEMPTS:
                    raise
                revive_pool(self.datastore)
                time.sleep(INSERT_RETRY_WAIT)
        raise AssertionError("unreachable")

    def _insert_stored_events(
        self,
        curs: Cursor[DictRow],
        stored_events: Sequence[StoredEvent],
        **kwargs: Any,
    ) -> None:
        self._lock_table(curs)
        self._notify_channel(curs)
        columns = (
            self._ids([e.originator_id for e in stored_events]),
            [e.originator_version for e in stored_events],
            [e.topic for e in stored_events],
            [e.state for e in stored_events],
        )
        unchanged: Mapping[Any, Read] | None = kwargs.get(UNCHANGED)
        if not unchanged:
            curs.execute(self.insert_column_arrays_statement, columns)
            return
        ids, versions, topics = zip(*assertion_rows(unchanged), strict=True)
        curs.execute(
            self.insert_if_unchanged_statement,
            (*columns, self._ids(list(ids)), list(versions), list(topics)),
        )

    def select_positions(self, originator_id: UUID, *, gt: int, lte: int) -> dict[int, int]:
        """``{version: notification id}`` for gt < version <= lte: one range of the
        primary key (``projections.event_positions.PositionReader``)."""
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(
                self.select_positions_statement,
                (self._ids([originator_id])[0], gt, lte),
                prepare=True,
            )
            return {row["originator_version"]: row["notification_id"] for row in curs.fetchall()}

    def _ids(self, ids: list[Any]) -> list[Any]:
        return [str(i) for i in ids] if self.datastore.originator_id_type == "text" else ids


class OkrPostgresFactory(PostgresFactory):
    application_recorder_class = ColumnArraysApplicationRecorder


# The factory's topic before entry points moved on top (runtime/ became
# entrypoints/): an environment that still names it gets the same factory.
register_topic("runtime.postgres_events:OkrPostgresFactory", OkrPostgresFactory)
