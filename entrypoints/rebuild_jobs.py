"""``okr rebuild --jobs N``: a new generation built by N processes, then switched in.

Each job is ``python -m entrypoints.cli rebuild --job I/N --generation G``: a
process of its own (the rebuild is CPU-bound Python; threads would share one
core), filling partition I of generation G. This process starts them, shows
their progress from the catalogue, and once all have ended brings every
partition to one position and switches (``projections.rebuild.finish``).
Also the API the benchmark calls, so it measures what the command line does.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import entrypoints
from entrypoints.bootstrap import Runtime
from entrypoints.errors import CannotStart
from projections.generations import POSITIONS
from projections.readmodel import ReadModel
from projections.rebuild import Progress, begin, build, finish

_ROOT = Path(entrypoints.__file__).resolve().parents[1]


def rebuild_in_jobs(
    runtime: Runtime,
    models: Sequence[ReadModel],
    jobs: int = 1,
    partitions: int | None = None,
    progress: Progress | None = None,
) -> int:
    """Rebuild ``models`` in ``jobs`` processes (1: in this one) and switch them in;
    ``partitions``: the layout runners use afterwards (default: the served one).
    Returns the log position the new tables were built from."""
    app, store = runtime.app, runtime.store
    generation, layout = begin(app, store, models, jobs)
    if jobs == 1:
        build(app, store, models, generation, 0, 1, progress)
    else:
        _run_jobs(runtime, [m.name for m in models], generation, jobs, progress)
    finish(app, store, models, generation, jobs, partitions or layout)
    return app.recorder.max_notification_id() or 0


def _run_jobs(
    runtime: Runtime,
    names: Sequence[str],
    generation: int,
    jobs: int,
    progress: Progress | None,
) -> None:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(_ROOT), env.get("PYTHONPATH")) if p)
    if runtime.settings.database_url:
        env["OKR_DATABASE_URL"] = runtime.settings.database_url
    env["OKR_DATA_DIR"] = str(runtime.settings.data_dir)
    command = [sys.executable, "-m", "entrypoints.cli", "rebuild", *names]
    processes = [
        subprocess.Popen(
            [*command, "--job", f"{job}/{jobs}", "--generation", str(generation)], env=env
        )
        for job in range(jobs)
    ]
    try:
        while any(p.poll() is None for p in processes):
            with contextlib.suppress(subprocess.TimeoutExpired):
                processes[0].wait(timeout=0.5)
            if progress is not None:
                progress(_least_position(runtime, generation), _head(runtime))
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    failed = [(job, p.returncode) for job, p in enumerate(processes) if p.returncode != 0]
    if failed:
        job, code = failed[0]
        raise CannotStart(f"rebuild job {job}/{jobs} failed (exit status {code})")


def _head(runtime: Runtime) -> int:
    return runtime.app.recorder.max_notification_id() or 0


def _least_position(runtime: Runtime, generation: int) -> int:
    with runtime.store.transaction(commit=False) as tx:
        row = tx.fetchone(
            f"SELECT MIN(position) AS position FROM {POSITIONS} WHERE generation = :g",
            {"g": generation},
        )
    return int(row["position"]) if row and row["position"] is not None else 0
