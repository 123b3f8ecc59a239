"""One reading of an objective's stored events, shared by history and the audit trail.

Both answer the same envelope for each event — its version, when, who, its
public type and its public data — so it is read here once (``recorded``), and
the objective is replayed here once (``replay``): the same aggregate code as
the write side, event by event.

The public ``type`` and ``data`` of an event come from its one public
definition (``projections/public_events.py``), never from its class or
attribute names: a renamed class or attribute changes that module, not the
API. ``event_type`` and ``plain`` are re-exported for the readers that used
them from here.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from eventsourcing.domain import DomainEvent

from domain.objective import Objective
from projections.public_events import actor_of, definition_of, event_type, plain

__all__ = ["Recorded", "Step", "event_type", "plain", "recorded", "replay"]


@dataclass(frozen=True)
class Recorded:
    """One stored event as every reader shows it."""

    version: int
    at: datetime
    type: str
    schema_version: int
    actor: str | None
    data: dict[str, Any]


def recorded(event: object) -> Recorded:
    """The event's envelope and public data, as history and the audit trail show them."""
    assert isinstance(event, DomainEvent), f"not a stored event: {event!r}"
    definition = definition_of(event)
    return Recorded(
        version=event.originator_version,
        at=event.timestamp,
        type=definition.type,
        schema_version=definition.schema_version,
        actor=actor_of(event),
        data=plain(definition.data(event)),
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
