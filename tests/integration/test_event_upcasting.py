"""Events stored with an older class version load through their upcaster, on both backends.

``KeyResultCheckedIn`` is at class version 2 (``at`` became ``checked_in_at``).
Here an objective is written by today's code, then its events are copied raw
(``StoredEvent`` rows, as an older release stored them) under two other ids:
once with the check-ins as version 1 under the old topic
``domain.objective:Objective.CheckedIn``, once as version 1 under today's topic.
The copies must read exactly like the original: the aggregate, the history
(with its public field ``at``) and time travel by version and by moment.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import StoredEvent

from domain.objective import Objective
from entrypoints.bootstrap import Runtime, build_runtime
from entrypoints.settings import Settings
from projections.history import objective_at, objective_history
from tests.builders import World

OLD_TOPIC = "domain.objective:Objective.CheckedIn"
NEW_TOPIC = "domain.objective:Objective.KeyResultCheckedIn"


@pytest.fixture
def runtime(backend: Settings) -> Iterator[Runtime]:
    rt = build_runtime(backend.model_copy(update={"snapshot_interval": 0}))
    try:
        yield rt
    finally:
        rt.close()


def _decode(rt: Runtime, stored: StoredEvent) -> dict[str, Any]:
    state = stored.state
    if rt.app.mapper.compressor is not None:
        state = rt.app.mapper.compressor.decompress(state)
    decoded: dict[str, Any] = json.loads(state)
    return decoded


def _encode(rt: Runtime, state: dict[str, Any]) -> bytes:
    raw = json.dumps(state).encode()
    if rt.app.mapper.compressor is not None:
        raw = rt.app.mapper.compressor.compress(raw)
    return raw


def as_version_1(rt: Runtime, source: UUID, topic: str) -> UUID:
    """Copy ``source``'s stored rows under a new id, its check-ins as version 1 under ``topic``."""
    copy = uuid4()
    rows = []
    for stored in rt.app.recorder.select_events(source):
        state = _decode(rt, stored)
        if stored.topic == NEW_TOPIC:
            assert state.pop("class_version") == 2, "today's check-in is version 2"
            state["at"] = state.pop("checked_in_at")
            rows.append(StoredEvent(copy, stored.originator_version, topic, _encode(rt, state)))
        else:
            rows.append(StoredEvent(copy, stored.originator_version, stored.topic, stored.state))
    rt.app.recorder.insert_events(rows)
    return copy


def _without_id(document: dict[str, Any] | None, objective_id: UUID) -> str:
    assert document is not None
    return json.dumps(document, sort_keys=True, default=str).replace(str(objective_id), "ID")


def test_check_ins_stored_as_version_1_read_through_the_upcaster(runtime: Runtime) -> None:
    w = World(runtime.app)
    cycle = w.cycle("tracking")
    objective = w.objective(cycle)
    pct = w.kr(objective, "percentage", title="Coverage")
    num = w.kr(objective, "numeric", title="Minutes", start=30, target=10)
    w.check_in(objective, pct, percent=40, confidence=0.7, note="fine")
    w.check_in(objective, num, current=20, status="at_risk")
    w.check_in(objective, pct, percent=65)

    for topic in (OLD_TOPIC, NEW_TOPIC):
        copy = as_version_1(runtime, objective, topic)
        stored = [s for s in runtime.app.recorder.select_events(copy) if s.topic == topic]
        assert len(stored) == 3 and all(
            "at" in _decode(runtime, s) and "class_version" not in _decode(runtime, s)
            for s in stored
        ), "the copy holds version-1 check-ins"

        # The aggregate.
        original, upcast = w.obj(objective), w.obj(copy)
        assert isinstance(upcast, Objective)
        assert upcast.key_results == original.key_results
        assert (upcast.version, upcast.progress()) == (original.version, original.progress())
        check_ins = [e for e in w.events(copy) if isinstance(e, Objective.KeyResultCheckedIn)]
        assert [e.checked_in_at for e in check_ins] == [
            e.checked_in_at
            for e in w.events(objective)
            if isinstance(e, Objective.KeyResultCheckedIn)
        ]
        assert not any(hasattr(e, "at") for e in check_ins)

        # The history, public field names included.
        history = objective_history(runtime.app, copy)
        assert [(h.version, h.type, h.occurred_at, h.actor, h.data) for h in history] == [
            (h.version, h.type, h.occurred_at, h.actor, h.data)
            for h in objective_history(runtime.app, objective)
        ]
        assert [h.data["at"] for h in history if h.type == "CheckedIn"] == [
            e.checked_in_at.isoformat() for e in check_ins
        ]

        # Time travel, by version and by moment.
        for entry in history:
            for how in ({"version": entry.version}, {"as_of": entry.occurred_at}):
                assert _without_id(
                    objective_at(runtime.app, runtime.store, copy, **how), copy
                ) == _without_id(
                    objective_at(runtime.app, runtime.store, objective, **how), objective
                )
