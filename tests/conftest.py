"""Shared fixtures: runtimes over each backend, real PostgreSQL databases, tokens.

PostgreSQL and Kafka tests never skip: if the server cannot be reached the
test fails, saying which script starts it.
"""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from entrypoints.bootstrap import Runtime, build_runtime
from entrypoints.settings import Settings

PG_ADMIN_URL = os.environ.get(
    "OKR_TEST_DATABASE_URL", "postgresql://okr:okr@127.0.0.1:15432/okr_test"
)
KAFKA_BOOTSTRAP = os.environ.get("OKR_TEST_KAFKA_BOOTSTRAP", "127.0.0.1:19092")


def _with_db(url: str, name: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{name}"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    with fresh_database(PG_ADMIN_URL) as url:
        yield url


@contextlib.contextmanager
def fresh_database(admin_url: str) -> Iterator[str]:
    """A new database on the server of ``admin_url`` (same role), dropped afterwards."""
    name = f"okr_t_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(admin_url, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as error:
        pytest.fail(
            f"PostgreSQL is not reachable at {admin_url} ({error}); "
            "start it with scripts/postgres-up.sh",
            pytrace=False,
        )
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _with_db(admin_url, name)
    finally:
        _drop_database(admin_url, name)


def _drop_database(admin_url: str, name: str) -> None:
    """Drop a test database, whoever is still connected to it.

    ``WITH (FORCE)`` refuses (InsufficientPrivilege) when an autovacuum worker is
    in the database, since the test role may not signal it; a plain DROP stops
    autovacuum by itself, so that is the second try.
    """
    with psycopg.connect(admin_url, autocommit=True) as admin:
        for attempt in range(5):
            try:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                return
            except psycopg.errors.InsufficientPrivilege:
                try:
                    admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
                    return
                except psycopg.errors.ObjectInUse:
                    time.sleep(0.2 * (attempt + 1))
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def embedded_settings(data_dir: Path, **overrides: object) -> Settings:
    return Settings(data_dir=data_dir, database_url=None, kafka_bootstrap=None, **overrides)


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Settings for each backend: embedded SQLite, and a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return embedded_settings(tmp_path)
    url = request.getfixturevalue("pg_url")
    return Settings(database_url=url, data_dir=tmp_path, kafka_bootstrap=None)


@pytest.fixture
def runtime(backend: Settings) -> Iterator[Runtime]:
    """A runtime whose read models follow the log in-process."""
    rt = build_runtime(backend)
    rt.start_following()
    try:
        yield rt
    finally:
        rt.close()
