"""Erasing personal texts written before they were sealed (legacy plaintext).

Events recorded before ``domain/personal.py`` hold a note's text, a check-in's
note and a retrospective's answers as written: deleting the author's key
cannot reach them. So an erasure also rewrites them, for that person in that
organization:

1. each of the person's stored ``NoteAdded``, ``KeyResultCheckedIn`` and
   ``RetrospectiveRecorded`` events of the organization's objectives whose
   personal field is plaintext gets ``[erased]`` there (an UPDATE of the
   stored state: nothing else of the event changes, its topic, version and
   timestamp stay);
2. the snapshots of those objectives are deleted (they may hold the
   retrospective), and the objectives leave this process's aggregate cache;
3. the objective documents of every read-model generation that hold one of
   those texts (the retrospective) get ``[erased]`` in its place;
4. the freed bytes are scrubbed: SQLite rewrites with ``secure_delete`` and
   truncates the write-ahead log; PostgreSQL vacuums the tables touched.

Sealed texts are left alone (their key is what erases them). An erasure with
no legacy text touches nothing. The cost is one read of every event of the
organization's objectives: erasure is rare, and this runs off the request's
event loop.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import Mapper, StoredEvent
from eventsourcing.sqlite import SQLiteAggregateRecorder
from eventsourcing.utils import resolve_topic

from domain import objective_events as events
from domain.personal import ERASED, MARK
from projections.generations import generations
from projections.personal_keys import scrub
from projections.renaming import suffix_of
from projections.store import ViewStore, overwriting

PERSONAL_FIELDS: tuple[tuple[type, tuple[str, ...]], ...] = (
    (events.NoteAdded, ("text",)),
    (events.KeyResultCheckedIn, ("note",)),
    (events.RetrospectiveRecorded, ("problems", "improvements", "next_focus")),
)
RETROSPECTIVE_FIELDS = ("problems", "improvements", "next_focus")


def personal_fields(topic: str) -> tuple[str, ...]:
    try:
        cls = resolve_topic(topic)
    except Exception:  # a topic this release cannot resolve holds nothing of ours
        return ()
    for kind, fields in PERSONAL_FIELDS:
        if isinstance(cls, type) and issubclass(cls, kind):
            return fields
    return ()


def is_legacy(value: Any) -> bool:
    return isinstance(value, str) and bool(value) and value != ERASED and MARK not in value


def erase_legacy_texts(
    app: Application[UUID], store: ViewStore, organization_id: str, user_id: str
) -> int:
    """Rewrite the person's legacy plaintext personal fields; how many events changed."""
    changed = 0
    for objective_id in _objectives_of(store, organization_id):
        rewrites: list[StoredEvent] = []
        texts: set[str] = set()
        for stored in app.recorder.select_events(objective_id):
            fields = personal_fields(stored.topic)
            if not fields:
                continue
            state = _decode(app.mapper, stored.state)
            if state.get("actor") != user_id:
                continue
            legacy = [f for f in fields if is_legacy(state.get(f))]
            if not legacy:
                continue
            texts.update(state[f] for f in legacy)
            state.update(dict.fromkeys(legacy, ERASED))
            rewrites.append(
                StoredEvent(
                    stored.originator_id,
                    stored.originator_version,
                    stored.topic,
                    _encode(app.mapper, state),
                )
            )
        if rewrites:
            _rewrite(app, objective_id, rewrites)
            _erase_in_documents(store, str(objective_id), texts)
            changed += len(rewrites)
    if changed:
        _scrub_events(app)
    return changed


def _objectives_of(store: ViewStore, organization_id: str) -> list[UUID]:
    with store.transaction(commit=False) as tx:
        rows = tx.fetchall(
            "SELECT id FROM okr_objectives WHERE organization_id = :org ORDER BY id",
            {"org": organization_id},
        )
    return [UUID(row["id"]) for row in rows]


def _decode(mapper: Mapper[UUID], state: bytes) -> dict[str, Any]:
    if mapper.cipher:
        state = mapper.cipher.decrypt(state)
    if mapper.compressor:
        state = mapper.compressor.decompress(state)
    decoded: dict[str, Any] = mapper.transcoder.decode(state)
    return decoded


