"""A read model's SQL run against one generation's physical tables.

Models write their SQL once with the names readers use (``okr_objectives``);
those names are views over the serving generation. A runner writes the
physical tables of its own generation (``okr_objectives__g3``), so every
statement is rewritten on the way to the database. The live path is hot, so
each rewritten statement is kept (a model has a few dozen distinct ones).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from eventsourcing.persistence import Tracking

from projections.store import Params, Row, Tx, ViewStore

_TABLE = re.compile(r"CREATE TABLE IF NOT EXISTS (\w+)")
_INDEX = re.compile(r"CREATE (?:UNIQUE )?INDEX IF NOT EXISTS (\w+)")
_CACHE_LIMIT = 4096
"""Distinct statements remembered per renamer (statements built with a varying
``IN (...)`` list are distinct; past this the cache starts afresh)."""


def table_names(ddl: Sequence[str]) -> list[str]:
    return [m.group(1) for statement in ddl if (m := _TABLE.search(statement))]


def index_names(ddl: Sequence[str]) -> list[str]:
    return [m.group(1) for statement in ddl if (m := _INDEX.search(statement))]


def suffix_of(generation: int) -> str:
    return f"__g{generation}"


class Renamer:
    """Rewrites the given names to ``name + suffix``, remembering each statement."""

    def __init__(self, names: Sequence[str], suffix: str) -> None:
        self.suffix = suffix
        # A model with no tables of its own renames nothing (an empty alternation
        # would match between every two words).
        self._pattern = (
            re.compile(r"\b(" + "|".join(map(re.escape, names)) + r")\b") if names else None
        )
        self._cache: dict[str, str] = {}

    def __call__(self, sql: str) -> str:
        if self._pattern is None:
            return sql
        done = self._cache.get(sql)
        if done is None:
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            done = self._pattern.sub(lambda m: m.group(1) + self.suffix, sql)
            self._cache[sql] = done
        return done

    def wrap(self, tx: Tx) -> Tx:
        return RenamingTx(tx, self)


class RenamingTx(Tx):
    """Runs a model's SQL against renamed tables, so models never know which
    generation they write."""

    def __init__(self, inner: Tx, rename: Renamer) -> None:
        self._inner = inner
        self._rename = rename

    def execute(self, sql: str, params: Params | None = None) -> None:
        self._inner.execute(self._rename(sql), params)

    def executemany(self, sql: str, rows: Sequence[Params]) -> None:
        self._inner.executemany(self._rename(sql), rows)

    def fetchall(self, sql: str, params: Params | None = None) -> list[Row]:
        return self._inner.fetchall(self._rename(sql), params)

    def insert_rows(self, table: str, columns: Sequence[str], rows: Sequence[Params]) -> None:
        self._inner.insert_rows(self._rename(table), columns, rows)

    def track(self, tracking: Tracking) -> None:
        self._inner.track(tracking)


class RenamedStore:
    """The store as one generation's writer sees it: same database, renamed tables."""

    def __init__(self, store: ViewStore, rename: Renamer) -> None:
        self._store = store
        self._rename = rename

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    @contextmanager
    def transaction(self, commit: bool = True) -> Iterator[Tx]:
        with self._store.transaction(commit=commit) as tx:
            yield RenamingTx(tx, self._rename)
