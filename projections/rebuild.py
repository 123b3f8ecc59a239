"""Rebuild read models from the event log: build beside, then swap.

The new tables are built under a ``__rebuild`` suffix while the live ones
keep serving (and keep following the log). Once the new ones have caught up
with the log and are at least as far as the live ones, one transaction drops
the live tables, renames the new ones into place and sets the live tracking
position to the rebuilt one. A live follower that was mid-batch fails its
tracking insert, rolls back, and resumes from the new position.
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TextIO

from eventsourcing.application import Application
from eventsourcing.persistence import Tracking

from projections import parked
from projections.follower import Follower
from projections.readmodel import ReadModel
from projections.store import Params, Row, Tx, ViewStore

SUFFIX = "__rebuild"
BATCH_SIZE = 10_000
"""Events per transaction while rebuilding (the live follower takes 500 for low lag).

A model reads back from its tables only what an earlier batch wrote; a rebuild
has no reader waiting, so larger batches trade a little memory for far fewer
of those reads and of the writes of rows that many batches touch.
"""
_TABLE = re.compile(r"CREATE TABLE IF NOT EXISTS (\w+)")
_INDEX = re.compile(r"CREATE (?:UNIQUE )?INDEX IF NOT EXISTS (\w+)")


def table_names(model: ReadModel) -> list[str]:
    return [m.group(1) for ddl in model.ddl if (m := _TABLE.search(ddl))]


def index_names(model: ReadModel) -> list[str]:
    return [m.group(1) for ddl in model.ddl if (m := _INDEX.search(ddl))]


class RenamingTx(Tx):
    """Runs a model's SQL against renamed tables, so models never know they are rebuilt."""

    def __init__(self, inner: Tx, names: Sequence[str], suffix: str) -> None:
        self._inner = inner
        self._pattern = re.compile(r"\b(" + "|".join(map(re.escape, names)) + r")\b")
        self._suffix = suffix

    def _sql(self, sql: str) -> str:
        return self._pattern.sub(lambda m: m.group(1) + self._suffix, sql)

    def execute(self, sql: str, params: Params | None = None) -> None:
        self._inner.execute(self._sql(sql), params)

    def executemany(self, sql: str, rows: Sequence[Params]) -> None:
        self._inner.executemany(self._sql(sql), rows)

    def fetchall(self, sql: str, params: Params | None = None) -> list[Row]:
        return self._inner.fetchall(self._sql(sql), params)

    def insert_rows(self, table: str, columns: Sequence[str], rows: Sequence[Params]) -> None:
        self._inner.insert_rows(self._sql(table), columns, rows)

    def track(self, tracking: Tracking) -> None:
        self._inner.track(tracking)


class RenamedStore:
    """The store as a rebuilding follower sees it: same database, renamed tables."""

    def __init__(self, store: ViewStore, names: Sequence[str]) -> None:
        self._store = store
        self._names = list(names)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    @contextmanager
    def transaction(self, commit: bool = True) -> Iterator[Tx]:
        with self._store.transaction(commit=commit) as tx:
            yield RenamingTx(tx, self._names, SUFFIX)


class _RebuildFollower(Follower):
    """Tracks under its own name, so the live position is untouched until the swap.

    Its poison events are parked at once (no one retries a rebuild's batch), under
    its own lanes; the swap hands them to the live lanes with the tables."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.parking.park_after = 1

    def tracking_name(self, model: ReadModel) -> str:
        return f"{self.app.name}:{model.name}{SUFFIX}"


def rebuild(
    app: Application[Any],
    store: ViewStore,
    models: ReadModel | Sequence[ReadModel],
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Rebuild ``models`` beside their live tables in one pass over the log, then swap
    them all in at once; returns how many events were read."""
    models = [models] if isinstance(models, ReadModel) else list(models)
    tables = [t for model in models for t in table_names(model)]
    renamed: Any = RenamedStore(store, tables + [i for m in models for i in index_names(m)])
    _drop(store, [table + SUFFIX for table in tables])
    parked.create_table(store)
    with store.transaction() as tx:
        for model in models:
            _set_tracking(store, tx, f"{app.name}:{model.name}{SUFFIX}", None)
            parked.forget_lane(tx, f"{app.name}:{model.name}{SUFFIX}")
    follower = _RebuildFollower(app, renamed, models, batch_size=BATCH_SIZE)
    total = 0

    def report(count: int) -> None:
        nonlocal total
        total += count
        if progress is not None:
            progress(total, app.recorder.max_notification_id() or 0)

    while True:
        follower.catch_up(on_batch=report)
        rebuilt = min(follower.position(model) for model in models)
        with store.transaction() as tx:
            live = max(_get_tracking(store, tx, f"{app.name}:{m.name}") for m in models)
            if live > rebuilt:
                continue  # the live models moved on while we swapped: catch up first
            for model in models:
                _swap(store, tx, app.name, model, rebuilt)
        return total


def _swap(store: ViewStore, tx: Tx, app_name: str, model: ReadModel, position: int) -> None:
    for table in table_names(model):
        tx.execute(f"DROP TABLE IF EXISTS {table}")
        tx.execute(f"ALTER TABLE {table}{SUFFIX} RENAME TO {table}")
    for index in index_names(model):
        tx.execute(f"DROP INDEX IF EXISTS {index}{SUFFIX}")
    for statement in model.ddl:
        if _INDEX.search(statement):
            tx.execute(statement)
    _set_tracking(store, tx, f"{app_name}:{model.name}", position)
    _set_tracking(store, tx, f"{app_name}:{model.name}{SUFFIX}", None)
    parked.move_lane(tx, f"{app_name}:{model.name}{SUFFIX}", f"{app_name}:{model.name}")


def _drop(store: ViewStore, tables: Sequence[str]) -> None:
    with store.transaction() as tx:
        for table in tables:
            tx.execute(f"DROP TABLE IF EXISTS {table}")


def _tracking_table(store: ViewStore) -> str:
    return str(getattr(store, "tracking_table_name", "tracking"))


def _get_tracking(store: ViewStore, tx: Tx, name: str) -> int:
    row = tx.fetchone(
        f"SELECT notification_id FROM {_tracking_table(store)} WHERE application_name = :name",
        {"name": name},
    )
    return int(row["notification_id"]) if row and row["notification_id"] is not None else 0


def _set_tracking(store: ViewStore, tx: Tx, name: str, position: int | None) -> None:
    """Set (or with None, forget) a position outright, even backwards."""
    table = _tracking_table(store)
    tx.execute(f"DELETE FROM {table} WHERE application_name = :name", {"name": name})
    if position is not None:
        tx.execute(
            f"INSERT INTO {table} (application_name, notification_id) VALUES (:name, :id)",
            {"name": name, "id": position},
        )


class ProgressBar:
    """A one-line progress bar on a terminal; plain lines elsewhere."""

    def __init__(self, label: str, stream: TextIO = sys.stderr) -> None:
        self.label = label
        self.stream = stream
        self.started = time.monotonic()
        self._last = 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self._last < 0.2 and done < total:
            return
        self._last = now
        total = max(total, done, 1)
        width = 30
        filled = int(width * done / total)
        rate = done / max(now - self.started, 1e-9)
        line = (
            f"{self.label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total} events"
            f" ({rate:,.0f}/s)"
        )
        end = "\r" if self.stream.isatty() else "\n"
        self.stream.write(line + end)
        self.stream.flush()

    def finish(self) -> None:
        if self.stream.isatty():
            self.stream.write("\n")
        self.stream.flush()
