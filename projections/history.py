"""Audit queries on the event store itself: an objective's events, and its state
at any version or moment (time travel).

History is read a page at a time by version range (``events.get(gt=, limit=)``),
never the whole log at once, and without the notes its reader may not read
(``domain/visibility.py``, ``may_read_note``). Each entry is the event in the
public shape of SPEC §11 (``projections/public_events.py``) plus ``version``,
the name §7 gave ``aggregate_version``; the positions of a page's events are
read in one query (``projections/event_positions.py``).

Time travel rebuilds the aggregate with ``repository.get(version=N)`` (snapshots
make that fast; results are identical with and without them) and renders it
with the same ``objective_document`` as the tree. An ``aligned`` KR reports
what progress history held at that time, since its value lives in other
aggregates.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import DomainEvent

from domain.cycle import Cycle
from domain.objective import Objective
from domain.values import ProgressMode
from domain.visibility import Viewer, may_read_note
from projections.event_positions import event_positions
from projections.objective_document import objective_document, with_pace
from projections.objective_queries import progress_at
from projections.public_events import plain, public_event
from projections.store import ViewStore

__all__ = [
    "HistoryEntry",
    "history_entries",
    "history_entry",
    "history_page",
    "may_read_event",
    "objective_at",
    "objective_history",
    "plain",
    "readable_by",
    "scan_events",
    "version_at",
]


@dataclass(frozen=True)
class HistoryEntry:
    """An event as ``/history`` answers it: the public shape, and ``version`` (SPEC §7)."""

    id: str
    type: str
    schema_version: int
    aggregate_id: str
    aggregate_version: int
    position: int
    occurred_at: datetime
    actor: str | None
    data: dict[str, Any]
    version: int


SCAN_LIMIT = 5_000
"""Events one page reads at most: a page over a stretch of events its reader may not
read (another person's appraisal notes) ends early, with a cursor, rather than
reading on without bound."""

EventFilter = Callable[[Any], bool]


def history_entry(event: Any, position: int) -> HistoryEntry:
    """The event, at ``position`` in the log, as ``/history`` answers it."""
    shown = public_event(event, position)
    return HistoryEntry(
        **{**shown, "occurred_at": event.timestamp, "version": shown["aggregate_version"]}
    )


def history_entries(
    app: Application[UUID], objective_id: UUID, events: list[Any]
) -> list[HistoryEntry]:
    """These events of the objective (in version order) as history entries, their
    positions read in one query."""
    versions = [event.originator_version for event in events]
    positions = event_positions(app.recorder, objective_id, versions)
    return [history_entry(event, positions[event.originator_version]) for event in events]


def objective_history(app: Application[UUID], objective_id: UUID) -> list[HistoryEntry]:
    """Every event of the objective, oldest first, with who did it and what it carried
    (everything: for operators and tests; readers get ``history_page``)."""
    return history_entries(app, objective_id, list(app.events.get(objective_id)))


def readable_by(viewer: Viewer, objective: Objective) -> EventFilter:
    """The objective's events this viewer may read: all but personal notes not for them.

    The caller has checked that the viewer sees the objective at all.
    """

    def readable(event: Any) -> bool:
        return may_read_event(viewer, objective, event)

    return readable


def may_read_event(viewer: Viewer, objective: Objective, event: Any) -> bool:
    """Every event of an objective the viewer sees is readable, but a personal note."""
    if not isinstance(event, Objective.NoteAdded):
        return True
    return may_read_note(
        viewer,
        topic=event.topic,
        author=event.actor,
        owner_user_id=objective.owner_user_id,
        owner_team_id=None if objective.owner_team_id is None else str(objective.owner_team_id),
    )


def scan_events(
    app: Application[UUID],
    objective_id: UUID,
    *,
    after: int,
    limit: int,
    keep: EventFilter,
    scan_limit: int = SCAN_LIMIT,
) -> tuple[list[Any], int | None]:
    """Up to ``limit`` events after version ``after`` that ``keep`` accepts, and the
    version to resume after (None: the log ends here).

    Reads the log in chunks by version range, so memory holds one chunk, and
    stops after ``scan_limit`` events even if the page is not full.
    """
    found: list[Any] = []
    last = after
    scanned = 0
    chunk = limit + 1
    while True:
        events = list(app.events.get(objective_id, gt=last, limit=chunk))
        for event in events:
            if keep(event):
                if len(found) == limit:
                    return found, last  # one more exists: the next page starts at it
                found.append(event)
            last = event.originator_version
            scanned += 1
        if len(events) < chunk:
            return found, None
        if scanned >= scan_limit:
            return found, last


def history_page(
    app: Application[UUID], objective_id: UUID, keep: EventFilter, *, after: int, limit: int
) -> tuple[list[HistoryEntry], int | None]:
    """One page of the objective's history: entries and the version to resume after."""
    events, resume = scan_events(app, objective_id, after=after, limit=limit, keep=keep)
    return history_entries(app, objective_id, events), resume


def version_at(app: Application[UUID], objective_id: UUID, moment: datetime) -> int | None:
    """The last version recorded at or before ``moment`` (None: it did not exist yet)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    found = None
    for event in app.events.get(objective_id):
        assert isinstance(event, DomainEvent)
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
        objective: object = app.repository.get(objective_id, version=version)
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
    cycle: object = app.repository.get(cycle_id)
    assert isinstance(cycle, Cycle)
    return cycle.start_date, cycle.end_date
