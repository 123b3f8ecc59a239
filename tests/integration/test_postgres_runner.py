"""On PostgreSQL the projections run as their own process (`okr project`).

The API process writes and reads; a separate runner follows the log by
LISTEN/NOTIFY. Killing the runner loses nothing: it resumes from its position.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from commands.actor import Actor
from commands.messages import PlanCycle
from domain.values import TokenRole
from entrypoints.bootstrap import Runtime, build_runtime
from entrypoints.settings import Settings
from projections.cycles import list_cycles

pytestmark = pytest.mark.postgres

ADMIN = Actor("acme", "ada", TokenRole.ADMIN)


@pytest.fixture
def writer(pg_url: str, tmp_path: Path) -> Iterator[Runtime]:
    rt = build_runtime(Settings(database_url=pg_url, data_dir=tmp_path))
    try:
        yield rt
    finally:
        rt.close()


def start_runner(pg_url: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "OKR_DATABASE_URL": pg_url}
    return subprocess.Popen(
        [sys.executable, "-m", "entrypoints.cli", "project"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def plan(rt: Runtime, name: str) -> int:
    written = rt.app.plan_cycle(
        ADMIN,
        PlanCycle(
            name=name, start_date=date(2027, 1, 1), end_date=date(2027, 3, 31), cadence="quarter"
        ),
    )
    return written.position


def test_separate_runner_projects_and_resumes_after_sigkill(writer: Runtime, pg_url: str) -> None:
    runner = start_runner(pg_url)
    try:
        position = plan(writer, "Q1")
        assert writer.follower.wait_for(position, timeout=20), "runner did not catch up"
        assert [c["name"] for c in list_cycles(writer.store, "acme")] == ["Q1"]

        runner.send_signal(signal.SIGKILL)
        runner.wait()
        positions = [plan(writer, f"Q{n}") for n in (2, 3, 4)]

        runner = start_runner(pg_url)
        assert writer.follower.wait_for(positions[-1], timeout=20), (
            "restarted runner did not resume"
        )
        names = sorted(c["name"] for c in list_cycles(writer.store, "acme"))
        assert names == ["Q1", "Q2", "Q3", "Q4"]
    finally:
        runner.terminate()
        runner.wait(timeout=10)
