"""The public shape of every event (SPEC §11): one definition per event class, here only.

History, the audit trail and ``okr audit`` answer events in this shape, and
the feed, webhooks out and ``okr relay`` of §13 are meant to reuse it:
``public_event(event, position)`` takes one stored event (as the event store
loads it) and its position in the log and gives the JSON-ready dict::

    {"id", "type", "schema_version", "aggregate_id", "aggregate_version",
     "position", "occurred_at", "actor", "data"}

Each definition names the public ``type`` (the name clients have seen since
the first release: a renamed class keeps it, e.g. ``KeyResultCheckedIn`` is
``CheckedIn``), the ``schema_version`` of its ``data`` and a typed function
that builds ``data`` from the event's attributes under public field names.
A few classes are plumbing and never public (``INTERNAL_EVENTS``).
``schema_version`` is the version of the public ``data`` only; it is
independent of the class's ``class_version`` (the stored shape), so an
internal rename changes one line of a data function and neither the version
nor the API. mypy checks every attribute a data function reads, so a rename
that forgets this module fails the type check, and a class without a
definition fails ``tests/unit/test_public_events.py``.

Version 1 of every ``data`` is exactly what ``/history`` answered before the
shape was public, so no client has to change. Text values (note texts,
check-in notes, retrospective texts) pass through untouched: a sealed
personal text stays sealed here and is revealed, or shown erased, at the
response boundary.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeVar
from uuid import UUID, uuid5

from eventsourcing.domain import CanMutateAggregate

from domain import cycle as cycle_events
from domain import issue as issue_events
from domain import objective_events
from domain import team as team_events
from domain.cycle import Cycle
from domain.issue import Issue
from domain.key_result_locator import KeyResultLocator
from domain.objective import Objective
from domain.team import Team

Data = dict[str, Any]
E = TypeVar("E", bound=CanMutateAggregate[Any])

EVENT_ID_NAMESPACE = UUID("5b0c1f4e-7d8a-4c61-9a3e-2f6d8b1c0e15")
"""Fixed for ever: the public id of an event is derived from it (``event_id``)."""


@dataclass(frozen=True)
class PublicDefinition:
    """How one event class is shown to the world."""

    type: str
    schema_version: int
    data: Callable[[Any], Data]


PUBLIC_EVENTS: dict[type, PublicDefinition] = {}
"""Every event class's public definition, keyed by the class the store loads."""


def public(
    cls: type[E], name: str, schema_version: int = 1
) -> Callable[[Callable[[E], Data]], Callable[[E], Data]]:
    """Declares ``cls``'s public name, data version and data function (the decorated one)."""

    def register(build: Callable[[E], Data]) -> Callable[[E], Data]:
        assert cls not in PUBLIC_EVENTS, f"two public definitions of {cls.__qualname__}"
        PUBLIC_EVENTS[cls] = PublicDefinition(name, schema_version, build)
        return build

    return register


INTERNAL_EVENTS: frozenset[type] = frozenset({vars(KeyResultLocator)["Registered"]})
"""Event classes that are plumbing, not facts of the OKR domain, and never leave the
service: a key result's locator (``domain/key_result_locator.py``) is an index the
write side keeps; the key result's creation is public as ``KeyResultAdded``."""


def is_public(event: object) -> bool:
    """Whether the event (or class) is shown outside the service at all."""
    cls = event if isinstance(event, type) else type(event)
    return cls not in INTERNAL_EVENTS


def definition_of(event: object) -> PublicDefinition:
    """The public definition of an event or event class (the nearest declared class)."""
    cls = event if isinstance(event, type) else type(event)
    for candidate in cls.__mro__:
        found = PUBLIC_EVENTS.get(candidate)
        if found is not None:
            return found
    why = "is internal" if cls in INTERNAL_EVENTS else "has no public definition"
    raise LookupError(f"{cls.__qualname__} {why} (projections/public_events.py)")


def event_type(event: object) -> str:
    """The public ``type`` of an event or event class."""
    return definition_of(event).type


