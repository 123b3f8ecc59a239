"""One reading of an objective's stored events, shared by history and the audit trail.

Both answer the same envelope for each event — its version, when, who, its
public type and its data as JSON-ready values — so it is read here once
(``recorded``), and the objective is replayed here once (``replay``): the
same aggregate code as the write side, event by event.

The public name of an event (``type`` in ``/history`` answers and in the audit
trail) is its class name, derived in one place (``event_type``): a renamed
class changes it here, and the tests that pin the names catch that.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import DomainEvent

from domain.objective import Objective

ENVELOPE = frozenset({"originator_id", "originator_version", "originator_topic", "timestamp"})
"""The library's fields of every event: said by ``Recorded`` itself, not in its data."""


PUBLIC_NAMES: dict[type, str] = {Objective.KeyResultCheckedIn: "CheckedIn"}
"""Public names that are not the class name: a class renamed keeps its public name."""

PUBLIC_FIELDS: dict[type, dict[str, str]] = {
    Objective.KeyResultCheckedIn: {"checked_in_at": "at"},
}
"""Public names of renamed fields (internal name → public): ``KeyResultCheckedIn``
version 2 renamed ``at`` to ``checked_in_at``; history still says ``at``."""


def event_type(event: object) -> str:
    """The public name of an event (or of an event class): its class name, unless renamed."""
    cls = event if isinstance(event, type) else type(event)
    return PUBLIC_NAMES.get(cls, cls.__name__)


@dataclass(frozen=True)
class Recorded:
    """One stored event as every reader shows it."""

    version: int
    at: datetime
    type: str
    actor: str | None
    data: dict[str, Any]


def recorded(event: object) -> Recorded:
    """The event's envelope and data, as history and the audit trail show them."""
    assert isinstance(event, DomainEvent), f"not a stored event: {event!r}"
    fields = {k: v for k, v in event.__dict__.items() if k not in ENVELOPE}
    actor = fields.pop("actor", None)
    renamed = PUBLIC_FIELDS.get(type(event), {})
    fields = {renamed.get(k, k): v for k, v in fields.items()}
    return Recorded(
        version=event.originator_version,
        at=event.timestamp,
        type=event_type(event),
        actor=actor,
        data=plain(fields),
    )


class Step:
    """One event of the replay: ``before`` is the objective as it was (None: not yet
    drafted), read what you need of it, then ``apply()`` gives the state after.

    The aggregate changes in place, so ``before`` is only the state before until
    ``apply`` runs.
    """

    __slots__ = ("_after", "before", "event")

    def __init__(self, event: Objective.Event, before: Objective | None) -> None:
        self.event = event
        self.before = before
        self._after: Objective | None = None

    def apply(self) -> Objective:
        if self._after is None:
            after = self.event.mutate(self.before)
            assert isinstance(after, Objective)
            self._after = after
        return self._after


def replay(events: Iterable[object]) -> Iterator[Step]:
    """The objective's events in order, each a ``Step`` over the same aggregate code as
    the write side (a step its reader does not apply is applied before the next)."""
    objective: Objective | None = None
    for event in events:
        assert isinstance(event, Objective.Event), f"not an objective event: {event!r}"
        step = Step(event, objective)
        yield step
        objective = step.apply()


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