def _encode(mapper: Mapper[UUID], state: dict[str, Any]) -> bytes:
    encoded = mapper.transcoder.encode(state)
    if mapper.compressor:
        encoded = mapper.compressor.compress(encoded)
    if mapper.cipher:
        encoded = mapper.cipher.encrypt(encoded)
    return encoded


def _sqlite(recorder: Any) -> bool:
    return isinstance(recorder, SQLiteAggregateRecorder)


@contextmanager
def _cursor(recorder: Any) -> Iterator[tuple[Any, str]]:
    """A writing cursor of the recorder's database and its parameter mark."""
    with recorder.datastore.transaction(commit=True) as cursor:
        if _sqlite(recorder):
            cursor.execute("PRAGMA secure_delete = ON")  # freed bytes are overwritten
            try:
                yield cursor, "?"
            finally:
                cursor.execute("PRAGMA secure_delete = OFF")
        else:
            yield cursor, "%s"


def _table(recorder: Any) -> str:
    if _sqlite(recorder):
        return str(recorder.events_table_name)
    return f'"{recorder.datastore.schema}"."{recorder.events_table_name}"'


def _key(recorder: Any, objective_id: UUID) -> Any:
    return objective_id.hex if _sqlite(recorder) else objective_id  # as the library stores it


def _rewrite(app: Application[UUID], objective_id: UUID, rewrites: list[StoredEvent]) -> None:
    recorder: Any = app.recorder
    with _cursor(recorder) as (cursor, mark):
        for event in rewrites:
            cursor.execute(
                f"UPDATE {_table(recorder)} SET state = {mark}"
                f" WHERE originator_id = {mark} AND originator_version = {mark}",
                (event.state, _key(recorder, objective_id), event.originator_version),
            )
    if app.snapshots is not None:
        snapshots: Any = app.snapshots.recorder
        with _cursor(snapshots) as (cursor, mark):
            cursor.execute(
                f"DELETE FROM {_table(snapshots)} WHERE originator_id = {mark}",
                (_key(snapshots, objective_id),),
            )
    cache = app.repository.cache
    if cache is not None:  # this process's copy; other processes' expire by their size
        with suppress(KeyError):
            cache.get(objective_id, evict=True)


def _erase_in_documents(store: ViewStore, objective_id: str, texts: set[str]) -> None:
    """Every generation's objective document: a retrospective answer that is one of
    the erased texts reads ``[erased]``."""
    with store.transaction(commit=False) as tx:
        found = generations(tx, "objectives")
    tables = [f"okr_objectives{suffix_of(g.number)}" for g in found] or ["okr_objectives"]
    for table in tables:
        with overwriting(store) as tx:
            row = tx.fetchone(f"SELECT doc FROM {table} WHERE id = :id", {"id": objective_id})
            if row is None:
                continue
            doc = json.loads(row["doc"])
            retrospective = doc.get("retrospective") or {}
            hits = [f for f in RETROSPECTIVE_FIELDS if retrospective.get(f) in texts]
            if not hits:
                continue
            retrospective.update(dict.fromkeys(hits, ERASED))
            tx.execute(
                f"UPDATE {table} SET doc = :doc WHERE id = :id",
                {"doc": json.dumps(doc, separators=(",", ":")), "id": objective_id},
            )
        scrub(store, table)


def _scrub_events(app: Application[UUID]) -> None:
    """The rewritten events' old bytes: out of SQLite's log, vacuumed on PostgreSQL."""
    for recorder in {id(r): r for r in _recorders(app)}.values():
        datastore = recorder.datastore
        if _sqlite(recorder):
            with datastore.get_connection(commit=True) as connection:
                connection.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
        else:
            with datastore.get_connection() as connection:
                connection.execute(f"VACUUM {_table(recorder)}")


def _recorders(app: Application[UUID]) -> list[Any]:
    found: list[Any] = [app.recorder]
    if app.snapshots is not None:
        found.append(app.snapshots.recorder)
    return found
