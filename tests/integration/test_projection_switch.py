"""A rebuild switching under a live batch, and two runners of one share (SPEC §10).

The interleavings are forced with a barrier: the live follower has read its
positions and a batch of the log, and waits there (before writing, or, on
PostgreSQL, in the middle of its transaction) while a rebuild builds and
switches. On the code before generations, the rebuild set the positions
backwards under it and progress points were lost (or, held inside its
transaction, the rebuild's DROP TABLE waited for it forever). Now its batch
rolls back (its generation is retired) and it goes on in the new one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import psycopg
from prometheus_client import REGISTRY

from entrypoints.bootstrap import Runtime, build_runtime, read_models, views_env
from entrypoints.settings import Settings
from projections.follower import Follower
from projections.rebuild import rebuild
from projections.store import open_view_store
from tests.generated_history import GeneratedHistory, diff_snapshots, report, snapshot

SEED = 20261129
WAIT = 120.0
"""Seconds a test waits for a thread that should end long before (a deadlock fails)."""


class Barrier:
    """Holds the first call made in the thread named ``holder`` until released."""

    def __init__(self, holder: str) -> None:
        self.holder = holder
        self.reached = threading.Event()
        self.release = threading.Event()

    def wrap(self, call: Callable[..., Any]) -> Callable[..., Any]:
        def held(*args: Any, **kwargs: Any) -> Any:
            result = call(*args, **kwargs)
            if threading.current_thread().name == self.holder and not self.reached.is_set():
                self.reached.set()
                self.release.wait(WAIT)
            return result

        return held


def in_thread(
    name: str, work: Callable[[], object]
) -> tuple[threading.Thread, list[BaseException]]:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as error:  # the runner would retry: the test does below
            errors.append(error)

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    return thread, errors


def history_with_a_tail(runtime: Runtime) -> GeneratedHistory:
    """A history the live follower has applied, then more than two batches it has not."""
    history = GeneratedHistory(runtime.app, SEED, organizations=5)
    history.extend(1500)
    runtime.follower.catch_up()
    history.extend(history.events + 1200)
    return history


def equal_to_a_fresh_rebuild(runtime: Runtime, events: int) -> None:
    assert all(runtime.follower.position(m) == events for m in runtime.follower.models)
    after = snapshot(runtime.store)
    rebuild(runtime.app, runtime.store, read_models())
    fresh = snapshot(runtime.store)
    problems = {"live after the switch vs a fresh rebuild": diff_snapshots(after, fresh)}
    assert not any(problems.values()), report(problems)


def lock_waits(settings: Settings) -> int:
    """PostgreSQL: sessions of this database waiting for a lock (the old rebuild's
    DROP TABLE waited for the live batch's locks)."""
    assert settings.database_url is not None
    with psycopg.connect(settings.database_url, autocommit=True) as connection:
        row = connection.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock'"
        ).fetchone()
    return int(row[0]) if row else 0


def test_a_rebuild_switching_under_a_live_batch_loses_no_progress_point(
    backend: Settings,
) -> None:
    """The rebuild has read the whole log; then more is written, and the live follower
    takes a batch of it (PostgreSQL: writes it and waits inside its transaction;
    SQLite, one writer: waits just before writing) while the rebuild switches."""
    runtime = build_runtime(backend)
    barrier = Barrier("live")
    try:
        history = GeneratedHistory(runtime.app, SEED, organizations=5)
        history.extend(1500)
        runtime.follower.catch_up()
        if backend.embedded:
            runtime.follower.before_writing = barrier.wrap(lambda _: None)
        else:
            objectives: Any = next(m for m in runtime.follower.models if m.name == "objectives")
            objectives.flush = barrier.wrap(objectives.flush)
        live: list[threading.Thread] = []
        live_errors: list[list[BaseException]] = []

        def after_each_rebuild_batch(done: int, head: int) -> None:
            if done < head or live:
                return
            history.extend(history.events + 1200)  # more than two batches of the live one
            thread, errors = in_thread("live", runtime.follower.catch_up)
            live.append(thread)
            live_errors.append(errors)  # filled if it fails
            assert barrier.reached.wait(WAIT), "the live follower never took a batch"

        builder, build_errors = in_thread(
            "rebuild",
            lambda: rebuild(runtime.app, runtime.store, read_models(), after_each_rebuild_batch),
        )
        # The live batch goes on once the rebuild is done, or waits for a lock it holds.
        deadline = time.monotonic() + WAIT
        while builder.is_alive() and not (not backend.embedded and lock_waits(backend)):
            assert time.monotonic() < deadline, "the rebuild neither ended nor waited"
            time.sleep(0.05)
        barrier.release.set()
        builder.join(WAIT)
        assert live and not build_errors, build_errors
        live[0].join(WAIT)
        assert not builder.is_alive() and not live[0].is_alive(), "deadlock"
        # Its batch was neither lost nor written: it rolled back (its generation retired, or
        # on SQLite its tables dropped already) and it went on in the new generation.
        assert not live_errors[0] and runtime.follower.moved >= 1, live_errors
        runtime.follower.before_writing = None
        runtime.follower.catch_up()  # what the runner's retry does after a failed batch
        equal_to_a_fresh_rebuild(runtime, history.events)
    finally:
        barrier.release.set()
        runtime.close()


def test_two_runners_of_one_share_never_both_commit_a_batch(backend: Settings) -> None:
    """Two runners of the same generation and share: the one that commits second finds
    its positions taken (compare-and-set) and rolls back its batch."""
    runtime = build_runtime(backend)
    other_store = open_view_store(views_env(backend))
    try:
        history = history_with_a_tail(runtime)
        first = runtime.follower
        second = Follower(runtime.app, other_store, read_models())
        barrier = Barrier("first")
        first.before_writing = barrier.wrap(lambda _: None)
        thread, errors = in_thread("first", first.catch_up)
        assert barrier.reached.wait(WAIT)
        assert first.lanes()[0].position < history.events
        second.catch_up()  # the whole tail, committed while the first one waits
        barrier.release.set()
        thread.join(WAIT)
        assert not thread.is_alive()
        # Its batch rolled back: its positions were taken (or, first, its rows clashed).
        assert first.moved >= 1 or errors, "the first runner committed a covered batch"
        first.before_writing = None
        assert first.catch_up() == 0, "nothing was left for the first runner"
        # The series of a committed batch (both runners are share 0/1 of this process).
        labels = {"model": "objectives", "partition": "0/1"}
        assert REGISTRY.get_sample_value("okr_projection_position", labels) == history.events
        assert REGISTRY.get_sample_value("okr_projection_lag_events", labels) == 0
        assert REGISTRY.get_sample_value("okr_projection_lag_seconds", labels) == 0
        equal_to_a_fresh_rebuild(runtime, history.events)
    finally:
        other_store.close()
        runtime.close()
