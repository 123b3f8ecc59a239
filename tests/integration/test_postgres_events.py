"""The faster PostgreSQL insert (entrypoints/postgres_events.py) stores what the library would."""

from __future__ import annotations

from pathlib import Path
from uuid import uuid4

import pytest
from eventsourcing.persistence import InfrastructureFactory, IntegrityError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder

from entrypoints.postgres_events import ColumnArraysApplicationRecorder
from entrypoints.settings import Settings

pytestmark = pytest.mark.postgres


def recorders(
    pg_url: str, tmp_path: Path
) -> tuple[PostgresApplicationRecorder, PostgresApplicationRecorder]:
    """The service's recorder and the library's own, on one events table."""
    env = Settings(database_url=pg_url, data_dir=tmp_path).eventsourcing_env()
    ours = InfrastructureFactory.construct(env).application_recorder()
    library = InfrastructureFactory.construct(
        {**env, "PERSISTENCE_MODULE": "eventsourcing.postgres"}
    ).application_recorder()
    assert isinstance(ours, PostgresApplicationRecorder)
    assert isinstance(library, PostgresApplicationRecorder)
    return ours, library


def test_the_settings_choose_the_column_arrays_insert(pg_url: str, tmp_path: Path) -> None:
    ours, library = recorders(pg_url, tmp_path)
    assert type(ours) is ColumnArraysApplicationRecorder
    assert type(library) is PostgresApplicationRecorder


def test_the_factory_topic_before_the_move_still_works(pg_url: str, tmp_path: Path) -> None:
    env = Settings(database_url=pg_url, data_dir=tmp_path).eventsourcing_env()
    env["PERSISTENCE_MODULE"] = "runtime.postgres_events:OkrPostgresFactory"
    assert type(InfrastructureFactory.construct(env).application_recorder()) is (
        ColumnArraysApplicationRecorder
    )


def test_events_read_back_exactly_and_in_order(pg_url: str, tmp_path: Path) -> None:
    ours, library = recorders(pg_url, tmp_path)
    ids = [uuid4() for _ in range(300)]
    states = [bytes(range(256)), b"", b"\\x00\\\\'\"{}", "é\u2028".encode(), b"\x00" * 5]
    batch = [
        StoredEvent(i, 1, f"domain.t:T.E{n % 7}", states[n % len(states)])
        for n, i in enumerate(ids)
    ]
    first = ours.insert_events(batch)
    assert first is not None and list(first) == list(range(first[0], first[0] + len(batch)))
    # The library's insert continues the same sequence: the two interleave safely.
    more = library.insert_events([StoredEvent(ids[0], 2, "domain.t:T.Later", b"{}")])
    assert more is not None and list(more) == [first[-1] + 1]
    stored = library.select_notifications(start=first[0], limit=len(batch))
    assert [(n.id, n.originator_id, n.originator_version, n.topic, n.state) for n in stored] == [
        (position, e.originator_id, e.originator_version, e.topic, e.state)
        for position, e in zip(first, batch, strict=True)
    ]
    assert ours.select_events(ids[0]) == library.select_events(ids[0])


def test_a_version_clash_still_refuses_the_whole_save(pg_url: str, tmp_path: Path) -> None:
    ours, _ = recorders(pg_url, tmp_path)
    taken = uuid4()
    ours.insert_events([StoredEvent(taken, 1, "domain.t:T.E", b"{}")])
    fresh = uuid4()
    with pytest.raises(IntegrityError):
        ours.insert_events(
            [StoredEvent(fresh, 1, "domain.t:T.E", b"{}"), StoredEvent(taken, 1, "t:E", b"{}")]
        )
    assert ours.select_events(fresh) == []
    assert ours.max_notification_id() == 1


def test_the_factory_topic_names_this_factory() -> None:
    from eventsourcing.utils import resolve_topic

    from entrypoints.postgres_events import OkrPostgresFactory
    from entrypoints.settings import POSTGRES_FACTORY_TOPIC

    assert resolve_topic(POSTGRES_FACTORY_TOPIC) is OkrPostgresFactory
