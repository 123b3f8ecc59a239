"""Reading snapshots safely: one of a shape this code cannot read is ignored, never misread.

A snapshot is a cache of an aggregate's state at a version. The library reads
the latest one and upcasts it (``upcast_vN_vN+1`` on the aggregate class) when
it is older than the class; but a snapshot *newer* than the code (written by a
later release, then rolled back) would be read with the stale shape, and one
whose state cannot be decoded or upcast (a key result of an unknown shape,
``domain/key_result.py``) would fail every load of that aggregate.

``SnapshotCheckingRepository`` loads the latest snapshot, checks its version
and builds the aggregate from it in a ``try``; whatever goes wrong, it logs
why and replays the aggregate from its events alone, which is always right
(snapshots only make loading faster). Every aggregate type goes through it.
Errors of the database itself are not swallowed: they fail the load as
before.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any, cast
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, ProjectorFunction, Repository
from eventsourcing.domain import (
    BaseAggregate,
    CanSnapshotAggregate,
    DomainEventProtocol,
    TMutableOrImmutableAggregate,
)
from eventsourcing.persistence import PersistenceError
from eventsourcing.utils import resolve_topic

log = logging.getLogger(__name__)


class UnreadableSnapshot(Exception):
    """A snapshot this code must not read; the aggregate is replayed from events."""


def from_snapshot(snapshot: object) -> BaseAggregate[UUID]:
    """The aggregate a snapshot holds, upcast; ``UnreadableSnapshot`` when it cannot be."""
    if not isinstance(snapshot, CanSnapshotAggregate):
        raise UnreadableSnapshot(f"not a snapshot: {type(snapshot).__name__}")
    try:
        cls = resolve_topic(snapshot.topic)
    except Exception as error:  # a class renamed without registering its old topic
        raise UnreadableSnapshot(f"its aggregate class is unknown: {error}") from error
    stored = snapshot.state.get("class_version", 1)
    current = getattr(cls, "class_version", 1)
    if not isinstance(stored, int) or stored > current:
        raise UnreadableSnapshot(
            f"it is of state version {stored!r}, newer than this code's {current}"
        )
    try:
        aggregate = snapshot.mutate(None)
    except Exception as error:  # an upcaster that cannot read this state
        raise UnreadableSnapshot(f"it cannot be upcast: {error!r}") from error
    return cast(BaseAggregate[UUID], aggregate)


class SnapshotCheckingRepository(Repository[UUID]):
    """The library's repository, but a snapshot it cannot trust is ignored and logged.

    It replaces ``Repository._reconstruct_aggregate`` (the one place the library
    reads snapshots, for the latest state and for time travel by version).
    """

    def _reconstruct_aggregate(
        self,
        aggregate_id: UUID,
        version: int | None,
        projector_func: ProjectorFunction[TMutableOrImmutableAggregate, Any],
    ) -> TMutableOrImmutableAggregate:
        initial = self._latest_snapshot(aggregate_id, version)
        events = self.event_store.get(
            originator_id=aggregate_id,
            gt=None if initial is None else initial.version,
            lte=version,
        )
        aggregate = projector_func(
            cast("TMutableOrImmutableAggregate | None", initial),
            cast("Iterable[DomainEventProtocol[Any]]", events),
        )
        if aggregate is None:
            raise AggregateNotFoundError(
                f"Aggregate {aggregate_id!r} version {version!r} not found."
            )
        return aggregate

    def _latest_snapshot(self, aggregate_id: UUID, version: int | None) -> Any:
        """The aggregate from its latest snapshot at or before ``version``, or None."""
        if self.snapshot_store is None:
            return None
        try:
            found = list(
                self.snapshot_store.get(originator_id=aggregate_id, desc=True, limit=1, lte=version)
            )
            return from_snapshot(found[0]) if found else None
        except PersistenceError:
            raise
        except Exception as error:  # undecodable state, unknown shape, failed upcast
            log.warning(
                "snapshot of %s ignored, replaying it from its events: %s", aggregate_id, error
            )
            return None
