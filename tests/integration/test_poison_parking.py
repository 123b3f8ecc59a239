"""How the follower tells a poison event from a failing database, finds the event a
failing flush came from, parks an event of no knowable organization without
stopping any organization, answers a retry only when it runs, and how a rebuild
hands its parked events to the live read models. Both backends; the follower is
driven by hand (``catch_up``) where the test is about one step."""

from __future__ import annotations

from typing import Any, ClassVar
from uuid import uuid4

import pytest
from eventsourcing.persistence import OperationalError, StoredEvent
from prometheus_client import REGISTRY

import projections.follower as follower_module
from domain.values import Phase
from entrypoints.bootstrap import build_runtime, read_models
from entrypoints.settings import Settings
from projections.follower import Follower
from projections.parked import UNKNOWN_ORGANIZATION, parked_events
from projections.readmodel import ReadModel
from projections.store import Tx
from tests.builders import OTHER_ADMIN, World
from tests.generated_history import diff_snapshots, snapshot
from tests.poison_events import (
    UNKNOWN_TOPIC,
    Cli,
    kr_progress,
    position,
    unknown_topic_registered,
    write_unknown_event,
)


class Recording(ReadModel):
    """Remembers what it applied; ``fail`` decides, per position, what to raise."""

    name: ClassVar[str] = "recording"
    ddl: ClassVar[tuple[str, ...]] = ()

    def __init__(self, fail_apply: Any = None, fail_flush_on: int | None = None) -> None:
        self.fail_apply = fail_apply
        self.fail_flush_on = fail_flush_on
        self.batch: list[int] = []
        self.applied: list[int] = []

    def apply(self, tx: Tx, event: Any, position: int) -> None:
        if self.fail_apply is not None:
            self.fail_apply(position)
        self.batch.append(position)

    def flush(self, tx: Tx) -> None:
        if self.fail_flush_on in self.batch:
            raise ValueError("cannot write this batch")
        self.applied.extend(self.batch)
        self.batch = []

    def reset(self) -> None:
        self.batch = []


def parked_gauge(model: str) -> float | None:
    return REGISTRY.get_sample_value(
        "okr_projection_parked_events", {"model": model, "partition": "0/1"}
    )


def two_organizations(runtime: Any) -> tuple[World, World]:
    acme, globex = World(runtime.app), World(runtime.app, OTHER_ADMIN)
    acme.objective(acme.cycle(Phase.TRACKING))
    globex.objective(globex.cycle(Phase.TRACKING))
    return acme, globex


