"""Write the stored-event corpus: ``python -m tests.corpus.write [sqlite|postgres ...]``.

For each backend (both by default) it tells the story (``story.py``) through
the HTTP API into a fresh store, with snapshots every ``SNAPSHOT_INTERVAL``
events, records the answers of the reads, and dumps the stored rows
(``rows.py``) with them into ``tests/corpus/<backend>.json``. PostgreSQL is
the server of ``OKR_TEST_DATABASE_URL`` (a database is created and dropped).

Run it once per release, after the last change of events, state or answers,
and commit the files: ``tests/integration/test_corpus.py`` loads every corpus
ever committed (this release's and the kept ones of earlier releases) and
expects the same answers.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from fastapi.testclient import TestClient

from api.app import create_app
from entrypoints.bootstrap import build_runtime
from entrypoints.settings import Settings
from tests.corpus.rows import dump
from tests.corpus.story import ORG, USERS, Client, answer, reads, tell

HERE = Path(__file__).parent
SNAPSHOT_INTERVAL = 3
"""Small, so that objectives and issues have several snapshots (each is read back)."""


def admin_url() -> str:
    return os.environ.get("OKR_TEST_DATABASE_URL", "postgresql://okr:okr@127.0.0.1:15432/okr_test")


@contextmanager
def fresh_settings(backend: str) -> Iterator[Settings]:
    """Settings over an empty store of ``backend``, removed afterwards."""
    with tempfile.TemporaryDirectory() as data_dir:
        if backend == "sqlite":
            yield Settings(
                data_dir=Path(data_dir),
                database_url=None,
                kafka_bootstrap=None,
                snapshot_interval=SNAPSHOT_INTERVAL,
            )
            return
        name = f"okr_corpus_{uuid.uuid4().hex[:12]}"
        base = admin_url().rpartition("/")[0]
        with psycopg.connect(admin_url(), autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield Settings(
                data_dir=Path(data_dir),
                database_url=f"{base}/{name}",
                kafka_bootstrap=None,
                snapshot_interval=SNAPSHOT_INTERVAL,
            )
        finally:
            with psycopg.connect(admin_url(), autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def written(backend: str) -> dict[str, Any]:
    """The corpus of ``backend``: the story's rows and the answers it gave."""
    with fresh_settings(backend) as settings:
        runtime = build_runtime(settings)
        try:
            runtime.start_following()
            with TestClient(create_app(runtime)) as client:
                api = Client(client, runtime)
                ids = tell(api, runtime)
                position = api.position
                assert runtime.follower.wait_for(position, timeout=60), "the read models lag"
                answers = [
                    {"request": request, **answer(api, request, position)}
                    for request in reads(api, ids)
                ]
            rows = dump(runtime)
        finally:
            runtime.close()
    return {
        "about": "stored rows and the answers they gave; written by tests/corpus/write.py",
        "backend": backend,
        "snapshot_interval": SNAPSHOT_INTERVAL,
        "organization": ORG,
        "users": USERS,
        "position": position,
        "ids": ids,
        **rows,
        "answers": answers,
    }


def main(argv: Sequence[str]) -> int:
    for backend in argv or ("sqlite", "postgres"):
        if backend not in ("sqlite", "postgres"):
            print(f"unknown backend {backend!r}: sqlite or postgres", file=sys.stderr)
            return 2
        corpus = written(backend)
        path = HERE / f"{backend}.json"
        path.write_text(json.dumps(corpus, indent=1, ensure_ascii=False) + "\n")
        print(
            f"{path.name}: {len(corpus['events'])} events, {len(corpus['snapshots'])}"
            f" snapshots, {len(corpus['answers'])} answers"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
