"""Property-based tests of the write side: random command sequences against a model.

Each property drives the real commands (in-memory store) with a random
sequence and compares the aggregate with an independent model written here
with the plain SPEC formulas (no helper from domain.progress).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.application import project_aggregate
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from commands.messages import AlignObjective, ArchiveKeyResult, LinkIssue, SetWeights
from domain.errors import AlignmentCycle, Conflict, InvalidCommand
from domain.values import Phase
from tests.builders import ADMIN, INTEGRATION, World, memory_app, report

SETTINGS = settings(max_examples=75, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SEVERITY = {"on_track": 0, "at_risk": 1, "behind": 2}


def clamp(x: float) -> float:
    return min(1.0, max(0.0, x))


@dataclass
class ModelKR:
    mode: str
    weight: float = 1.0
    archived: bool = False
    status: str | None = None
    percent: float | None = None
    start: float = 0.0
    target: float = 1.0
    current: float = 0.0
    milestones: int = 0
    done: set[int] = field(default_factory=set)
    issues: dict[str, tuple[str | None, float]] = field(default_factory=dict)

    def progress(self) -> float:
        if self.mode == "percentage":
            return 0.0 if self.percent is None else clamp(self.percent / 100)
        if self.mode == "numeric":
            return clamp((self.current - self.start) / (self.target - self.start))
        if self.mode == "milestone":
            return len(self.done) / self.milestones if self.milestones else 0.0
        counted = [(s, e) for s, e in self.issues.values() if s != "cancelled"]
        total = sum(e for _, e in counted)
        return sum(e for s, e in counted if s == "done") / total if total else 0.0


def model_progress(krs: list[ModelKR]) -> float:
    live = [k for k in krs if not k.archived]
    if not live:
        return 0.0
    total = sum(k.weight for k in live)
    if total == 0:
        return sum(k.progress() for k in live) / len(live)
    return sum(k.weight * k.progress() for k in live) / total


def model_status(krs: list[ModelKR]) -> str:
    seen = [k.status for k in krs if not k.archived and k.status is not None]
    counted = [s for s in seen if s != "postponed"]
    if counted:
        return max(counted, key=SEVERITY.__getitem__)
    return "postponed" if seen else "on_track"


statuses = st.sampled_from(["on_track", "at_risk", "behind", "postponed"])
weights = st.one_of(st.just(0.0), st.floats(0, 10, allow_nan=False), st.integers(0, 5))
ops = st.lists(
    st.one_of(
        st.tuples(st.just("check_in"), st.integers(0, 3), statuses, st.floats(-50, 250)),
        st.tuples(st.just("weights"), st.dictionaries(st.integers(0, 3), weights, max_size=4)),
        st.tuples(st.just("archive"), st.integers(0, 3)),
        st.tuples(
            st.just("issue"),
            st.integers(0, 2),
            st.sampled_from(["todo", "in_progress", "done", "cancelled"]),
        ),
    ),
    max_size=25,
)


@SETTINGS
@given(
    ops=ops,
    start=st.integers(-100, 100),
    span=st.integers(-100, 100).filter(bool),
    milestones=st.integers(0, 4),
    estimates=st.lists(st.sampled_from([0.0, 1.0, 2.5, 8.0]), min_size=3, max_size=3),
)
def test_random_sequences_keep_progress_equal_to_an_independent_model(
    ops: list[tuple[Any, ...]], start: int, span: int, milestones: int, estimates: list[float]
) -> None:
    w = World(memory_app())
    cycle = w.cycle(Phase.DRAFTING)
    obj = w.objective(cycle)
    model = [
        ModelKR("percentage"),
        ModelKR("numeric", start=start, target=start + span, current=start),
        ModelKR("milestone", milestones=milestones),
        ModelKR("issues"),
    ]
    ids = [
        w.kr(obj, "percentage"),
        w.kr(obj, "numeric", start=start, target=start + span),
        w.kr(obj, "milestone", milestones=[f"m{i}" for i in range(milestones)]),
        w.kr(obj, "issues"),
    ]
    for n, estimate in enumerate(estimates):
        w.app.link_issue(
            ADMIN, LinkIssue(obj, ids[3], tracker="github", issue_key=f"i#{n}", estimate=estimate)
        )
        model[3].issues[f"i#{n}"] = (None, estimate)
    w.advance(cycle, Phase.TRACKING)

    for tick, op in enumerate(ops):
        kind = op[0]
        if kind == "issue":
            _, n, status = op
            w.app.report_issue_event(
                INTEGRATION, report(f"ev-{tick}", status, issue_key=f"i#{n}", minutes=tick)
            )
            if not model[3].archived:  # an archived KR's view may move; it counts nowhere
                model[3].issues[f"i#{n}"] = (status, model[3].issues[f"i#{n}"][1])
            continue
        if kind == "weights":
            named = {ids[i]: float(v) for i, v in op[1].items()}
            if any(model[i].archived for i in op[1]):
                with pytest.raises(Conflict):
                    w.app.set_weights(ADMIN, SetWeights(obj, named))
            else:
                w.app.set_weights(ADMIN, SetWeights(obj, named))
                for i, v in op[1].items():
                    model[i].weight = float(v)
            continue
        i = op[1]
        kr = model[i]
        if kr.archived:
            with pytest.raises(Conflict):
                if kind == "archive":
                    w.app.archive_key_result(ADMIN, ArchiveKeyResult(obj, ids[i]))
                else:
                    w.check_in(obj, ids[i], status=op[2], **_value(kr, op[3]))
            continue
        if kind == "archive":
            w.app.archive_key_result(ADMIN, ArchiveKeyResult(obj, ids[i]))
            kr.archived = True
            continue
        _, _, status, raw = op
        w.check_in(obj, ids[i], status=status, **_value(kr, raw))
        _apply(kr, raw)
        kr.status = status

    o = w.obj(obj)
    progress = o.progress()
    assert 0.0 <= progress <= 1.0
    assert progress == pytest.approx(model_progress(model), abs=1e-9)
    assert o.status() == model_status(model)
    for kr_id, kr in zip(ids, model, strict=True):
        assert o.key_result(kr_id).weight == kr.weight
        assert o.key_result(kr_id).archived == kr.archived
    replayed = project_aggregate(None, w.app.events.get(obj))
    assert replayed.key_results == o.key_results


def _value(kr: ModelKR, raw: float) -> dict[str, Any]:
    if kr.mode == "percentage":
        return {"percent": max(0.0, raw)}
    if kr.mode == "numeric":
        return {"current": raw}
    if kr.mode == "milestone":
        return {"milestones_done": _milestones(kr, raw)}
    return {}


def _milestones(kr: ModelKR, raw: float) -> list[int]:
    return [i for i in range(kr.milestones) if (int(abs(raw)) >> i) & 1]


def _apply(kr: ModelKR, raw: float) -> None:
    if kr.mode == "percentage":
        kr.percent = max(0.0, raw)
    elif kr.mode == "numeric":
        kr.current = raw
    elif kr.mode == "milestone":
        kr.done = set(_milestones(kr, raw))


# ---------------------------------------------------------------- alignment


@SETTINGS
@given(
    moves=st.lists(
        st.tuples(
            st.integers(0, 4),
            st.sampled_from(["objective", "key_result", "none"]),
            st.integers(0, 4),
        ),
        max_size=20,
    )
)
def test_random_alignments_never_make_a_cycle(moves: list[tuple[int, str, int]]) -> None:
    """The commands refuse exactly the moves that would make an objective its own ancestor."""
    w = World(memory_app())
    cycle = w.cycle(Phase.DRAFTING)
    team = w.team()
    objs = [w.objective(cycle, team_id=team, title=f"O{i}") for i in range(5)]
    krs = [w.kr(o) for o in objs]
    parent: dict[int, int | None] = dict.fromkeys(range(5))

    def ancestors(i: int | None) -> set[int]:
        seen: set[int] = set()
        while i is not None:
            seen.add(i)
            i = parent[i]
        return seen

    for child, how, target in moves:
        new_parent = None if how == "none" else target
        version = w.version(objs[child])
        args: dict[str, UUID] = {}
        if how == "objective":
            args = {"to_objective_id": objs[target]}
        elif how == "key_result":
            args = {"to_key_result_id": krs[target]}
        if new_parent is not None and child in ancestors(new_parent):
            with pytest.raises((AlignmentCycle, InvalidCommand)):
                w.app.align_objective(ADMIN, AlignObjective(objs[child], **args))
            assert w.version(objs[child]) == version
        else:
            w.app.align_objective(ADMIN, AlignObjective(objs[child], **args))
            parent[child] = new_parent

    for i, o in enumerate(objs):
        expected = parent[i]
        assert w.obj(o).parent_id == (None if expected is None else objs[expected])
        assert len(ancestors(i)) <= 5  # the walk ended: no cycle


# ------------------------------------------------------------- issue events


@SETTINGS
@given(
    deliveries=st.lists(
        st.tuples(
            st.integers(0, 6),  # event id: the same id on the same issue is a redelivery
            st.integers(0, 1),  # which issue
            st.sampled_from(["todo", "in_progress", "done", "cancelled"]),
            st.integers(0, 5),  # occurred_at, minutes
        ),
        max_size=20,
    ),
    batch=st.booleans(),
)
def test_issue_status_is_the_newest_first_delivery(
    deliveries: list[tuple[int, int, str, int]], batch: bool
) -> None:
    w = World(memory_app())
    cycle = w.cycle(Phase.DRAFTING)
    obj = w.objective(cycle)
    kr = w.kr(obj, "issues")
    for n in range(2):
        w.app.link_issue(ADMIN, LinkIssue(obj, kr, tracker="github", issue_key=f"i#{n}"))
    w.advance(cycle, Phase.TRACKING)

    reports = [
        report(f"ev-{eid}", status, issue_key=f"i#{n}", minutes=minute)
        for eid, n, status, minute in deliveries
    ]
    if batch:
        w.app.apply_issue_events(INTEGRATION, reports)
    else:
        for r in reports:
            w.app.report_issue_event(INTEGRATION, r)

    seen: set[tuple[int, int]] = set()  # the Issue aggregate remembers its own event ids
    state: dict[int, tuple[str | None, int]] = {0: (None, -1), 1: (None, -1)}
    for eid, n, status, minute in deliveries:
        if (n, eid) in seen:
            continue
        seen.add((n, eid))
        if minute >= state[n][1]:
            state[n] = (status, minute)
    issues = w.obj(obj).key_result(kr).issues
    for n in range(2):
        assert issues[f"github:i#{n}"]["status"] == state[n][0]
    counted = [s for s, _ in state.values() if s != "cancelled"]
    expected = sum(s == "done" for s in counted) / len(counted) if counted else 0.0
    assert math.isclose(w.obj(obj).progress(), expected, abs_tol=1e-9)
