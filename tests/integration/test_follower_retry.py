"""The follower retries a failing batch (tenacity) until it succeeds, skipping nothing,
and a stop ends its pause between tries at once."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path
from typing import Any, ClassVar

import pytest
from prometheus_client import REGISTRY

import projections.follower as follower_module
from domain.cycle import Cycle
from entrypoints.bootstrap import build_runtime
from projections.follower import Follower
from projections.readmodel import ReadModel
from projections.store import Tx
from tests.conftest import embedded_settings


class FlakyModel(ReadModel):
    """Fails its first ``failures`` batches, then counts the events it applied."""

    name: ClassVar[str] = "flaky"
    ddl: ClassVar[tuple[str, ...]] = ()

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.applied: list[int] = []

    def apply(self, tx: Tx, event: Any, position: int) -> None:
        if self.failures > 0:
            self.failures -= 1
            raise RuntimeError("this batch fails")
        self.applied.append(position)


def _plan_cycle(runtime: Any) -> None:
    cycle = Cycle.plan(
        organization_id="acme",
        name="Q1",
        start_date=date(2026, 1, 1),
        end_date=date(2026, 3, 31),
        cadence="quarter",
        actor="admin",
    )
    runtime.app.save(cycle)


def test_a_failing_batch_is_retried_until_it_succeeds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(follower_module, "RETRY_PAUSE", 0.05)
    runtime = build_runtime(embedded_settings(tmp_path))
    model = FlakyModel(failures=2)
    follower = Follower(runtime.app, runtime.store, [model])
    failed_before = REGISTRY.get_sample_value(
        "okr_projection_failed_batches_total", {"partition": "0/1"}
    )
    try:
        _plan_cycle(runtime)
        follower.start(poll_interval=0.05)
        assert follower.wait_for(1, timeout=10)
        assert model.applied == [1]  # applied once, after two rolled-back tries
        failed = REGISTRY.get_sample_value(
            "okr_projection_failed_batches_total", {"partition": "0/1"}
        )
        assert failed == (failed_before or 0) + 2, "each rolled-back try is counted"
        deadline = time.monotonic() + 5
        while follower.error is not None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert follower.error is None
    finally:
        follower.stop()
        runtime.close()


def test_a_stop_ends_the_pause_between_tries(tmp_path: Path) -> None:
    runtime = build_runtime(embedded_settings(tmp_path))
    model = FlakyModel(failures=1_000_000)
    follower = Follower(runtime.app, runtime.store, [model])
    try:
        _plan_cycle(runtime)
        follower.start(poll_interval=0.05)
        deadline = time.monotonic() + 5
        while follower.error is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert isinstance(follower.error, RuntimeError)
        started = time.monotonic()
        follower.stop()
        assert time.monotonic() - started < follower_module.RETRY_PAUSE
        assert follower._thread is not None and not follower._thread.is_alive()
    finally:
        runtime.close()
