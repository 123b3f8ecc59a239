"""The projection runner survives SIGKILL at any point: nothing lost, nothing counted twice.

A seeded history is written with no follower running. Then ``okr project``
runs as its own process and is killed with SIGKILL at random (seeded) moments,
at least ``KILLS`` times, while more commands keep arriving; each time it is
restarted, and the last run is left to catch up. The tables it leaves must
equal the same tables rebuilt from zero in-process (``projections.rebuild``):
nothing lost, nothing applied twice. (That both agree with the aggregates is
``test_projection_exactness``'s business.)
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from entrypoints.bootstrap import Runtime, build_runtime, read_models
from entrypoints.settings import Settings
from projections.rebuild import rebuild
from tests.generated_history import (
    GeneratedHistory,
    diff_snapshots,
    points_are_numbered,
    progress_history_ends_at_current,
    report,
    snapshot,
)

pytestmark = pytest.mark.postgres

EVENTS = int(os.environ.get("OKR_TEST_CRASH_EVENTS", "5000"))
SEED = int(os.environ.get("OKR_TEST_HISTORY_SEED", "20261124")) + 1
KILLS = 6
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def writer(pg_url: str, tmp_path: Path) -> Iterator[Runtime]:
    """Writes commands and reads tables; its own follower never runs."""
    runtime = build_runtime(Settings(database_url=pg_url, data_dir=tmp_path))
    try:
        yield runtime
    finally:
        runtime.close()


MARK = b"following the event log"


class Runner:
    """One ``okr project`` process; its output goes to a log file shared by all runs."""

    def __init__(self, pg_url: str, log: Path) -> None:
        self.log = log
        self.starts_before = log.read_bytes().count(MARK) if log.exists() else 0
        self.stream = log.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "entrypoints.cli", "project"],
            cwd=REPO,
            env={**os.environ, "OKR_DATABASE_URL": pg_url, "PYTHONUNBUFFERED": "1"},
            stdout=self.stream,
            stderr=subprocess.STDOUT,
        )

    def wait_following(self, timeout: float = 60.0) -> None:
        """Until it says it follows the log (its imports take a second or two)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"`okr project` exited early:\n{self.tail()}")
            if self.log.read_bytes().count(MARK) > self.starts_before:
                return
            time.sleep(0.02)
        pytest.fail(f"`okr project` did not start:\n{self.tail()}")

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)
        self.stream.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)
        self.stream.close()


class Writer(threading.Thread):
    """Extends the history in the background; re-raises its error on ``join``."""

    def __init__(self, history: GeneratedHistory, target_events: int) -> None:
        super().__init__(name="history-writer")
        self.history = history
        self.target_events = target_events
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.history.extend(self.target_events)
        except BaseException as error:
            self.error = error

    def join(self, timeout: float | None = None) -> None:
        super().join(timeout)
        if self.error is not None:
            raise self.error


def positions(runtime: Runtime) -> list[int]:
    return [runtime.follower.position(model) for model in runtime.follower.models]


def test_sigkilled_runner_resumes_exactly(writer: Runtime, pg_url: str, tmp_path: Path) -> None:
    rng = random.Random(SEED)
    started = time.perf_counter()
    history = GeneratedHistory(writer.app, SEED)
    history.extend(EVENTS)
    generated = time.perf_counter() - started
    assert positions(writer) == [0, 0, 0, 0], "no follower may have run yet"

    log = tmp_path / "okr-project.log"
    kills: list[tuple[float, list[int], int]] = []
    runner: Runner | None = None
    try:
        for _ in range(KILLS):
            runner = Runner(pg_url, log)
            runner.wait_following()
            # More commands arrive while the runner works, until it is killed.
            more = Writer(history, history.events + rng.randint(50, 400))
            more.start()
            # Mostly within its first batches; sometimes after several.
            pause = rng.uniform(0.05, 1.0) if rng.random() < 0.6 else rng.uniform(1.0, 4.0)
            time.sleep(pause)
            runner.kill()
            more.join()
            kills.append((round(pause, 2), positions(writer), history.events))

        runner = Runner(pg_url, log)
        runner.wait_following()
        last = history.events
        assert writer.follower.wait_for(last, timeout=300), (
            f"the restarted runner did not catch up with {last}:\n{runner.tail()}"
        )
    finally:
        if runner is not None:
            runner.stop()
    # At least one kill must have hit the runner in the middle of its work.
    assert any(min(at) < log_end for _, at, log_end in kills), kills
    live = snapshot(writer.store)

    for model in read_models():
        rebuild(writer.app, writer.store, model)
    rebuilt = snapshot(writer.store)
    problems = {
        "after kills vs rebuilt": diff_snapshots(live, rebuilt),
        "progress point numbering": points_are_numbered(live),
        "progress history ends at the current progress": progress_history_ends_at_current(live),
    }
    counts = {table: len(rows) for table, rows in live.items()}
    assert counts == {table: len(rows) for table, rows in rebuilt.items()}
    print(
        f"\ncrash: {generated:.1f}s to write {EVENTS}; {len(kills)} kills"
        f" (pause, positions, log end): {kills}; rows {counts}"
    )
    assert not any(problems.values()), report(problems)
