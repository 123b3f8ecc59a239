"""One process at a time creates or checks the schema of a PostgreSQL database.

Every process builds its runtime at start-up, and building it creates the
tables if they are missing: the event store's (eventsourcing runs ``CREATE OR
REPLACE FUNCTION`` every time, not only on a fresh database), the read models'
and the directory's. Two sessions doing that at once fail one of them
("tuple concurrently updated", or a duplicate ``pg_type`` row on a fresh
database), so processes that start together (the compose stack's API,
projector and consumer; ``okr project`` runners of several partitions; API
workers) lost one of their number at start-up. A session-level advisory lock,
scoped to the database, makes them take turns; it ends with its connection.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from entrypoints.settings import Settings

SCHEMA_LOCK = 0x6F6B_7273  # "okrs": the advisory lock's key, the same in every process


@contextmanager
def schema_lock(settings: Settings) -> Iterator[None]:
    """Held while the schema is created or checked (PostgreSQL only; SQLite's own
    write lock already serializes its files)."""
    if settings.embedded or settings.database_url is None:
        yield
        return
    with psycopg.connect(settings.database_url, autocommit=True, connect_timeout=5) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (SCHEMA_LOCK,))
        yield
