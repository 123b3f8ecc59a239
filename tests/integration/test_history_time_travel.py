"""History and time travel (SPEC §3): every event with its actor, and the state at
any version or moment, identical with and without snapshots."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest

from commands.actor import Actor
from commands.messages import (
    AddKeyResult,
    AdvanceCyclePhase,
    CheckIn,
    DraftObjective,
    FormTeam,
    PlanCycle,
    SetWeights,
)
from domain.objective import Objective
from domain.values import TokenRole
from entrypoints.bootstrap import Runtime, build_runtime
from entrypoints.settings import Settings
from projections.history import objective_at, objective_history, version_at
from projections.objective_document import objective_document

ADA = Actor("acme", "ada", TokenRole.ADMIN)


@pytest.fixture
def snapshotting(backend: Settings, tmp_path: Path) -> Iterator[Runtime]:
    """Snapshots every 3 events, so most versions are rebuilt from one."""
    rt = build_runtime(backend.model_copy(update={"snapshot_interval": 3}))
    rt.start_following()
    try:
        yield rt
    finally:
        rt.close()


def replay(rt: Runtime, objective_id: object, version: int) -> Objective:
    """Full replay from the first event, never a snapshot."""
    aggregate = None
    for event in rt.app.events.get(objective_id, lte=version):  # type: ignore[arg-type]
        aggregate = event.mutate(aggregate)
    assert isinstance(aggregate, Objective)
    return aggregate


def test_history_and_time_travel_match_full_replay(snapshotting: Runtime) -> None:
    rt = snapshotting
    app = rt.app
    cycle = app.plan_cycle(
        ADA,
        PlanCycle(
            name="Q", start_date=date(2026, 1, 1), end_date=date(2026, 12, 31), cadence="year"
        ),
    ).id
    app.advance_cycle_phase(ADA, AdvanceCyclePhase(cycle, "drafting"))
    team = app.form_team(ADA, FormTeam(name="Core", parent_id=None)).id
    objective = app.draft_objective(
        ADA, DraftObjective(cycle_id=cycle, title="Faster builds", level="team", owner_team_id=team)
    ).id
    pct = app.add_key_result(ADA, AddKeyResult(objective, title="Cache hits", mode="percentage"))
    num = app.add_key_result(
        ADA, AddKeyResult(objective, title="Build minutes", mode="numeric", start=30, target=10)
    )
    app.advance_cycle_phase(ADA, AdvanceCyclePhase(cycle, "tracking"))
    for value in (10, 20, 35, 50, 80):
        app.check_in(ADA, CheckIn(objective, pct.key_result_id, percent=value, status="on_track"))  # type: ignore[arg-type]
        app.check_in(
            ADA,
            CheckIn(
                objective,
                num.key_result_id,
                current=30 - value / 5,
                status="at_risk",  # type: ignore[arg-type]
            ),
        )
    last = app.set_weights(ADA, SetWeights(objective, {pct.key_result_id: 3.0}))  # type: ignore[dict-item]
    assert rt.wait_for(last.position)
    assert app.snapshots is not None
    assert list(app.snapshots.get(objective)), "the test must exercise snapshots"

    history = objective_history(app, objective)
    assert [e.version for e in history] == list(range(1, last.version + 1))
    assert history[0].type == "Drafted" and history[-1].type == "WeightsChanged"
    assert all(e.actor == "ada" for e in history)
    check_in = next(e for e in history if e.type == "CheckedIn")
    assert check_in.data["percent"] == 10.0 and check_in.data["status"] == "on_track"

    for version in range(1, last.version + 1):
        travelled = objective_at(app, rt.store, objective, version=version)
        assert travelled is not None
        expected = objective_document(replay(rt, objective, version))
        assert {k: v for k, v in travelled.items() if k != "expected_progress"} == expected
        moment = history[version - 1].occurred_at
        assert version_at(app, objective, moment) == version
        by_time = objective_at(app, rt.store, objective, as_of=moment)
        assert by_time == travelled

    before = history[0].occurred_at - timedelta(seconds=1)
    assert objective_at(app, rt.store, objective, as_of=before) is None
    assert objective_at(app, rt.store, objective, version=last.version + 1) is None
    final = objective_at(app, rt.store, objective, version=last.version)
    assert final is not None
    # weights 3 : 1 over progress 0.8 and (30-14)/(10-30) → 0.8
    assert final["progress"] == pytest.approx((3 * 0.8 + 1 * 0.8) / 4, abs=1e-6)
