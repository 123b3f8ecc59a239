"""The current version of many aggregates, in one query instead of one load each.

Ingestion meets a new issue for most of the first events of a tracker: looking
each one up (a snapshot query and an events query, per issue) cost a third of
the consumer's time. One ``= ANY(...)`` query per batch answers for all of
them; only the issues that exist are then loaded one by one. The same query
tells the consumer which of the objectives it keeps in memory are still
current.
"""

from __future__ import annotations

from collections.abc import Collection
from uuid import UUID

from eventsourcing.persistence import AggregateRecorder
from eventsourcing.postgres import PostgresAggregateRecorder
from eventsourcing.sqlite import SQLiteAggregateRecorder
from psycopg.sql import SQL, Identifier


def current_versions(recorder: AggregateRecorder, ids: Collection[UUID]) -> dict[UUID, int]:
    """The version of the last stored event of each id; ids with none are left out."""
    if not ids:
        return {}
    if isinstance(recorder, PostgresAggregateRecorder):
        return _postgres(recorder, ids)
    if isinstance(recorder, SQLiteAggregateRecorder):
        return _sqlite(recorder, ids)
    found: dict[UUID, int] = {}
    for i in ids:
        last = recorder.select_events(i, desc=True, limit=1)
        if last:
            found[i] = last[0].originator_version
    return found


def existing_ids(recorder: AggregateRecorder, ids: Collection[UUID]) -> set[UUID]:
    """The ids among ``ids`` that have at least one stored event."""
    return set(current_versions(recorder, ids))


def _postgres(recorder: PostgresAggregateRecorder, ids: Collection[UUID]) -> dict[UUID, int]:
    datastore = recorder.datastore
    as_text = datastore.originator_id_type == "text"
    statement = SQL(
        "SELECT originator_id, MAX(originator_version) AS version FROM {schema}.{table}"
        " WHERE originator_id = ANY(%s) GROUP BY originator_id"
    ).format(schema=Identifier(datastore.schema), table=Identifier(recorder.events_table_name))
    values = [str(i) for i in ids] if as_text else list(ids)
    with datastore.get_connection() as connection, connection.cursor() as cursor:
        cursor.execute(statement, [values])
        return {UUID(str(row["originator_id"])): row["version"] for row in cursor.fetchall()}


def _sqlite(recorder: SQLiteAggregateRecorder, ids: Collection[UUID]) -> dict[UUID, int]:
    found: dict[UUID, int] = {}
    values = [i.hex for i in ids]
    # SQLite caps the number of bound parameters; stay well below the oldest limit.
    for start in range(0, len(values), 500):
        chunk = values[start : start + 500]
        marks = ",".join("?" * len(chunk))
        with recorder.datastore.transaction(commit=False) as cursor:
            cursor.execute(
                f"SELECT originator_id, MAX(originator_version) AS version"
                f" FROM {recorder.events_table_name}"
                f" WHERE originator_id IN ({marks}) GROUP BY originator_id",
                chunk,
            )
            found.update(
                (UUID(str(row["originator_id"])), int(row["version"])) for row in cursor.fetchall()
            )
    return found
