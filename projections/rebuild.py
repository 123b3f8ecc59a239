"""Rebuild read models from the event log: a new generation beside, then switch.

``begin`` registers a generation of each model (the code's version, laid out
in as many partitions as there are jobs) with empty tables beside the
serving ones; writes and the live runners go on meanwhile. ``build`` fills
one partition of it (a job: in this process, or one of ``--jobs N``
processes). ``finish`` brings every partition to one position P of the log,
then switches (``projections.switch``): the serving runners' tables are
retired and their runners follow the new generation from P. Because every
share stands at P, the new generation's positions are re-keyed exactly to
the layout runners use (the serving one, or ``--partitions M``).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from typing import Any, TextIO

from eventsourcing.application import Application

from projections.follower import Follower
from projections.generations import (
    BUILDING,
    REBUILD,
    ProjectionRefused,
    create_generation,
    generations,
    lock_catalog,
    next_number,
    prepare,
    serving,
)
from projections.readmodel import ReadModel
from projections.store import ViewStore
from projections.switch import switch

BATCH_SIZE = 10_000
"""Events per transaction while rebuilding (the live follower takes 500 for low lag).

A model reads back from its tables only what an earlier batch wrote; a rebuild
has no reader waiting, so larger batches trade a little memory for far fewer
of those reads and of the writes of rows that many batches touch.
"""

Progress = Callable[[int, int], None]


def begin(
    app: Application[Any], store: ViewStore, models: Sequence[ReadModel], jobs: int = 1
) -> tuple[int, int]:
    """A new generation (one number for all ``models``) in ``jobs`` partitions;
    returns it and the serving layout (the partitions runners use now)."""
    prepare(store, app.name, models)
    layout = 1
    with store.transaction() as tx:
        lock_catalog(store, tx)
        number = next_number(tx)
        for model in models:
            served = serving(generations(tx, model.name))
            if served is not None and served.code_version > model.version:
                raise ProjectionRefused(
                    f"{model.name} is served by version {served.code_version}; this code"
                    f" builds version {model.version} (upgrade it before rebuilding)"
                )
            layout = served.partitions if served is not None else 1
            create_generation(tx, model, number, jobs, BUILDING, REBUILD)
    return number, layout


def build(
    app: Application[Any],
    store: ViewStore,
    models: Sequence[ReadModel],
    generation: int,
    job: int,
    jobs: int,
    progress: Progress | None = None,
    until: int | None = None,
) -> int:
    """Fill partition ``job`` of ``jobs`` of ``generation``; returns events read."""
    follower = Follower(
        app,
        store,
        [type(m)() for m in models],
        batch_size=BATCH_SIZE,
        partitions=jobs,
        partition=job,
        generation=generation,
    )
    total = 0

    def report(count: int) -> None:
        nonlocal total
        total += count
        if progress is not None:
            progress(total, app.recorder.max_notification_id() or 0)

    follower.catch_up(on_batch=report, until=until)
    return total


def finish(
    app: Application[Any],
    store: ViewStore,
    models: Sequence[ReadModel],
    generation: int,
    jobs: int,
    layout: int,
) -> None:
    """Every partition to one position P, then switch; again while the serving
    runners are further than P (they moved on meanwhile)."""
    while True:
        head = app.recorder.max_notification_id() or 0
        for job in range(jobs):
            build(app, store, models, generation, job, jobs, until=head)
        if switch(store, {m.name: generation for m in models}, layout=layout):
            return


def rebuild(
    app: Application[Any],
    store: ViewStore,
    models: ReadModel | Sequence[ReadModel],
    progress: Progress | None = None,
    partitions: int | None = None,
) -> int:
    """Rebuild ``models`` in this process, in one pass over the log, and switch them
    in together; returns how many events the pass read."""
    models = [models] if isinstance(models, ReadModel) else list(models)
    generation, layout = begin(app, store, models)
    count = build(app, store, models, generation, 0, 1, progress)
    finish(app, store, models, generation, 1, partitions or layout)
    return count


class ProgressBar:
    """A one-line progress bar on a terminal; plain lines elsewhere."""

    def __init__(self, label: str, stream: TextIO = sys.stderr) -> None:
        self.label = label
        self.stream = stream
        self.started = time.monotonic()
        self._last = 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self._last < 0.2 and done < total:
            return
        self._last = now
        total = max(total, done, 1)
        width = 30
        filled = int(width * done / total)
        rate = done / max(now - self.started, 1e-9)
        line = (
            f"{self.label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total} events"
            f" ({rate:,.0f}/s)"
        )
        end = "\r" if self.stream.isatty() else "\n"
        self.stream.write(line + end)
        self.stream.flush()

    def finish(self) -> None:
        if self.stream.isatty():
            self.stream.write("\n")
        self.stream.flush()
