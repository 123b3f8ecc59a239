"""Snapshots of any version give the state a replay without snapshots gives (SPEC §11).

The objective's state changed shape in this release (state version 3: its key
results in shape 2, without the ``checked_in`` flag). A snapshot row stored in
the old shape (as the code before wrote it: state version 2, key results
without a shape and with ``checked_in``) and one taken by today's code must
both give the same aggregate and the same time-travel read as a replay from
the events alone; a snapshot this code cannot read (newer than the code, or a
key result of an unknown shape) is ignored, logged, and the aggregate replayed.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import StoredEvent

from commands.messages import LinkIssue
from domain.cycle import Cycle
from domain.issue import Issue
from domain.key_result_locator import KeyResultLocator
from domain.objective import Objective
from domain.team import Team
from entrypoints.bootstrap import Runtime, build_runtime
from entrypoints.settings import Settings
from projections.history import objective_at
from tests.builders import ADMIN, INTEGRATION, World, report


@pytest.fixture
def runtime(backend: Settings) -> Iterator[Runtime]:
    """No automatic snapshots: each test stores exactly the ones it is about."""
    rt = build_runtime(backend.model_copy(update={"snapshot_interval": 0}))
    try:
        yield rt
    finally:
        rt.close()


def replayed(rt: Runtime, aggregate_id: UUID, version: int | None = None) -> Any:
    """The aggregate from its events alone, never a snapshot."""
    aggregate = None
    for event in rt.app.events.get(aggregate_id, lte=version):
        aggregate = event.mutate(aggregate)
    return aggregate


def loaded(rt: Runtime, aggregate_id: UUID, version: int) -> Any:
    """Through the repository (snapshot + later events), bypassing its cache."""
    return rt.app.repository.get(aggregate_id, version=version)


def _state(stored: StoredEvent, rt: Runtime) -> dict[str, Any]:
    raw = stored.state
    if rt.app.mapper.compressor is not None:
        raw = rt.app.mapper.compressor.decompress(raw)
    decoded: dict[str, Any] = json.loads(raw)
    return decoded


def _row(rt: Runtime, like: StoredEvent, version: int, state: dict[str, Any]) -> StoredEvent:
    raw = json.dumps(state).encode()
    if rt.app.mapper.compressor is not None:
        raw = rt.app.mapper.compressor.compress(raw)
    return StoredEvent(like.originator_id, version, like.topic, raw)


def store_snapshot(rt: Runtime, aggregate_id: UUID, version: int, edit: Any = None) -> None:
    """A snapshot row at ``version``, as today's code writes it, then changed by ``edit``."""
    assert rt.app.snapshots is not None
    rt.app.take_snapshot(aggregate_id, version=version)
    recorder = rt.app.snapshots.recorder
    if edit is None:
        return
    taken = recorder.select_events(aggregate_id, gt=version - 1, lte=version)[0]
    state = _state(taken, rt)
    edit(state["state"])
    delete_snapshots(rt, aggregate_id)
    recorder.insert_events([_row(rt, taken, version, state)])


def delete_snapshots(rt: Runtime, aggregate_id: UUID) -> None:
    from entrypoints.snapshot_drop import drop_snapshots

    drop_snapshots(rt.app, only_ids=[aggregate_id])


def as_before_this_release(state: dict[str, Any]) -> None:
    """The state as the code before wrote it: version 2, key results in shape 1."""
    state["class_version"] = 2
    for kr in state["key_results"].values():
        data = kr["_data_"]
        del data["shape"]
        data["checked_in"] = data["last_check_in_at"] is not None


def build(rt: Runtime) -> tuple[World, UUID]:
    w = World(rt.app)
    cycle = w.cycle("tracking")
    objective = w.objective(cycle)
    pct = w.kr(objective, "percentage", title="Coverage")
    w.kr(objective, "numeric", title="Minutes", start=30, target=10)  # never checked in
    w.check_in(objective, pct, percent=40)
    w.check_in(objective, pct, percent=70, confidence=0.5)
    return w, objective


def same_reads(rt: Runtime, objective: UUID, version: int) -> None:
    from_store, from_events = loaded(rt, objective, version), replayed(rt, objective, version)
    assert vars(from_store) == vars(from_events)
    assert objective_at(rt.app, rt.store, objective, version=version) is not None
    document = objective_at(rt.app, rt.store, objective, version=version)
    live_read = replayed(rt, objective, version)
    assert document is not None and document["progress"] == live_read.progress()


