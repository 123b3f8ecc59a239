"""An objective's notes (the seed's communication records), read from its events.

Notes are ``NoteAdded`` events of the objective, read from the event store by
version range (not from the aggregate's state, which need not keep them), a
page at a time, without the personal notes the reader may not read.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import Application

from domain.objective import Objective
from projections.history import EventFilter, scan_events


def note_entry(event: Any) -> dict[str, Any]:
    occurred_at: datetime = event.timestamp
    return {
        "id": str(event.note_id),
        "topic": event.topic,
        "text": event.text,
        "author": event.actor,
        "occurred_at": occurred_at,
    }


def notes_page(
    app: Application[UUID], objective_id: UUID, readable: EventFilter, *, after: int, limit: int
) -> tuple[list[dict[str, Any]], int | None]:
    """One page of notes, oldest first, and the version to resume after (None: the end).

    ``readable``: the objective's events its reader may read (``readable_by``).
    """

    def keep(event: Any) -> bool:
        return isinstance(event, Objective.NoteAdded) and readable(event)

    events, resume = scan_events(app, objective_id, after=after, limit=limit, keep=keep)
    return [note_entry(event) for event in events], resume
