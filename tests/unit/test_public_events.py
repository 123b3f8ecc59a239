"""Every event class has exactly one public definition, and each gives the public shape.

The classes are found from the domain package itself (every aggregate and its
event classes), so a new event class, or a new aggregate, without a public
definition fails here. Each definition is exercised on events stored by an
older release (``tests/fixtures/stored_events_v0.json``, every event type):
version 1 of every type's ``data`` is what ``/history`` answered then, field
for field, whatever the classes and attributes are called today.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
from pathlib import Path
from typing import Any
from uuid import UUID, uuid5

import pytest
from eventsourcing.domain import Aggregate, CanMutateAggregate
from eventsourcing.persistence import StoredEvent

import domain
from domain.objective import Objective
from projections.event_positions import event_positions
from projections.public_events import (
    EVENT_ID_NAMESPACE,
    INTERNAL_EVENTS,
    PUBLIC_EVENTS,
    definition_of,
    event_id,
    is_public,
    public_data,
    public_event,
)
from tests.builders import memory_app

FIXTURE = Path(__file__).parent.parent / "fixtures" / "stored_events_v0.json"

ENVELOPE_KEYS = [
    "id",
    "type",
    "schema_version",
    "aggregate_id",
    "aggregate_version",
    "position",
    "occurred_at",
    "actor",
    "data",
]

PUBLIC_FIELDS = {
    "Drafted": {
        "organization_id",
        "cycle_id",
        "title",
        "description",
        "level",
        "owner_team_id",
        "owner_user_id",
        "visibility",
        "aligned_to_objective_id",
        "aligned_to_key_result_id",
        "aligned_parent_id",
    },
    "Edited": {"changes"},
    "Realigned": {"objective_id", "key_result_id", "parent_id"},
    "Archived": set(),
    "KeyResultAdded": {
        "key_result_id",
        "title",
        "mode",
        "weight",
        "start",
        "target",
        "unit",
        "milestones",
        "assignee_id",
        "participant_ids",
    },
    "KeyResultEdited": {"key_result_id", "changes"},
    "KeyResultArchived": {"key_result_id"},
    "WeightsChanged": {"weights"},
    "CheckedIn": {
        "key_result_id",
        "percent",
        "current",
        "milestones_done",
        "status",
        "confidence",
        "note",
        "at",
    },
    "IssueLinked": {
        "key_result_id",
        "tracker",
        "issue_key",
        "estimate",
        "url",
        "title",
        "status",
    },
    "IssueUnlinked": {"key_result_id", "tracker", "issue_key"},
    "IssueStatusChanged": {
        "key_result_id",
        "tracker",
        "issue_key",
        "status",
        "estimate",
        "event_id",
    },
    "NoteAdded": {"note_id", "topic", "text"},
    "RetrospectiveRecorded": {"scores", "problems", "improvements", "next_focus"},
    "Registered": {"organization_id", "tracker", "issue_key"},
    "StatusReported": {
        "event_id",
        "status",
        "raw_status",
        "occurred_at",
        "title",
        "url",
        "estimate",
        "applied",
    },
    "Linked": {"objective_id", "key_result_id"},
    "Unlinked": {"objective_id", "key_result_id"},
    "Planned": {"organization_id", "name", "start_date", "end_date", "cadence"},
    "PhaseAdvanced": {"phase"},
    "Formed": {"organization_id", "name", "parent_id"},
    "MemberSet": {"user_id", "role"},
}
"""The documented public fields of every type (docs/read-side.md, "The public event shape")."""


def _aggregates() -> list[type]:
    """Every aggregate class the domain package declares."""
    found: list[type] = []
    for module_info in pkgutil.iter_modules(domain.__path__):
        module = importlib.import_module(f"domain.{module_info.name}")
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, Aggregate)
                and value is not Aggregate
                and value.__module__ == module.__name__
                and value not in found
            ):
                found.append(value)
    return found


def _event_classes(aggregate: type) -> list[type]:
    return [
        value
        for name, value in vars(aggregate).items()
        if isinstance(value, type)
        and issubclass(value, CanMutateAggregate)
        and name not in {"Event", "Created"}
    ]


ALL_CLASSES = [cls for aggregate in _aggregates() for cls in _event_classes(aggregate)]


PUBLIC_CLASSES = [cls for cls in ALL_CLASSES if cls not in INTERNAL_EVENTS]


def test_the_domain_has_its_aggregates_and_their_events() -> None:
    assert {a.__name__ for a in _aggregates()} == {
        "Objective",
        "Issue",
        "Cycle",
        "Team",
        "KeyResultLocator",  # an index of the write side: its one event is internal
    }
    assert len(PUBLIC_CLASSES) == 22
    assert {cls.__qualname__ for cls in INTERNAL_EVENTS} == {"KeyResultLocator.Registered"}
    assert set(ALL_CLASSES) >= INTERNAL_EVENTS


@pytest.mark.parametrize("cls", ALL_CLASSES, ids=lambda c: c.__qualname__)
def test_every_event_class_has_its_own_public_definition_or_is_internal(cls: type) -> None:
    if cls in INTERNAL_EVENTS:
        assert not is_public(cls) and cls not in PUBLIC_EVENTS
        with pytest.raises(LookupError, match="internal"):
            definition_of(cls)
        return
    assert is_public(cls)
    assert cls in PUBLIC_EVENTS, f"{cls.__qualname__}: add it to projections/public_events.py"
    assert PUBLIC_EVENTS[cls].schema_version == 1


def test_public_definitions_are_one_per_class_with_unique_types() -> None:
    assert set(PUBLIC_EVENTS) == set(PUBLIC_CLASSES)
    types = [d.type for d in PUBLIC_EVENTS.values()]
    assert len(types) == len(set(types)) == 22
    assert set(types) == set(PUBLIC_FIELDS)
    # The renamed class keeps the name clients know.
    assert definition_of(Objective.KeyResultCheckedIn).type == "CheckedIn"


def test_a_class_without_a_definition_is_refused_not_shown_by_its_name() -> None:
    class Unknown(Aggregate.Event):
        actor: str

    with pytest.raises(LookupError, match="no public definition"):
        definition_of(Unknown)


def _decoded(value: Any) -> Any:
    """A stored state's value as JSON (the transcoder's typed values as their text)."""
    if isinstance(value, dict):
        if set(value) == {"_type_", "_data_"}:
            if value["_type_"] == "uuid_hex":
                return str(UUID(value["_data_"]))
            return value["_data_"]
        return {k: _decoded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decoded(v) for v in value]
    return value


@pytest.fixture(scope="module")
def stored() -> tuple[list[dict[str, Any]], list[Any], list[int]]:
    """The fixture's events loaded in a fresh in-memory store, with their positions."""
    fixture = json.loads(FIXTURE.read_text())
    app = memory_app()
    records = fixture["events"]
    positions = app.recorder.insert_events(
        [
            StoredEvent(
                originator_id=UUID(r["originator_id"]),
                originator_version=r["originator_version"],
                topic=r["topic"],
                state=json.dumps(r["state"]).encode(),
            )
            for r in records
        ]
    )
    assert positions is not None
    events = [
        next(iter(app.events.get(UUID(r["originator_id"]), gt=r["originator_version"] - 1)))
        for r in records
    ]
    return records, events, list(positions)