def test_a_database_error_is_retried_never_parked(
    backend: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(follower_module, "RETRY_PAUSE", 0.01)
    runtime = build_runtime(backend)
    failures = {"left": 5}  # more than PARK_AFTER

    def lost_connection(position: int) -> None:
        if failures["left"] > 0:
            failures["left"] -= 1
            raise OperationalError("server closed the connection unexpectedly")

    model = Recording(fail_apply=lost_connection)
    follower = Follower(runtime.app, runtime.store, [model])
    try:
        two_organizations(runtime)
        follower.start(poll_interval=0.05)
        assert follower.wait_for(position(runtime), timeout=30)
        assert model.applied == list(range(1, position(runtime) + 1))
        assert parked_events(runtime.store) == []
    finally:
        follower.stop()
        runtime.close()


def test_a_failing_flush_is_traced_to_its_event(backend: Settings) -> None:
    runtime = build_runtime(backend)
    try:
        acme, _ = two_organizations(runtime)
        poison = position(runtime) - 1  # globex's team, formed for its objective
        model = Recording(fail_flush_on=poison)
        follower = Follower(runtime.app, runtime.store, [model])
        follower.parking.park_after = 1
        follower.catch_up()
        parked = parked_events(runtime.store)
        assert [(p.model, p.organization_id, p.position) for p in parked] == [
            ("recording", "globex", poison)
        ]
        assert parked[0].error == "ValueError: cannot write this batch"
        # Everything before it; globex's objective after it waits with it.
        assert set(model.applied) == set(range(1, poison))
        acme.team(name="After")
        follower.catch_up()
        assert model.applied[-1] == position(runtime)
    finally:
        runtime.close()


def test_an_event_of_no_knowable_organization_stops_no_organization(backend: Settings) -> None:
    runtime = build_runtime(backend)
    try:
        acme, _ = two_organizations(runtime)
        stranger = uuid4()  # its first event does not decode: no organization is knowable
        runtime.app.recorder.insert_events([StoredEvent(stranger, 1, UNKNOWN_TOPIC, b"{}")])
        poison = position(runtime)
        cycle = acme.cycle(Phase.TRACKING, name="Q2")
        objective = acme.objective(cycle)
        kr = acme.kr(objective)
        acme.check_in(objective, kr, percent=30)
        runtime.follower.catch_up()
        parked = parked_events(runtime.store)
        assert {p.model for p in parked} == {m.name for m in runtime.follower.models}
        assert {(p.organization_id, p.aggregate_id, p.position) for p in parked} == {
            (UNKNOWN_ORGANIZATION, str(stranger), poison)
        }
        assert kr_progress(runtime, kr) not in (None, 0.0), "acme goes on, as does everyone"
    finally:
        runtime.close()


def test_a_retry_waits_for_a_projector_and_happens_when_one_runs(
    backend: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime = build_runtime(backend)
    try:
        acme = World(runtime.app)
        cycle = acme.cycle(Phase.TRACKING)
        poisoned, other = acme.objective(cycle), acme.objective(cycle, title="Other")
        kr = acme.kr(other)
        write_unknown_event(runtime, poisoned)
        acme.check_in(other, kr, percent=25)
        runtime.follower.catch_up()  # no projector runs after this
        assert len(parked_events(runtime.store)) == len(read_models())
        assert parked_gauge("objectives") == parked_gauge("teams") == 1

        okr = Cli(runtime.settings, monkeypatch)
        with unknown_topic_registered():
            code, out, _ = okr("projections", "retry", "--model", "objectives", "--wait", "0.2")
            assert code == 0
            assert "no projector took the retry within 0.2 s" in out
            assert "(retry requested)" in okr("projections", "parked")[1]
            assert kr_progress(runtime, kr) == 0.0

            runtime.follower.catch_up()  # a projector runs: the retry happens
            left = parked_events(runtime.store)
            assert {p.model for p in left} == {m.name for m in read_models()} - {"objectives"}
            assert kr_progress(runtime, kr) not in (None, 0.0)
            assert (parked_gauge("objectives"), parked_gauge("teams")) == (0, 1)
    finally:
        runtime.close()


def test_a_rebuild_keeps_what_is_parked_and_hands_it_to_the_live_models(
    backend: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime = build_runtime(backend)
    try:
        acme = World(runtime.app)
        cycle = acme.cycle(Phase.TRACKING)
        poisoned = acme.objective(cycle)
        parked_at = write_unknown_event(runtime, poisoned)
        acme.team(name="Late")
        runtime.follower.catch_up()
        before = parked_events(runtime.store)
        live = snapshot(runtime.store)

        code, _, err = Cli(runtime.settings, monkeypatch)("rebuild")  # as `okr rebuild`
        assert code == 0 and "4 event(s) parked" in err

        after = parked_events(runtime.store)
        assert [(p.model, p.organization_id, p.position) for p in after] == [
            (p.model, p.organization_id, p.position) for p in before
        ]
        assert {p.position for p in after} == {parked_at}
        assert diff_snapshots(live, snapshot(runtime.store)) == []
        # The rebuild's parks are filed under the generation it switched in, which the
        # live runner writes from its next batch on.
        assert not {p.lane for p in after} & {p.lane for p in before}
        acme.team(name="Later")
        runtime.follower.catch_up()
        models = runtime.follower.models
        assert {p.lane for p in parked_events(runtime.store)} == {
            runtime.follower.lane(m) for m in models
        }
    finally:
        runtime.close()
