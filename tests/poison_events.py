"""Helpers for the poison-event tests (no tests here): events a read model cannot
apply, written straight into the event store as a bug or an old release would,
and the command line run in this process against the same stores."""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pytest
from eventsourcing import utils as eventsourcing_utils
from eventsourcing.persistence import StoredEvent

from domain.objective import Objective
from entrypoints.bootstrap import Runtime
from entrypoints.settings import Settings

UNKNOWN_TOPIC = "domain.objective:Objective.Frobnicated"
"""An event class no release has: the store holds it, nothing decodes it."""


def position(runtime: Runtime) -> int:
    return int(runtime.app.recorder.max_notification_id() or 0)


def _insert(runtime: Runtime, stored: StoredEvent) -> int:
    runtime.app.recorder.insert_events([stored])
    return position(runtime)


def write_unknown_event(runtime: Runtime, objective_id: UUID) -> int:
    """An event of an unknown class on the objective; returns its position.

    Its state is a harmless ``Edited`` (no changes): once the topic is registered
    for that class (the fix), it decodes and changes nothing but the version."""
    app = runtime.app
    version = app.repository.get(objective_id).version + 1
    edited = Objective.Edited(  # type: ignore[call-arg]
        originator_id=objective_id,
        originator_version=version,
        timestamp=datetime.now(UTC),
        changes={},
        actor="ops",
    )
    stored = app.mapper.to_stored_event(edited)
    return _insert(
        runtime,
        StoredEvent(stored.originator_id, stored.originator_version, UNKNOWN_TOPIC, stored.state),
    )


@contextlib.contextmanager
def unknown_topic_registered() -> Iterator[None]:
    """The fix of the unknown event: its topic names a class again (for this test only)."""
    eventsourcing_utils.register_topic(UNKNOWN_TOPIC, Objective.Edited)
    try:
        yield
    finally:
        with eventsourcing_utils._topic_cache_lock:
            eventsourcing_utils._topic_cache.pop(UNKNOWN_TOPIC, None)


def check_in_events(
    runtime: Runtime, objective_id: UUID, key_result_id: UUID, percent: float
) -> tuple[StoredEvent, StoredEvent]:
    """A check-in as stored (good), and the same without its ``percent`` (broken: it
    decodes, but the objectives model cannot apply it)."""
    app = runtime.app
    version = app.repository.get(objective_id).version + 1
    now = datetime.now(UTC)
    event = Objective.KeyResultCheckedIn(  # type: ignore[call-arg]
        originator_id=objective_id,
        originator_version=version,
        timestamp=now,
        key_result_id=key_result_id,
        percent=percent,
        current=None,
        milestones_done=None,
        status="on_track",
        confidence=None,
        note=None,
        checked_in_at=now,
        actor="ada",
    )
    good = app.mapper.to_stored_event(event)
    state = app.mapper.transcoder.decode(good.state)
    del state["percent"]
    broken = StoredEvent(
        good.originator_id, good.originator_version, good.topic, app.mapper.transcoder.encode(state)
    )
    return good, broken


def write_stored(runtime: Runtime, stored: StoredEvent) -> int:
    return _insert(runtime, stored)


def repair_stored(runtime: Runtime, good: StoredEvent) -> None:
    """Replace a stored event's state in place (an operator's repair of broken data)."""
    recorder: Any = runtime.app.recorder
    table = recorder.events_table_name
    with recorder.datastore.transaction(commit=True) as cursor:
        if runtime.settings.embedded:
            cursor.execute(
                f"UPDATE {table} SET state = ? WHERE originator_id = ? AND originator_version = ?",
                (good.state, UUID(str(good.originator_id)).hex, good.originator_version),
            )
        else:
            cursor.execute(
                f"UPDATE {table} SET state = %s WHERE originator_id = %s"
                " AND originator_version = %s",
                (good.state, good.originator_id, good.originator_version),
            )
    stored = recorder.select_events(
        good.originator_id, gt=good.originator_version - 1, lte=good.originator_version
    )
    assert [e.state for e in stored] == [good.state], "the stored event was not repaired"


def kr_progress(runtime: Runtime, key_result_id: UUID) -> float | None:
    with runtime.store.transaction(commit=False) as tx:
        row = tx.fetchone(
            "SELECT progress FROM okr_key_results WHERE id = :id", {"id": str(key_result_id)}
        )
    return None if row is None else float(row["progress"])


def team_names(runtime: Runtime, organization_id: str) -> set[str]:
    with runtime.store.transaction(commit=False) as tx:
        rows = tx.fetchall(
            "SELECT name FROM okr_teams WHERE organization_id = :org", {"org": organization_id}
        )
    return {row["name"] for row in rows}


class Cli:
    """``okr ...`` in this process, with the environment of ``settings``'s stores."""

    def __init__(self, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
        for name in list(os.environ):
            if name.startswith("OKR_"):
                monkeypatch.delenv(name)
        monkeypatch.setenv("OKR_DATA_DIR", str(settings.data_dir))
        if settings.database_url:
            monkeypatch.setenv("OKR_DATABASE_URL", settings.database_url)

    def __call__(self, *args: str) -> tuple[int, str, str]:
        from entrypoints.cli import main

        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(list(args))
            except SystemExit as stop:  # argparse's usage errors
                code = int(stop.code or 0)
        return code, out.getvalue(), err.getvalue()
