"""Which of many aggregates exist, in one query instead of one load each.

Ingestion meets a new issue for most of the first events of a tracker: looking
each one up (a snapshot query and an events query, per issue) cost a third of
the consumer's time. One ``= ANY(...)`` query per batch answers the same for
all of them; only the issues that do exist are then loaded one by one.
"""

from __future__ import annotations

from collections.abc import Collection
from uuid import UUID

from eventsourcing.persistence import AggregateRecorder
from eventsourcing.postgres import PostgresAggregateRecorder
from eventsourcing.sqlite import SQLiteAggregateRecorder
from psycopg.sql import SQL, Identifier


def existing_ids(recorder: AggregateRecorder, ids: Collection[UUID]) -> set[UUID]:
    """The ids among ``ids`` that have at least one stored event."""
    if not ids:
        return set()
    if isinstance(recorder, PostgresAggregateRecorder):
        return _postgres(recorder, ids)
    if isinstance(recorder, SQLiteAggregateRecorder):
        return _sqlite(recorder, ids)
    return {i for i in ids if recorder.select_events(i, limit=1)}


def _postgres(recorder: PostgresAggregateRecorder, ids: Collection[UUID]) -> set[UUID]:
    datastore = recorder.datastore
    as_text = datastore.originator_id_type == "text"
    statement = SQL(
        "SELECT DISTINCT originator_id FROM {schema}.{table} WHERE originator_id = ANY(%s)"
    ).format(schema=Identifier(datastore.schema), table=Identifier(recorder.events_table_name))
    values = [str(i) for i in ids] if as_text else list(ids)
    with datastore.get_connection() as connection, connection.cursor() as cursor:
        cursor.execute(statement, [values])
        return {UUID(str(row["originator_id"])) for row in cursor.fetchall()}


def _sqlite(recorder: SQLiteAggregateRecorder, ids: Collection[UUID]) -> set[UUID]:
    found: set[UUID] = set()
    values = [i.hex for i in ids]
    # SQLite caps the number of bound parameters; stay well below the oldest limit.
    for start in range(0, len(values), 500):
        chunk = values[start : start + 500]
        marks = ",".join("?" * len(chunk))
        with recorder.datastore.transaction(commit=False) as cursor:
            cursor.execute(
                f"SELECT DISTINCT originator_id FROM {recorder.events_table_name} "
                f"WHERE originator_id IN ({marks})",
                chunk,
            )
            found.update(UUID(str(row["originator_id"])) for row in cursor.fetchall())
    return found