def test_each_definition_gives_the_data_older_releases_answered(
    stored: tuple[list[dict[str, Any]], list[Any], list[int]],
) -> None:
    records, events, positions = stored
    seen = set()
    for record, event, position in zip(records, events, positions, strict=True):
        shown = public_event(event, position)
        seen.add(type(event))
        assert list(shown) == ENVELOPE_KEYS
        state = record["state"]
        expected_data = {
            k: _decoded(v)
            for k, v in state.items()
            if k not in {"actor", "timestamp", "originator_topic"}
        }
        assert shown["data"] == expected_data, shown["type"]
        assert set(shown["data"]) == PUBLIC_FIELDS[shown["type"]]
        assert shown["data"] == public_data(event)
        assert shown["schema_version"] == 1
        assert shown["actor"] == state["actor"]
        assert shown["occurred_at"] == _decoded(state["timestamp"])
        assert shown["aggregate_id"] == record["originator_id"]
        assert shown["aggregate_version"] == record["originator_version"]
        assert shown["position"] == position
        assert shown["id"] == str(
            uuid5(EVENT_ID_NAMESPACE, f"{record['originator_id']}/{record['originator_version']}")
        )
        json.dumps(shown)  # JSON-ready as it is
    assert seen == set(PUBLIC_CLASSES), "the fixture exercises every definition"


