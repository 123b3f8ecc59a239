"""The embedded event store (entrypoints/sqlite_events.py): its insert takes the
write lock first, and a lock held too long elsewhere is the library's error."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from eventsourcing.persistence import OperationalError

from commands.application import OkrApplication
from commands.messages import CheckIn
from domain.values import Phase
from entrypoints.settings import Settings
from entrypoints.sqlite_events import ReadAssertingApplicationRecorder
from tests.builders import ADMIN, World


def test_the_embedded_mode_records_with_the_asserting_recorder(tmp_path: Path) -> None:
    app = OkrApplication(env=Settings(data_dir=tmp_path, database_url=None).eventsourcing_env())
    try:
        assert isinstance(app.recorder, ReadAssertingApplicationRecorder)
    finally:
        app.close()


def test_a_write_lock_held_elsewhere_is_the_stores_operational_error(tmp_path: Path) -> None:
    """Another process holding the file's write lock past the timeout: the command
    fails with the library's OperationalError (the API and the consumer treat it as
    "database away, retry"), not with a bare sqlite3 error from BEGIN IMMEDIATE."""
    env = {**Settings(data_dir=tmp_path, database_url=None).eventsourcing_env()}
    env["SQLITE_LOCK_TIMEOUT"] = "1"
    app = OkrApplication(env=env)
    try:
        w = World(app)
        cycle = w.cycle(Phase.TRACKING)
        objective = w.objective(cycle)
        kr = w.kr(objective)
        blocker = sqlite3.connect(env["SQLITE_DBNAME"], isolation_level=None)
        try:
            blocker.execute("BEGIN EXCLUSIVE")
            with pytest.raises(OperationalError):
                app.check_in(ADMIN, CheckIn(objective, kr, status="on_track", percent=5))
            blocker.execute("ROLLBACK")
        finally:
            blocker.close()
        app.check_in(ADMIN, CheckIn(objective, kr, status="on_track", percent=5))
        assert w.event_names(objective)[-1] == "KeyResultCheckedIn"
    finally:
        app.close()