def event_id(aggregate_id: UUID, aggregate_version: int) -> UUID:
    """The public id of the event at this version of this aggregate.

    Derived (UUID 5) rather than the log position, so it is the same on every
    read, in every backend, and after the log is copied into another store
    (where positions would be new): a consumer may deduplicate on it for ever.
    """
    return uuid5(EVENT_ID_NAMESPACE, f"{aggregate_id}/{aggregate_version}")


def public_data(event: object) -> Data:
    """The event's ``data`` under its public field names, as JSON-ready values."""
    result: Data = plain(definition_of(event).data(event))
    return result


def actor_of(event: object) -> str | None:
    """Who did it (every event of ours carries ``actor``)."""
    actor = getattr(event, "actor", None)
    return None if actor is None else str(actor)


def public_event(event: Any, position: int) -> Data:
    """One stored event, at ``position`` in the log, in the public shape of SPEC §11."""
    definition = definition_of(event)
    aggregate_id: UUID = event.originator_id
    version: int = event.originator_version
    moment: datetime = event.timestamp
    return {
        "id": str(event_id(aggregate_id, version)),
        "type": definition.type,
        "schema_version": definition.schema_version,
        "aggregate_id": str(aggregate_id),
        "aggregate_version": version,
        "position": position,
        "occurred_at": moment.isoformat(),
        "actor": actor_of(event),
        "data": plain(definition.data(event)),
    }


