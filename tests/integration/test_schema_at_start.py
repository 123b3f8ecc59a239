"""Processes that start together on one PostgreSQL database (the compose stack's
API, projector and consumer; ``okr project`` runners of several partitions) each
create or check the schema. eventsourcing's recorder runs ``CREATE OR REPLACE
FUNCTION`` every time, and two sessions replacing one function at once fail one
of them with "tuple concurrently updated": a runner died at start-up in CI."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from entrypoints.bootstrap import build_runtime
from entrypoints.settings import Settings

pytestmark = pytest.mark.postgres

STARTS = 4  # runtimes built at once
ROUNDS = 6


def build_at_once(pg_url: str, data_dirs: list[Path]) -> list[BaseException]:
    """A runtime per data directory, all begun at one moment; what each raised."""
    gate = threading.Barrier(len(data_dirs), timeout=30)
    built: list[Any] = []
    failures: list[BaseException] = []

    def start(data_dir: Path) -> None:
        try:
            gate.wait()
            built.append(build_runtime(Settings(database_url=pg_url, data_dir=data_dir)))
        except BaseException as error:  # examined by the caller
            failures.append(error)

    threads = [threading.Thread(target=start, args=(d,)) for d in data_dirs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    for runtime in built:
        runtime.close()
    return failures


def test_runtimes_built_at_once_on_one_database_all_start(pg_url: str, tmp_path: Path) -> None:
    """The first round on a fresh database, the others on its tables; the old code
    failed every run here (a duplicate pg_type row, then "tuple concurrently updated")."""
    for round_ in range(ROUNDS):
        dirs = [tmp_path / f"{round_}-{i}" for i in range(STARTS)]
        failures = build_at_once(pg_url, dirs)
        assert not failures, [f"round {round_}: {type(f).__name__}: {f}" for f in failures]
