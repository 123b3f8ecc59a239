"""The stored rows of a corpus: dumped exactly as stored, loaded back exactly.

Events keep their notification ids (the log's positions: answers name them)
and their originator ids (answers name those too); each state is kept as the
bytes the store holds (as text when they are UTF-8 JSON, as it is with no
compressor; else base64). Snapshots the same. ``CORPUS_TABLES`` are the
tables outside the event store that answers depend on; their rows travel
as they are.
"""

from __future__ import annotations

import base64
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from entrypoints.bootstrap import Runtime

CORPUS_TABLES: list[str] = [
    "okr_people",  # the people directory: reads carry display names from it
    "okr_person_keys",  # personal texts are sealed with these keys (SPEC §11)
]
"""Tables of the read-side store whose rows a corpus carries, one line each.

A table that answers depend on and that the events cannot rebuild (a directory,
a key table) belongs here; the read models do not (the test rebuilds them)."""


def _state_out(state: bytes) -> dict[str, str]:
    try:
        text = state.decode("utf-8")
    except UnicodeDecodeError:
        return {"state_base64": base64.b64encode(state).decode("ascii")}
    return {"state": text}


def _state_in(row: dict[str, Any]) -> bytes:
    if "state" in row:
        return str(row["state"]).encode("utf-8")
    return base64.b64decode(row["state_base64"])


def _value_out(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        return {"$base64": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, UUID):
        return str(value)
    return value


def _value_in(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"$base64"}:
        return base64.b64decode(value["$base64"])
    return value


def dump(runtime: Runtime) -> dict[str, Any]:
    """Every event and snapshot row, and the rows of ``CORPUS_TABLES``."""
    app = runtime.app
    notifications = app.recorder.select_notifications(start=1, limit=1_000_000)
    ids = [n.id for n in notifications]
    assert ids == list(range(1, len(ids) + 1)), "a corpus log has no gaps: write it afresh"
    events = [
        {
            "notification_id": n.id,
            "originator_id": str(n.originator_id),
            "originator_version": n.originator_version,
            "topic": n.topic,
            **_state_out(n.state),
        }
        for n in notifications
    ]
    assert app.snapshots is not None
    snapshots = [
        {
            "originator_id": str(s.originator_id),
            "originator_version": s.originator_version,
            "topic": s.topic,
            **_state_out(s.state),
        }
        for originator in dict.fromkeys(n.originator_id for n in notifications)
        for s in app.snapshots.recorder.select_events(originator)
    ]
    tables: dict[str, list[dict[str, Any]]] = {}
    with runtime.store.transaction(commit=False) as tx:
        for table in CORPUS_TABLES:
            rows = tx.fetchall(f"SELECT * FROM {table}")
            tables[table] = sorted(
                ({k: _value_out(v) for k, v in dict(row).items()} for row in rows),
                key=lambda row: repr(sorted(row.items())),
            )
    return {"events": events, "snapshots": snapshots, "tables": tables}


def load(runtime: Runtime, corpus: dict[str, Any]) -> None:
    """Write the corpus's rows raw into ``runtime``'s fresh, empty stores."""
    app = runtime.app
    stored = [
        StoredEvent(
            UUID(row["originator_id"]), row["originator_version"], row["topic"], _state_in(row)
        )
        for row in corpus["events"]
    ]
    positions = app.recorder.insert_events(stored)
    assert list(positions or []) == [row["notification_id"] for row in corpus["events"]], (
        "the events must land at their recorded positions: load into an empty store"
    )
    assert app.snapshots is not None
    app.snapshots.recorder.insert_events(
        [
            StoredEvent(
                UUID(row["originator_id"]), row["originator_version"], row["topic"], _state_in(row)
            )
            for row in corpus["snapshots"]
        ]
    )
    with runtime.store.transaction() as tx:
        for table, rows in corpus["tables"].items():
            for row in rows:
                names = list(row)
                tx.execute(
                    f"INSERT INTO {table} ({', '.join(names)})"
                    f" VALUES ({', '.join(':' + n for n in names)})",
                    {n: _value_in(v) for n, v in row.items()},
                )