def test_snapshots_before_and_after_the_state_change_read_like_a_replay(
    runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    w, objective = build(runtime)
    old_at = w.version(objective) - 1  # after the first check-in
    store_snapshot(runtime, objective, old_at, as_before_this_release)
    stored = runtime.app.snapshots.recorder.select_events(objective)  # type: ignore[union-attr]
    old_state = _state(stored[0], runtime)["state"]
    assert "class_version" in old_state and old_state["class_version"] == 2
    assert all("checked_in" in kr["_data_"] for kr in old_state["key_results"].values())

    pct = next(iter(w.obj(objective).key_results))
    w.check_in(objective, UUID(pct), percent=90)
    new_at = w.version(objective)
    runtime.app.take_snapshot(objective, version=new_at)
    w.check_in(objective, UUID(pct), percent=95)

    without = {
        v: objective_at(runtime.app, runtime.store, objective, version=v)
        for v in (old_at, new_at, new_at + 1)
    }
    with caplog.at_level(logging.WARNING, logger="commands.snapshots"):
        for version in range(old_at, w.version(objective) + 1):
            same_reads(runtime, objective, version)
    # Only the snapshot checker's records: the read side may log a retried batch meanwhile.
    ignored = [r for r in caplog.records if r.name == "commands.snapshots"]
    assert not ignored, "both snapshots are read (the old one upcast), none ignored"
    delete_snapshots(runtime, objective)
    for version, document in without.items():
        assert objective_at(runtime.app, runtime.store, objective, version=version) == document
    assert vars(loaded(runtime, objective, new_at + 1)) == vars(replayed(runtime, objective))


@pytest.mark.parametrize(
    "edit",
    [
        pytest.param(lambda s: s.update(class_version=99), id="newer-state-version"),
        pytest.param(
            lambda s: [kr["_data_"].update(shape=99) for kr in s["key_results"].values()],
            id="newer-key-result-shape",
        ),
        pytest.param(
            lambda s: [kr["_data_"].update(mood="sunny") for kr in s["key_results"].values()],
            id="unknown-key-result-field",
        ),
        pytest.param(lambda s: s.update(class_version="two"), id="garbled-version"),
    ],
)
def test_a_snapshot_this_code_cannot_read_is_ignored_and_logged(
    runtime: Runtime, edit: Any, caplog: pytest.LogCaptureFixture
) -> None:
    w, objective = build(runtime)
    at = w.version(objective)
    store_snapshot(runtime, objective, at, edit)
    with caplog.at_level(logging.WARNING, logger="commands.snapshots"):
        from_store = loaded(runtime, objective, at)
    assert vars(from_store) == vars(replayed(runtime, objective))
    assert any(
        "snapshot of" in r.getMessage() and "ignored" in r.getMessage() for r in caplog.records
    )


def test_every_aggregate_type_reads_the_same_from_a_snapshot(runtime: Runtime) -> None:
    """For each aggregate of a built history: snapshot + events == events alone."""
    w, objective = build(runtime)
    key_result = UUID(next(iter(w.obj(objective).key_results)))
    issues = w.kr(objective, "issues", title="Issues")
    runtime.app.link_issue(
        ADMIN, LinkIssue(objective, issues, tracker="github", issue_key="acme/app#1")
    )
    runtime.app.apply_issue_events(INTEGRATION, [report("e1", "in_progress", minutes=1)])
    runtime.app.apply_issue_events(INTEGRATION, [report("e2", "done", minutes=2)])
    w.check_in(objective, key_result, percent=80)
    team = w.team(managers=["ada"], members=["bob"], name="Core")
    ids = {
        row.originator_id
        for row in runtime.app.recorder.select_notifications(start=1, limit=10_000)
    }
    kinds: set[type] = set()
    for aggregate_id in ids:
        latest = replayed(runtime, aggregate_id)
        kinds.add(type(latest))
        for version in range(1, latest.version + 1):
            runtime.app.take_snapshot(aggregate_id, version=version)
            for at in range(version, latest.version + 1):
                assert vars(loaded(runtime, aggregate_id, at)) == vars(
                    replayed(runtime, aggregate_id, at)
                ), (type(latest).__name__, version, at)
    assert kinds == {Objective, Issue, Cycle, Team, KeyResultLocator}, (
        "every aggregate type is exercised"
    )
    assert team in ids
