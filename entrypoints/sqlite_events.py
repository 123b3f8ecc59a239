"""The embedded SQLite event store: the library's, asserting what a command read.

A command's reads of other aggregates (commands/reads.py) are checked inside
the transaction that inserts its events: none may have a newer event of a kind
the command cares about, else ``ReadsChanged`` rolls the insert back and the
command runs again. The transaction starts with ``BEGIN IMMEDIATE`` (the
library's is a deferred ``BEGIN``): the write lock is taken first, so the
versions read back are final until the COMMIT, even with another process
writing to the same file. In one process the library's pool already hands out
one writing connection at a time.

``entrypoints.settings`` selects this factory for the embedded mode.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import OperationalError, StoredEvent
from eventsourcing.sqlite import (
    SQLiteApplicationRecorder,
    SQLiteCursor,
    SQLiteFactory,
    SQLiteTransaction,
)

from commands.reads import UNCHANGED, Read, ReadsChanged, breaks

OR_TERMS = 200
"""Aggregates read back per query (a command reads at most the alignment depth
limit's 100 objectives above, and a few more)."""


class ImmediateTransaction(SQLiteTransaction):
    """The library's transaction, begun with the write lock already held."""

    def __enter__(self) -> SQLiteCursor:
        cursor = self.connection.cursor()
        try:
            cursor.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as error:
            # "database is locked" past the lock timeout: the library's error, as the
            # deferred BEGIN's INSERT raised it (the API and the consumer retry it).
            raise OperationalError(error) from error
        return cursor


class ReadAssertingApplicationRecorder(SQLiteApplicationRecorder):
    """Inserts a command's events only if what it read is unchanged; reads the positions
    of an aggregate's events (``projections.event_positions.PositionReader``)."""

    def select_positions(self, originator_id: UUID, *, gt: int, lte: int) -> dict[int, int]:
        """``{version: notification id}`` for gt < version <= lte: one range of the
        primary key; the notification id is the table's rowid, as the library's."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT originator_version, rowid FROM {self.events_table_name}"
                " WHERE originator_id = ? AND originator_version > ? AND originator_version <= ?",
                (_key(originator_id), gt, lte),
            )
            return {row[0]: row[1] for row in c.fetchall()}

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        with (
            self.datastore.get_connection(commit=True) as conn,
            ImmediateTransaction(conn, commit=True) as cursor,
        ):
            return self._insert_events(cursor, stored_events, **kwargs)

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        unchanged: Mapping[UUID | str, Read] | None = kwargs.get(UNCHANGED)
        if unchanged:
            self._assert_unchanged(c, unchanged)
        return super()._insert_events(c, stored_events, **kwargs)

    def _assert_unchanged(self, c: SQLiteCursor, unchanged: Mapping[UUID | str, Read]) -> None:
        """One query, a range of the primary key per aggregate read: the events
        newer than the version read (normally none), then their topics."""
        reads = {_key(k): read for k, read in unchanged.items()}
        keys = list(reads)
        # In chunks: SQLite nests an OR chain one level per term (at most 1,000).
        for start in range(0, len(keys), OR_TERMS):
            chunk = keys[start : start + OR_TERMS]
            newer = " OR ".join(["(originator_id = ? AND originator_version > ?)"] * len(chunk))
            c.execute(
                f"SELECT originator_id, topic FROM {self.events_table_name} WHERE {newer}",
                [value for key in chunk for value in (key, reads[key].version)],
            )
            if any(breaks(reads[row["originator_id"]], row["topic"]) for row in c.fetchall()):
                raise ReadsChanged("an aggregate the command read has changed")


def _key(originator_id: UUID | str) -> str:
    """How the library stores an originator id in SQLite."""
    return originator_id.hex if isinstance(originator_id, UUID) else originator_id


class OkrSQLiteFactory(SQLiteFactory):
    application_recorder_class = ReadAssertingApplicationRecorder