def test_the_history_types_are_those_older_releases_answered(
    stored: tuple[list[dict[str, Any]], list[Any], list[int]],
) -> None:
    fixture = json.loads(FIXTURE.read_text())
    objective = fixture["expected"]["ids"]["objective"]
    _, events, positions = stored
    shown = [public_event(e, p) for e, p in zip(events, positions, strict=True)]
    mine = [s for s in shown if s["aggregate_id"] == objective]
    assert [{k: s[k] for k in ("type", "actor", "data")} for s in mine] == [
        {k: h[k] for k in ("type", "actor", "data")} for h in fixture["expected"]["history"]
    ]


def test_ids_are_stable_and_unique_per_stored_event(
    stored: tuple[list[dict[str, Any]], list[Any], list[int]],
) -> None:
    _, events, positions = stored
    first = [public_event(e, p)["id"] for e, p in zip(events, positions, strict=True)]
    again = [public_event(e, p + 1000)["id"] for e, p in zip(events, positions, strict=True)]
    assert first == again  # the id does not depend on the position
    assert len(set(first)) == len(first)
    assert event_id(UUID(int=1), 2) != event_id(UUID(int=2), 1)


def test_a_renamed_attribute_keeps_its_public_field() -> None:
    """The check-in's moment was the attribute ``at`` (class version 1) and is
    ``checked_in_at`` since issue 15; its public field is ``at`` all the same."""
    event = _check_in()
    assert "at" not in vars(event)
    assert "checked_in_at" not in public_data(event)
    assert public_data(event)["at"] == "2026-02-03T04:05:06+00:00"


def test_texts_pass_through_untouched() -> None:
    """A sealed personal text is revealed at the response boundary, not here."""
    sealed = "okr-sealed:1:" + "A" * 5000
    event = _check_in(note=sealed)
    assert public_data(event)["note"] == sealed


def _check_in(note: str | None = "on track") -> Any:
    from datetime import UTC, datetime

    from domain.values import KeyResultStatus

    return Objective.KeyResultCheckedIn(
        originator_id=UUID(int=7),
        originator_version=3,
        timestamp=datetime(2026, 2, 3, 5, 0, tzinfo=UTC),
        key_result_id=UUID(int=8),
        percent=40.0,
        current=None,
        milestones_done=None,
        status=KeyResultStatus.ON_TRACK.value,
        confidence=0.5,
        note=note,
        checked_in_at=datetime(2026, 2, 3, 4, 5, 6, tzinfo=UTC),
        actor="alice",
    )


def test_positions_from_any_recorder_are_the_notification_ids(
    stored: tuple[list[dict[str, Any]], list[Any], list[int]],
) -> None:
    """The in-memory store has no one-query reader: the log walk answers the same."""
    app = memory_app()
    records, _, _ = stored
    inserted = app.recorder.insert_events(
        [
            StoredEvent(
                originator_id=UUID(r["originator_id"]),
                originator_version=r["originator_version"],
                topic=r["topic"],
                state=json.dumps(r["state"]).encode(),
            )
            for r in records
        ]
    )
    assert inserted is not None
    expected = {
        r["originator_version"]: position
        for r, position in zip(records, inserted, strict=True)
        if r["originator_id"] == records[-1]["originator_id"]
    }
    aggregate = UUID(records[-1]["originator_id"])
    assert event_positions(app.recorder, aggregate, sorted(expected)) == expected
    with pytest.raises(LookupError):
        event_positions(app.recorder, aggregate, [max(expected) + 1])
