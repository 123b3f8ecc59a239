"""Partitioned runners and rebuild jobs as real processes on PostgreSQL (SPEC §10).

On the generated history (``OKR_TEST_HISTORY_EVENTS``, 20,000 by default, five
organizations that fall in both shares of two partitions):

- ``okr rebuild --jobs 2 --partitions 2`` (two job processes, then the final
  catch-up and the switch) leaves tables equal, row for row, to one runner's;
- two ``okr project --partitions 2 --partition 0|1`` processes then follow
  what is written next, and their tables equal one runner's again;
- an ``okr rebuild`` SIGKILLed inside its switch transaction leaves the served
  tables as they were, and the next ``okr rebuild`` completes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from entrypoints.bootstrap import Runtime, build_runtime, read_models
from entrypoints.settings import Settings
from projections.generations import POSITIONS, summary
from projections.organizations import partition_of
from projections.rebuild import rebuild
from projections.switch import HOLD_ENV
from tests.generated_history import GeneratedHistory, diff_snapshots, report, snapshot

pytestmark = pytest.mark.postgres

EVENTS = int(os.environ.get("OKR_TEST_HISTORY_EVENTS", "20000"))
SEED = int(os.environ.get("OKR_TEST_HISTORY_SEED", "20261124")) + 7
REPO = Path(__file__).resolve().parents[2]
WAIT = 300.0


@pytest.fixture
def writer(pg_url: str, tmp_path: Path) -> Iterator[Runtime]:
    """Writes commands and reads tables; its own follower never runs by itself."""
    runtime = build_runtime(Settings(database_url=pg_url, data_dir=tmp_path))
    try:
        yield runtime
    finally:
        runtime.close()


def okr_env(pg_url: str, **extra: str) -> dict[str, str]:
    return {**os.environ, "OKR_DATABASE_URL": pg_url, "PYTHONUNBUFFERED": "1", **extra}


def okr(pg_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "entrypoints.cli", *args],
        cwd=REPO,
        env=okr_env(pg_url),
        capture_output=True,
        text=True,
        timeout=WAIT * 2,
        check=False,
    )


def same_tables(label: str, a: object, b: object) -> None:
    problems = {label: diff_snapshots(a, b)}  # type: ignore[arg-type]
    assert not any(problems.values()), report(problems)


def share_positions(pg_url: str) -> dict[tuple[str, int], int]:
    with psycopg.connect(pg_url) as connection:
        rows = connection.execute(
            f"SELECT p.model, p.part, p.position FROM {POSITIONS} p JOIN okr_rm_generations g"
            " ON g.model = p.model AND g.generation = p.generation WHERE g.state = 'serving'"
        ).fetchall()
    return {(model, part): position for model, part, position in rows}


def test_two_partition_runners_and_a_rebuild_in_two_jobs_keep_one_runners_tables(
    writer: Runtime, pg_url: str, tmp_path: Path
) -> None:
    history = GeneratedHistory(writer.app, SEED, organizations=5)
    assert {partition_of(org, 2) for org in history.organizations} == {0, 1}
    history.extend(EVENTS)
    rebuild(writer.app, writer.store, read_models())  # one runner's tables, in-process
    one_runner = snapshot(writer.store)

    done = okr(pg_url, "rebuild", "--jobs", "2", "--partitions", "2")
    assert done.returncode == 0, done.stderr[-3000:]
    same_tables("rebuilt by two jobs vs by one runner", one_runner, snapshot(writer.store))
    assert {entry["partitions"] for entry in summary(writer.store).values()} == {2}

    log = tmp_path / "runners.log"
    with log.open("ab") as stream:
        runners = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "entrypoints.cli",
                    "project",
                    "--partitions",
                    "2",
                    "--partition",
                    str(share),
                ],
                cwd=REPO,
                env=okr_env(pg_url),
                stdout=stream,
                stderr=subprocess.STDOUT,
            )
            for share in (0, 1)
        ]
    try:
        history.extend(history.events + 1500)
        last = history.events
        assert writer.follower.wait_for(last, timeout=WAIT), log.read_text()[-3000:]
        assert all(p.poll() is None for p in runners), log.read_text()[-3000:]
    finally:
        for runner in runners:
            runner.terminate()
            runner.wait(timeout=30)
    assert set(share_positions(pg_url).values()) == {last}
    two_runners = snapshot(writer.store)
    rebuild(writer.app, writer.store, read_models())  # one process, the same layout
    same_tables("kept by two runners vs rebuilt by one", two_runners, snapshot(writer.store))


def test_a_rebuild_killed_inside_its_switch_leaves_the_served_tables(
    writer: Runtime, pg_url: str, tmp_path: Path
) -> None:
    history = GeneratedHistory(writer.app, SEED, organizations=5)
    history.extend(1500)
    writer.follower.catch_up()
    served = summary(writer.store)
    before = snapshot(writer.store)

    hold = tmp_path / "holding"
    process = subprocess.Popen(
        [sys.executable, "-m", "entrypoints.cli", "rebuild"],
        cwd=REPO,
        env=okr_env(pg_url, **{HOLD_ENV: str(hold)}),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + WAIT
    while not hold.exists():
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        assert time.monotonic() < deadline, "the rebuild never reached its switch"
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)

    assert summary(writer.store) == served | {
        name: {**entry, "building": True} for name, entry in served.items()
    }
    same_tables("served after the kill vs before", before, snapshot(writer.store))
    history.extend(history.events + 300)
    writer.follower.catch_up()  # the serving runner goes on
    assert all(writer.follower.position(m) == history.events for m in writer.follower.models)

    done = okr(pg_url, "rebuild")
    assert done.returncode == 0, done.stderr[-3000:]
    after = summary(writer.store)
    assert all(not entry["building"] for entry in after.values())
    assert all(after[name]["generation"] != served[name]["generation"] for name in served)
    live = snapshot(writer.store)
    rebuild(writer.app, writer.store, read_models())
    same_tables(
        "after the killed and the next rebuild vs a fresh one", live, snapshot(writer.store)
    )
