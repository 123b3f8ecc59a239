"""Where read models live: one tracking recorder per database, SQLite or PostgreSQL.

Each store is an ``eventsourcing`` tracking recorder, so a projection writes its
rows and its position (``Tracking``) in one transaction: exactly-once updates,
and a restarted runner resumes from ``max_tracking_id``.

Read-model SQL is written once, in the subset both databases share, with
``:name`` placeholders; the PostgreSQL store rewrites them to psycopg's
``%(name)s``. Values are plain: TEXT (ids, ISO times, JSON), REAL/DOUBLE,
INTEGER.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from eventsourcing.persistence import (
    InfrastructureFactory,
    InterfaceError,
    OperationalError,
    Tracking,
    TrackingRecorder,
)
from eventsourcing.postgres import PostgresFactory, PostgresTrackingRecorder
from eventsourcing.sqlite import SQLiteTrackingRecorder
from psycopg_pool import ConnectionPool

Row = dict[str, Any]
Params = Mapping[str, Any]

_NAMED = re.compile(r"(?<![:\w]):([A-Za-z_][A-Za-z0-9_]*)")

CONNECTION_LOST = (OperationalError, InterfaceError)
"""What a store raises when its database connection broke (server restarted, failover,
backend terminated, lock timeout): the statement may be tried again on a fresh one."""


def revive_pool(datastore: object) -> None:
    """Drop the broken connections of a datastore's PostgreSQL pool (and let it make
    fresh ones), so the next statement does not meet another dead one. Costs one
    ping per idle connection: done only after a connection was found lost."""
    pool = getattr(datastore, "pool", None)
    if isinstance(pool, ConnectionPool):
        pool.check()


class Tx(ABC):
    """One read-model transaction: statements, queries and the position, together."""

    @abstractmethod
    def execute(self, sql: str, params: Params | None = None) -> None: ...

    @abstractmethod
    def executemany(self, sql: str, rows: Sequence[Params]) -> None: ...

    @abstractmethod
    def fetchall(self, sql: str, params: Params | None = None) -> list[Row]: ...

    def fetchone(self, sql: str, params: Params | None = None) -> Row | None:
        rows = self.fetchall(sql, params)
        return rows[0] if rows else None

    def insert_rows(self, table: str, columns: Sequence[str], rows: Sequence[Params]) -> None:
        """Plain INSERT of many rows (``columns`` name both the table's columns and the
        rows' keys); PostgreSQL uses COPY, several times faster for large batches."""
        if rows:
            names = ", ".join(columns)
            marks = ", ".join(f":{c}" for c in columns)
            self.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)

    @abstractmethod
    def track(self, tracking: Tracking) -> None: ...


class ViewStore(TrackingRecorder, ABC):
    """A database that holds read models and their tracking positions."""

    dialect: str

    @abstractmethod
    @contextmanager
    def transaction(self, commit: bool = True) -> Iterator[Tx]: ...

    def close(self) -> None:
        self.datastore.close()  # type: ignore[attr-defined]

    def revive(self) -> None:
        """After ``CONNECTION_LOST``: fresh connections for the next statements."""
        revive_pool(getattr(self, "datastore", None))


class _SQLiteTx(Tx):
    def __init__(self, recorder: SQLiteViewStore, cursor: Any) -> None:
        self._recorder = recorder
        self._cursor = cursor

    def execute(self, sql: str, params: Params | None = None) -> None:
        self._cursor.execute(sql, dict(params or {}))

    def executemany(self, sql: str, rows: Sequence[Params]) -> None:
        self._cursor.executemany(sql, [dict(r) for r in rows])

    def fetchall(self, sql: str, params: Params | None = None) -> list[Row]:
        self._cursor.execute(sql, dict(params or {}))
        return [dict(r) for r in self._cursor.fetchall()]

    def track(self, tracking: Tracking) -> None:
        self._recorder._insert_tracking(self._cursor, tracking)


class SQLiteViewStore(SQLiteTrackingRecorder, ViewStore):
    dialect = "sqlite"

    @contextmanager
    def transaction(self, commit: bool = True) -> Iterator[Tx]:
        with self.datastore.transaction(commit=commit) as cursor:
            yield _SQLiteTx(self, cursor)


class _PostgresTx(Tx):
    def __init__(self, recorder: PostgresViewStore, cursor: Any) -> None:
        self._recorder = recorder
        self._cursor = cursor

    def execute(self, sql: str, params: Params | None = None) -> None:
        self._cursor.execute(to_psycopg(sql), dict(params or {}))

    def executemany(self, sql: str, rows: Sequence[Params]) -> None:
        if rows:
            self._cursor.executemany(to_psycopg(sql), [dict(r) for r in rows])

    def fetchall(self, sql: str, params: Params | None = None) -> list[Row]:
        self._cursor.execute(to_psycopg(sql), dict(params or {}))
        return [dict(r) for r in self._cursor.fetchall()]

    def insert_rows(self, table: str, columns: Sequence[str], rows: Sequence[Params]) -> None:
        if rows:
            with self._cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row([row[c] for c in columns])

    def track(self, tracking: Tracking) -> None:
        self._recorder._insert_tracking(self._cursor, tracking)


class PostgresViewStore(PostgresTrackingRecorder, ViewStore):
    dialect = "postgres"

    @contextmanager
    def transaction(self, commit: bool = True) -> Iterator[Tx]:
        if not commit:
            # Reads run on the pool's autocommit connection: no BEGIN/ROLLBACK round
            # trips around every query (a GET makes three such reads).
            with self.datastore.get_connection() as connection:
                yield _PostgresTx(self, connection.cursor())
            return
        with self.datastore.transaction(commit=commit) as cursor:
            yield _PostgresTx(self, cursor)


@contextmanager
def overwriting(store: ViewStore) -> Iterator[Tx]:
    """A write transaction whose deletes overwrite the bytes they free, for erasure.

    SQLite keeps deleted rows in free pages until reused; ``secure_delete`` zeroes
    them, and is switched off again after, because the pooled connection would
    otherwise pay for it on every later delete. PostgreSQL keeps dead rows until
    a vacuum: the caller scrubs after (``projections/personal_keys.py``, ``scrub``).
    """
    with store.transaction() as tx:
        sqlite = store.dialect == "sqlite"
        if sqlite:
            tx.execute("PRAGMA secure_delete = ON")
        try:
            yield tx
        finally:
            if sqlite:
                tx.execute("PRAGMA secure_delete = OFF")


def to_psycopg(sql: str) -> str:
    """``:name`` → ``%(name)s``; a literal ``%`` must be doubled for psycopg."""
    return _NAMED.sub(r"%(\1)s", sql.replace("%", "%%"))


def open_view_store(env: Mapping[str, str]) -> ViewStore:
    """Build the store from the same ``eventsourcing`` environment as the event store."""
    factory = InfrastructureFactory[ViewStore].construct(env=dict(env))
    postgres = isinstance(factory, PostgresFactory)
    cls: type[ViewStore] = PostgresViewStore if postgres else SQLiteViewStore
    store = factory.tracking_recorder(cls)
    return store
