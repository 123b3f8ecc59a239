"""Read models are exact: following live, rebuilt from zero, and recomputed, they agree.

A seeded history of ≥ 20,000 events (``OKR_TEST_HISTORY_EVENTS`` changes the
size, ``OKR_TEST_HISTORY_SEED`` the seed) is written through the commands while
the read models follow in-process. Once they have caught up, every read-model
table is compared

1. with the same tables rebuilt from zero by ``projections.rebuild.rebuild``:
   identical rows by primary key (floats within 1e-9, JSON compared parsed),
   so progress points agree in (position, ordinal) order too,
2. with an independent recomputation from the aggregates: every objective's
   document (aligned KRs bottom-up over their non-archived children), its row
   and its KR rows, and the teams, members, cycles, issues and issue links.

On both backends; the slowest tests of the suite: on this 2-core machine
about 30 s on SQLite and 100 s on PostgreSQL, most of it writing the history
(the write side) and, on PostgreSQL, rebuilding the objectives read model.
"""

from __future__ import annotations

import json
import os
import time
from collections import defaultdict
from datetime import date

from commands.actor import Actor
from commands.messages import (
    AddKeyResult,
    AddNote,
    AdvanceCyclePhase,
    ArchiveObjective,
    CheckIn,
    DraftObjective,
    FormTeam,
    PlanCycle,
)
from domain.values import ProgressMode, TokenRole
from entrypoints.bootstrap import build_runtime, read_models
from entrypoints.settings import Settings
from projections.objectives import OBJECTIVE
from projections.rebuild import rebuild
from tests.generated_history import (
    diff_expected,
    diff_snapshots,
    expected_from_aggregates,
    generate_history,
    points_are_numbered,
    progress_history_ends_at_current,
    report,
    snapshot,
)

EVENTS = int(os.environ.get("OKR_TEST_HISTORY_EVENTS", "20000"))
SEED = int(os.environ.get("OKR_TEST_HISTORY_SEED", "20261124"))


def test_read_models_equal_their_rebuild_and_the_aggregates(backend: Settings) -> None:
    runtime = build_runtime(backend)
    runtime.start_following()
    timings: dict[str, float] = {}
    try:
        started = time.perf_counter()
        history = generate_history(runtime.app, SEED, EVENTS)
        timings["generate"] = time.perf_counter() - started
        assert history.events >= EVENTS

        started = time.perf_counter()
        assert runtime.follower.wait_for(history.events, timeout=300), (
            f"the live read models did not catch up with {history.events}"
            f" (last error: {runtime.follower.error!r})"
        )
        timings["catch_up"] = time.perf_counter() - started
        live = snapshot(runtime.store)

        started = time.perf_counter()
        rebuild(runtime.app, runtime.store, read_models())  # one pass, as `okr rebuild`
        timings["rebuild"] = time.perf_counter() - started
        rebuilt = snapshot(runtime.store)

        started = time.perf_counter()
        expected = expected_from_aggregates(
            runtime.app,
            history.objective_ids(),
            history.team_ids(),
            history.cycle_ids(),
            history.issue_ids(),
        )
        timings["recompute"] = time.perf_counter() - started

        problems = {
            "live vs rebuilt": diff_snapshots(live, rebuilt),
            "progress point numbering": points_are_numbered(live),
            "live vs aggregates": diff_expected(live, expected),
            "progress history ends at the current progress": progress_history_ends_at_current(live),
        }
        print(
            f"\n{(backend.embedded and 'sqlite') or 'postgres'}: {history.events} events,"
            f" {len(live['okr_progress_points'])} progress points; "
            + ", ".join(f"{k} {v:.1f}s" for k, v in timings.items())
            + f"\n{history.summary()}"
        )
        assert not any(problems.values()), report(problems)
    finally:
        runtime.close()


