"""Where an aggregate's events stand in the log: their notification ids (``position``).

The library loads an aggregate's events without their notification ids, and
the public shape (``projections/public_events.py``) carries each one's
position. Our recorders (``entrypoints/sqlite_events.py``,
``entrypoints/postgres_events.py``) answer them for a stretch of versions in
one query on the events table's primary key (``PositionReader``), so a page
of history costs one query more, however long the page.

Any other recorder (the in-memory one unit tests use) is answered by walking
the log's notifications: correct, and slow in proportion to the log.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable
from uuid import UUID

SCAN_CHUNK = 1_000


@runtime_checkable
class PositionReader(Protocol):
    """A recorder that reads the positions of an aggregate's events in one query."""

    def select_positions(self, originator_id: UUID, *, gt: int, lte: int) -> dict[int, int]:
        """``{version: notification id}`` of the aggregate's events with gt < version <= lte."""
        ...


def event_positions(recorder: Any, aggregate_id: UUID, versions: list[int]) -> dict[int, int]:
    """``{version: position}`` for these versions of the aggregate (one query with ours)."""
    if not versions:
        return {}
    low, high = min(versions) - 1, max(versions)
    if isinstance(recorder, PositionReader):
        found = recorder.select_positions(aggregate_id, gt=low, lte=high)
    else:
        found = _walked(recorder, aggregate_id, low, high)
    missing = [v for v in versions if v not in found]
    if missing:
        raise LookupError(f"no position for version(s) {missing} of {aggregate_id}")
    return found


def _walked(recorder: Any, aggregate_id: UUID, low: int, high: int) -> dict[int, int]:
    """The same answer from any application recorder, by reading the whole log."""
    found: dict[int, int] = {}
    start = 1
    while True:
        notifications = recorder.select_notifications(start, SCAN_CHUNK)
        for n in notifications:
            if n.originator_id == aggregate_id and low < n.originator_version <= high:
                found[n.originator_version] = n.id
        if len(notifications) < SCAN_CHUNK:
            return found
        start = notifications[-1].id + 1