def plain(value: Any) -> Any:
    """Values as JSON-ready ones (UUIDs and times as strings; texts untouched)."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [plain(v) for v in value]
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


# --- Objective -------------------------------------------------------------------


@public(Objective.Drafted, "Drafted")
def _drafted(e: objective_events.Drafted) -> Data:
    return {
        "organization_id": e.organization_id,
        "cycle_id": e.cycle_id,
        "title": e.title,
        "description": e.description,
        "level": e.level,
        "owner_team_id": e.owner_team_id,
        "owner_user_id": e.owner_user_id,
        "visibility": e.visibility,
        "aligned_to_objective_id": e.aligned_to_objective_id,
        "aligned_to_key_result_id": e.aligned_to_key_result_id,
        "aligned_parent_id": e.aligned_parent_id,
    }


@public(Objective.Edited, "Edited")
def _edited(e: objective_events.Edited) -> Data:
    # The keys of ``changes`` are the fields of PATCH /objectives/{id}.
    return {"changes": dict(e.changes)}


@public(Objective.Realigned, "Realigned")
def _realigned(e: objective_events.Realigned) -> Data:
    return {
        "objective_id": e.objective_id,
        "key_result_id": e.key_result_id,
        "parent_id": e.parent_id,
    }


@public(Objective.Archived, "Archived")
def _archived(e: objective_events.Archived) -> Data:
    return {}


@public(Objective.KeyResultAdded, "KeyResultAdded")
def _key_result_added(e: objective_events.KeyResultAdded) -> Data:
    return {
        "key_result_id": e.key_result_id,
        "title": e.title,
        "mode": e.mode,
        "weight": e.weight,
        "start": e.start,
        "target": e.target,
        "unit": e.unit,
        "milestones": list(e.milestones),
        "assignee_id": e.assignee_id,
        "participant_ids": list(e.participant_ids),
    }


@public(Objective.KeyResultEdited, "KeyResultEdited")
def _key_result_edited(e: objective_events.KeyResultEdited) -> Data:
    # The keys of ``changes`` are the fields of PATCH .../key-results/{kr}.
    return {"key_result_id": e.key_result_id, "changes": dict(e.changes)}


@public(Objective.KeyResultArchived, "KeyResultArchived")
def _key_result_archived(e: objective_events.KeyResultArchived) -> Data:
    return {"key_result_id": e.key_result_id}


@public(Objective.WeightsChanged, "WeightsChanged")
def _weights_changed(e: objective_events.WeightsChanged) -> Data:
    return {"weights": dict(e.weights)}


@public(Objective.KeyResultCheckedIn, "CheckedIn")
def _checked_in(e: objective_events.KeyResultCheckedIn) -> Data:
    return {
        "key_result_id": e.key_result_id,
        "percent": e.percent,
        "current": e.current,
        "milestones_done": None if e.milestones_done is None else list(e.milestones_done),
        "status": e.status,
        "confidence": e.confidence,
        "note": e.note,
        # Renamed ``checked_in_at`` in class version 2 (issue 15); public ``at`` stays.
        "at": e.checked_in_at,
    }


@public(Objective.IssueLinked, "IssueLinked")
def _issue_linked(e: objective_events.IssueLinked) -> Data:
    return {
        "key_result_id": e.key_result_id,
        "tracker": e.tracker,
        "issue_key": e.issue_key,
        "estimate": e.estimate,
        "url": e.url,
        "title": e.title,
        "status": e.status,
    }


@public(Objective.IssueUnlinked, "IssueUnlinked")
def _issue_unlinked(e: objective_events.IssueUnlinked) -> Data:
    return {"key_result_id": e.key_result_id, "tracker": e.tracker, "issue_key": e.issue_key}


@public(Objective.IssueStatusChanged, "IssueStatusChanged")
def _issue_status_changed(e: objective_events.IssueStatusChanged) -> Data:
    return {
        "key_result_id": e.key_result_id,
        "tracker": e.tracker,
        "issue_key": e.issue_key,
        "status": e.status,
        "estimate": e.estimate,
        "event_id": e.event_id,
    }


@public(Objective.NoteAdded, "NoteAdded")
def _note_added(e: objective_events.NoteAdded) -> Data:
    return {"note_id": e.note_id, "topic": e.topic, "text": e.text}


@public(Objective.RetrospectiveRecorded, "RetrospectiveRecorded")
def _retrospective_recorded(e: objective_events.RetrospectiveRecorded) -> Data:
    return {
        "scores": dict(e.scores),
        "problems": e.problems,
        "improvements": e.improvements,
        "next_focus": e.next_focus,
    }


# --- Issue (a tracker's issue) ---------------------------------------------------


@public(Issue.Registered, "Registered")
def _registered(e: issue_events.Registered) -> Data:
    return {"organization_id": e.organization_id, "tracker": e.tracker, "issue_key": e.issue_key}


@public(Issue.StatusReported, "StatusReported")
def _status_reported(e: issue_events.StatusReported) -> Data:
    # ``occurred_at`` here is the tracker's time of the change, not the envelope's.
    return {
        "event_id": e.event_id,
        "status": e.status,
        "raw_status": e.raw_status,
        "occurred_at": e.occurred_at,
        "title": e.title,
        "url": e.url,
        "estimate": e.estimate,
        "applied": e.applied,
    }


@public(Issue.Linked, "Linked")
def _linked(e: issue_events.Linked) -> Data:
    return {"objective_id": e.objective_id, "key_result_id": e.key_result_id}


@public(Issue.Unlinked, "Unlinked")
def _unlinked(e: issue_events.Unlinked) -> Data:
    return {"objective_id": e.objective_id, "key_result_id": e.key_result_id}


# --- Cycle and Team --------------------------------------------------------------


@public(Cycle.Planned, "Planned")
def _planned(e: cycle_events.Planned) -> Data:
    return {
        "organization_id": e.organization_id,
        "name": e.name,
        "start_date": e.start_date,
        "end_date": e.end_date,
        "cadence": e.cadence,
    }


@public(Cycle.PhaseAdvanced, "PhaseAdvanced")
def _phase_advanced(e: cycle_events.PhaseAdvanced) -> Data:
    return {"phase": e.phase}


@public(Team.Formed, "Formed")
def _formed(e: team_events.Formed) -> Data:
    return {"organization_id": e.organization_id, "name": e.name, "parent_id": e.parent_id}


@public(Team.MemberSet, "MemberSet")
def _member_set(e: team_events.MemberSet) -> Data:
    return {"user_id": e.user_id, "role": e.role}
