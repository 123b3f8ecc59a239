"""``okr snapshots drop [TYPE]``: delete the snapshots of one aggregate type, or all.

Snapshots only make loading faster: without them every aggregate is replayed
from its events, and the next save past the interval takes a new one in the
current state version. Dropping them is how an operator gets rid of snapshots
of an old state shape (they are read correctly anyway, upcast or ignored:
``commands/snapshots.py``) or reclaims their space.

A snapshot row does not say its aggregate's type in a column (the type is in
its state), so the type is found by the aggregate's first event: every
aggregate is created by one event class (``CREATED``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Final
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.utils import get_topic

from domain.cycle import Cycle
from domain.issue import Issue
from domain.objective import Objective
from domain.team import Team

CREATED: Final[dict[str, type]] = {
    "objective": Objective.Drafted,
    "issue": Issue.Registered,
    "cycle": Cycle.Planned,
    "team": Team.Formed,
}
"""Each aggregate type (as ``okr snapshots drop`` names it) and the event that creates one."""


def drop_snapshots(
    app: Application[UUID], kind: str | None = None, only_ids: Iterable[UUID] | None = None
) -> int:
    """Delete the snapshots of aggregates of ``kind`` (None: every type), or of
    ``only_ids``; returns how many rows were deleted."""
    if app.snapshots is None:
        return 0
    snapshots: Any = app.snapshots.recorder
    events: Any = app.recorder
    postgres = hasattr(snapshots.datastore, "schema")
    mark = "%s" if postgres else "?"
    prefix = f'"{snapshots.datastore.schema}".' if postgres else ""
    table = f'{prefix}"{snapshots.events_table_name}"'
    where: list[str] = []
    params: list[Any] = []
    if kind is not None:
        topics = _created_topics(kind)
        where.append(
            "originator_id IN (SELECT originator_id FROM"
            f' {prefix}"{events.events_table_name}" WHERE originator_version = 1'
            f" AND topic IN ({', '.join(mark for _ in topics)}))"
        )
        params.extend(topics)
    if only_ids is not None:
        ids = [i if postgres else i.hex for i in only_ids]  # the library stores hex in SQLite
        where.append(f"originator_id IN ({', '.join(mark for _ in ids) or 'NULL'})")
        params.extend(ids)
    condition = f" WHERE {' AND '.join(where)}" if where else ""
    with snapshots.datastore.transaction(commit=True) as cursor:
        cursor.execute(f"SELECT COUNT(*) AS n FROM {table}{condition}", params)
        row = cursor.fetchone()
        count = int(row["n"] if postgres else row[0])
        cursor.execute(f"DELETE FROM {table}{condition}", params)
    return count


def _created_topics(kind: str) -> Sequence[str]:
    """Every topic the creating event of ``kind`` is stored under (old ones too)."""
    if kind not in CREATED:
        raise ValueError(f"unknown aggregate type {kind!r}: one of {', '.join(CREATED)}")
    return [get_topic(CREATED[kind])]
