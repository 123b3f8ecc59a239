"""Audit queries on the event store itself: an objective's events, and its state
at any version or moment (time travel).

Time travel rebuilds the aggregate with ``repository.get(version=N)`` (snapshots
make that fast; results are identical with and without them) and renders it
with the same ``objective_document`` as the tree. An ``aligned`` KR reports
what progress history held at that time, since its value lives in other
aggregates.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application

from domain.cycle import Cycle
from domain.objective import Objective
from domain.values import ProgressMode
from projections.objective_document import objective_document, with_pace
from projections.objective_queries import progress_at
from projections.store import ViewStore

_ENVELOPE = {"originator_id", "originator_version", "originator_topic", "timestamp"}


@dataclass(frozen=True)
class HistoryEntry:
    version: int
    type: str
    occurred_at: datetime
    actor: str | None
    data: dict[str, Any]


def objective_history(app: Application[UUID], objective_id: UUID) -> list[HistoryEntry]:
    """Every event of the objective, oldest first, with who did it and what it carried."""
    entries = []
    for event in app.events.get(objective_id):
        fields = {k: v for k, v in event.__dict__.items() if k not in _ENVELOPE}
        actor = fields.pop("actor", None)
        entries.append(
            HistoryEntry(
                version=event.originator_version,
                type=type(event).__name__,
                occurred_at=event.timestamp,
                actor=actor,
                data=plain(fields),
            )
        )
    return entries


def version_at(app: Application[UUID], objective_id: UUID, moment: datetime) -> int | None:
    """The last version recorded at or before ``moment`` (None: it did not exist yet)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    found = None
    for event in app.events.get(objective_id):
        if event.timestamp > moment:
            break
        found = event.originator_version
    return found


def objective_at(
    app: Application[UUID],
    store: ViewStore,
    objective_id: UUID,
    *,
    version: int | None = None,
    as_of: datetime | None = None,
) -> dict[str, Any] | None:
    """The read shape at a past version or moment; None if it did not exist then."""
    if as_of is not None:
        version = version_at(app, objective_id, as_of)
        if version is None:
            return None
    try:
        objective = app.repository.get(objective_id, version=version)
    except AggregateNotFoundError:
        return None
    if not isinstance(objective, Objective) or (
        version is not None and objective.version != version
    ):
        return None
    moment = as_of or objective.modified_on
    aligned_ids = [
        kr.id for kr in objective.active_key_results() if kr.mode == ProgressMode.ALIGNED
    ]
    aligned = progress_at(store, str(objective.id), aligned_ids, moment)
    document = objective_document(objective, aligned)
    start, end = _cycle_dates(app, objective.cycle_id)
    return with_pace(document, start, end, moment)


def _cycle_dates(app: Application[UUID], cycle_id: UUID) -> tuple[date, date]:
    cycle = app.repository.get(cycle_id)
    assert isinstance(cycle, Cycle)
    return cycle.start_date, cycle.end_date


def plain(value: Any) -> Any:
    """Event data as JSON-ready values (UUIDs and times as strings)."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [plain(v) for v in value]
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value
