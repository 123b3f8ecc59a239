"""``okr_projection_lag_seconds``: the age of the oldest event a read model has not
applied yet, set after each batch; above 0 while a runner works through a backlog,
0 once it has caught up. The projection-lag alert of docs/operations.md rests on it."""

from __future__ import annotations

from pathlib import Path

from prometheus_client import REGISTRY

from entrypoints.bootstrap import build_runtime, read_models
from projections.follower import Follower
from tests.builders import World
from tests.conftest import embedded_settings


def test_lag_seconds_is_the_backlogs_age_then_zero(tmp_path: Path) -> None:
    runtime = build_runtime(embedded_settings(tmp_path))
    try:
        world = World(runtime.app)
        world.objective(world.cycle())  # a backlog of several events
        head = runtime.app.recorder.max_notification_id() or 0
        assert head >= 4
        follower = Follower(runtime.app, runtime.store, read_models(), batch_size=1)
        labels = {"model": "objectives", "partition": "0/1"}
        seen: list[float] = []

        def after_batch(_: int) -> None:
            seen.append(REGISTRY.get_sample_value("okr_projection_lag_seconds", labels) or 0.0)

        follower.catch_up(on_batch=after_batch)
        assert len(seen) >= 3
        assert all(value > 0 for value in seen[:-1]), seen  # behind: the backlog's age
        assert seen[-1] == 0, seen  # caught up
    finally:
        runtime.close()