def test_every_progress_point_replays_the_objective_at_that_event(backend: Settings) -> None:
    """The history auditors read: each point is what the aggregate said right then.

    For every objective without aligned KRs (their values come from other
    aggregates), each of its events is replayed (``repository.get(version=)``):
    the KRs and the objective whose progress moved at that event must have a
    point at its position with the replayed value, and nothing else may.
    """
    runtime = build_runtime(backend)
    runtime.start_following()
    app = runtime.app
    try:
        history = generate_history(app, SEED + 1, 5000)
        assert runtime.follower.wait_for(history.events, timeout=120)
        points: dict[tuple[str, int], dict[str, float]] = defaultdict(dict)
        for (position, _), row in snapshot(runtime.store)["okr_progress_points"].items():
            points[(row["objective_id"], position)][row["key_result_id"]] = row["progress"]
        ids = {str(i) for i in history.objective_ids()}
        previous: dict[str, dict[str, float]] = {}
        checked = 0
        for notification in app.recorder.select_notifications(start=1, limit=10**7):
            objective_id = str(notification.originator_id)
            if objective_id not in ids:
                continue
            version = notification.originator_version
            replayed = app.repository.get(notification.originator_id, version=version)
            if any(kr.mode == ProgressMode.ALIGNED for kr in replayed.key_results.values()):
                ids.discard(objective_id)
                continue
            now = replayed.key_result_progress()
            now[OBJECTIVE] = replayed.progress_of(now)
            before = previous.get(objective_id, {})
            moved = {kr: value for kr, value in now.items() if before.get(kr) != value}
            found = points.get((objective_id, notification.id), {})
            assert found == moved, (objective_id, version, notification.topic)
            previous[objective_id] = now
            checked += 1
        assert checked > 1000, f"only {checked} events of objectives without aligned KRs"
    finally:
        runtime.close()


def test_an_archived_parent_follows_its_childrens_progress(backend: Settings) -> None:
    """The smallest case the big history finds: an archived objective's aligned KR.

    Its value is the mean of its non-archived children (SPEC §2), archived or
    not; the projection must neither freeze it at archiving nor let an
    unrelated note on the parent "move" it later.
    """
    runtime = build_runtime(backend)
    app, admin = runtime.app, Actor("acme", "ada", TokenRole.ADMIN)
    try:
        team = app.form_team(admin, FormTeam(name="HQ", parent_id=None)).id
        cycle = app.plan_cycle(
            admin,
            PlanCycle(
                name="Q1",
                start_date=date(2027, 1, 1),
                end_date=date(2027, 3, 31),
                cadence="quarter",
            ),
        ).id
        app.advance_cycle_phase(admin, AdvanceCyclePhase(cycle, "drafting"))
        parent = app.draft_objective(
            admin,
            DraftObjective(
                cycle_id=cycle, title="Parent", level="organization", owner_team_id=team
            ),
        ).id
        kr = app.add_key_result(
            admin, AddKeyResult(parent, title="children", mode="aligned")
        ).key_result_id
        child = app.draft_objective(
            admin,
            DraftObjective(
                cycle_id=cycle,
                title="Child",
                level="team",
                owner_team_id=team,
                aligned_to_key_result_id=kr,
            ),
        ).id
        child_kr = app.add_key_result(admin, AddKeyResult(child, title="done", mode="percentage"))
        app.advance_cycle_phase(admin, AdvanceCyclePhase(cycle, "tracking"))
        app.archive_objective(admin, ArchiveObjective(parent))
        app.check_in(admin, CheckIn(child, child_kr.key_result_id, status="on_track", percent=50))
        runtime.follower.catch_up()

        def aligned_kr() -> float:
            with runtime.store.transaction(commit=False) as tx:
                row = tx.fetchone(
                    "SELECT doc FROM okr_objectives WHERE id = :id", {"id": str(parent)}
                )
            assert row is not None
            return float(json.loads(row["doc"])["key_results"][0]["progress"])

        after_check_in = aligned_kr()
        app.add_note(admin, AddNote(parent, topic="progress", text="a note moves nothing"))
        runtime.follower.catch_up()
        assert (after_check_in, aligned_kr()) == (0.5, 0.5)
    finally:
        runtime.close()


def test_a_reader_waiting_for_its_write_skips_the_batch_window(backend: Settings) -> None:
    """The window makes the follower wait after a wake; a read-your-writes wait must not."""
    window = 3.0
    runtime = build_runtime(backend.model_copy(update={"projection_batch_window": window}))
    app, admin = runtime.app, Actor("acme", "ada", TokenRole.ADMIN)
    try:
        runtime.app.saved_listeners.append(runtime.follower.wake.set)
        runtime.follower.start(poll_interval=60.0)
        first = app.form_team(admin, FormTeam(name="HQ", parent_id=None)).position
        assert runtime.follower.wait_for(first, timeout=window / 2)
        # Now the follower sits in its window after the next wake; the reader cuts it short.
        second = app.form_team(admin, FormTeam(name="Ops", parent_id=None)).position
        assert runtime.follower.wait_for(second, timeout=window / 2)
    finally:
        runtime.close()


def test_closing_the_runtime_stops_a_follower_it_did_not_start(backend: Settings) -> None:
    """A follower started by its own ``start`` (as tests and tools do) went on after
    ``Runtime.close``, retrying over the closed stores and logging into later tests."""
    runtime = build_runtime(backend)
    runtime.follower.start(poll_interval=60.0)
    runtime.close()
    assert not runtime.follower.running
