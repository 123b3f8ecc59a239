"""Figure 8: growth of one aggregate (SPEC §9) — loads and snapshots that do not grow.

On PostgreSQL, snapshots every 100 versions as the service is configured:

- 8a: ``app.repository.get`` of an objective after 2,000 notes of 10 KB
  (written through ``add_note``, then check-ins up to a snapshot and 5
  events past it), against a fresh objective of the same shape (no notes, 5
  events), loaded by an application without the aggregate cache (a cold
  load: the latest snapshot and the events after it); target within 1.5x.
- 8b: the same for an issue after 10,000 status events (written through
  ``apply_issue_events`` in batches of 500, as the Kafka consumer does)
  against a fresh issue.
- 8c / 8d: the size of the latest snapshot of that objective / issue at the
  full count, against its size at a tenth of it; target: independent of the
  count (ratio ≤ 1.01).

Details add the cached load (what a command pays with the service's
aggregate cache: fast-forward plus a deep copy) and a check-in (load and save)
on the grown objective against the fresh one, and the total bytes of every
snapshot each aggregate has.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any
from uuid import UUID

from bench.common import Context, Figure, Target, fresh_database, maybe_profiled, settings_for
from commands.messages import AddKeyResult, AddNote, CheckIn, DraftObjective, FormTeam


@dataclass(frozen=True)
class GrowthSizes:
    notes: int
    note_bytes: int
    issue_events: int
    loads: int  # timed loads per aggregate and run


FULL_GROWTH = GrowthSizes(notes=2_000, note_bytes=10_000, issue_events=10_000, loads=200)
# Smoke: past the first snapshot at a tenth, and past a full window of issue ids.
SMOKE_GROWTH = GrowthSizes(notes=300, note_bytes=1_000, issue_events=3_000, loads=20)
TAIL = 5  # events after the last snapshot, the same for the grown and the fresh aggregate


def run(ctx: Context) -> list[Figure]:
    g = SMOKE_GROWTH if ctx.smoke else FULL_GROWTH
    with fresh_database("growth") as url:
        from commands.application import OkrApplication
        from entrypoints.bootstrap import build_runtime

        runtime = build_runtime(settings_for(url))
        # A second application on the same store without the aggregate cache: cold loads.
        cold = OkrApplication(env=settings_for(url, aggregate_cache_size=0).eventsourcing_env())
        try:
            objectives = _objectives(ctx, runtime.app, g)
            issues = _issues(ctx, runtime.app, g)
            return [
                *_load_figures(ctx, g, runtime.app, cold, objectives, issues),
                *_size_figures(g, objectives, issues),
            ]
        finally:
            cold.close()
            runtime.close()


# ----------------------------------------------------------------------- data


@dataclass
class Grown:
    """A grown aggregate and a fresh one of the same shape."""

    grown: UUID
    fresh: UUID
    size_at_tenth: int = 0
    size_at_full: int = 0
    all_snapshots_bytes: int = 0
    snapshots: int = 0
    written_in_seconds: float = 0.0
    kr: UUID | None = None
    fresh_kr: UUID | None = None


def _objectives(ctx: Context, app: Any, g: GrowthSizes) -> Grown:
    from bench.datasets import admin_actor, tracking_cycle

    admin = admin_actor()
    cycle = tracking_cycle(app, admin, "Bench growth")
    team = app.form_team(admin, FormTeam(name="Growth", parent_id=None)).id

    def objective(title: str) -> tuple[UUID, UUID]:
        created = app.draft_objective(
            admin, DraftObjective(cycle_id=cycle, title=title, level="team", owner_team_id=team)
        ).id
        kr = app.add_key_result(
            admin, AddKeyResult(created, title="KR", mode="percentage")
        ).key_result_id
        return created, kr

    grown, kr = objective("An objective with many notes")
    fresh, fresh_kr = objective("A fresh objective")
    # 8 characters of number and space, then text: g.note_bytes in all (the most a note takes)
    note = ("a coaching note " * (g.note_bytes // 16 + 1))[: g.note_bytes - 9].rstrip() + "."
    result = Grown(grown=grown, fresh=fresh, kr=kr, fresh_kr=fresh_kr)
    started = time.perf_counter()
    ctx.say(f"fig 8: writing {g.notes:,} notes of {g.note_bytes:,} bytes on one objective")
    tenth = max(g.notes // 10, 100)  # past the first snapshot (every 100 versions)
    for n in range(g.notes):
        app.add_note(admin, AddNote(grown, topic="coaching", text=f"{n:07d} {note}"))
        if n + 1 == tenth:
            result.size_at_tenth = _latest_snapshot_bytes(app, grown)
    result.size_at_full = _latest_snapshot_bytes(app, grown)  # same state, 10x the notes
    # The same tail on both: TAIL events after the last snapshot, no note among them
    # (a note's event is history, read only by a load that starts before it).
    target = (_version(app, grown) // 100 + 1) * 100 + TAIL
    while _version(app, grown) < target:
        app.check_in(admin, CheckIn(grown, kr, percent=10, status="on_track"))
    for _ in range(TAIL - _version(app, fresh) % 100):
        app.check_in(admin, CheckIn(fresh, fresh_kr, percent=10, status="on_track"))
    result.written_in_seconds = time.perf_counter() - started
    result.snapshots, result.all_snapshots_bytes = _all_snapshots(app, grown)
    ctx.say(f"fig 8: objective at version {_version(app, grown)}")
    return result


def _issues(ctx: Context, app: Any, g: GrowthSizes) -> Grown:
    from bench.datasets import ORG, admin_actor
    from commands.issue_event import IssueEvent
    from domain.issue import issue_id

    admin = admin_actor()
    at = datetime(2027, 2, 1, 12, 0, tzinfo=UTC)

    def reports(key: str, first: int, count: int) -> list[IssueEvent]:
        return [
            IssueEvent(
                event_id=f"github:delivery:{key}:{n:08d}",
                tracker="github",
                issue_key=key,
                status=("todo", "in_progress", "done")[n % 3],
                occurred_at=at + timedelta(seconds=n),
                title="Ship SSO",
            )
            for n in range(first, first + count)
        ]

    grown_key, fresh_key = "acme/app#1", "acme/app#2"
    grown, fresh = issue_id(ORG, "github", grown_key), issue_id(ORG, "github", fresh_key)
    result = Grown(grown=grown, fresh=fresh)
    started = time.perf_counter()
    ctx.say(f"fig 8: writing {g.issue_events:,} events on one issue")
    written, tenth = 0, g.issue_events // 10
    while written < g.issue_events:
        # batches of 500, as the consumer applies them; one ends at the tenth
        stop = tenth if written < tenth else g.issue_events
        count = min(500, stop - written)
        app.apply_issue_events(admin, reports(grown_key, written, count))
        written += count
        if written == tenth:
            result.size_at_tenth = _latest_snapshot_bytes(app, grown)
    app.apply_issue_events(admin, reports(fresh_key, 0, TAIL - 1))  # + its registration
    more = TAIL - _version(app, grown) % 100
    app.apply_issue_events(admin, reports(grown_key, written, more))
    result.written_in_seconds = time.perf_counter() - started
    result.size_at_full = _latest_snapshot_bytes(app, grown)
    result.snapshots, result.all_snapshots_bytes = _all_snapshots(app, grown)
    ctx.say(f"fig 8: issue at version {_version(app, grown)}")
    return result


def _version(app: Any, aggregate_id: UUID) -> int:
    return int(app.repository.get(aggregate_id).version)


def _latest_snapshot_bytes(app: Any, aggregate_id: UUID) -> int:
    records = app.snapshots.recorder.select_events(aggregate_id, desc=True, limit=1)
    return len(records[0].state) if records else 0


def _all_snapshots(app: Any, aggregate_id: UUID) -> tuple[int, int]:
    records = app.snapshots.recorder.select_events(aggregate_id)
    return len(records), sum(len(r.state) for r in records)


# -------------------------------------------------------------------- figures


def _paired_ms(
    grown: Callable[[], object], fresh: Callable[[], object], times: int
) -> tuple[float, float]:
    """Median milliseconds of each, timed alternately so that other load on the
    machine falls on both alike."""
    grown(), fresh()  # warm-up
    samples: tuple[list[float], list[float]] = ([], [])
    for _ in range(times):
        for call, into in ((grown, samples[0]), (fresh, samples[1])):
            started = time.perf_counter()
            call()
            into.append(time.perf_counter() - started)
    return statistics.median(samples[0]) * 1000, statistics.median(samples[1]) * 1000


def _load_figures(
    ctx: Context, g: GrowthSizes, app: Any, cold: Any, objectives: Grown, issues: Grown
) -> list[Figure]:
    from bench.datasets import admin_actor

    admin = admin_actor()

    def check_in(objective_id: UUID, kr_id: UUID | None) -> None:
        app.check_in(admin, CheckIn(objective_id, kr_id, percent=20, status="on_track"))

    figures = []
    for key, what, grown in (
        ("8a", f"objective after {g.notes:,} notes of {g.note_bytes // 1000} KB", objectives),
        ("8b", f"issue after {g.issue_events:,} status events", issues),
    ):
        figure = Figure(
            key=key,
            name=f"load (repository get) of an {what}, vs a fresh one (median)",
            unit="ms",
            target=Target("≤ 1.5x a fresh one", ratio_at_most=1.5),
            baseline_name=f"a fresh {what.split()[0]} of the same shape, same tail",
            method=(
                f"`app.repository.get(id)` by an application without the aggregate cache "
                f"(latest snapshot + the {TAIL} events after it), {g.loads} loads per run, "
                f"median; baseline: the fresh one, loaded the same way. Details: the same with "
                f"the service's aggregate cache (fast-forward + deep copy)"
                + (", and a check-in (load + save) on each" if key == "8a" else "")
                + "."
            ),
        )
        cached_runs: list[float] = []
        cached_base: list[float] = []
        check_ins: list[float] = []
        check_ins_base: list[float] = []
        for r in range(ctx.repeat):
            with maybe_profiled(ctx, f"fig{key}-run{r + 1}"):
                value, base = _paired_ms(
                    partial(cold.repository.get, grown.grown),
                    partial(cold.repository.get, grown.fresh),
                    g.loads,
                )
            figure.runs.append(value)
            figure.baseline_runs.append(base)
            value, base = _paired_ms(
                partial(app.repository.get, grown.grown),
                partial(app.repository.get, grown.fresh),
                g.loads,
            )
            cached_runs.append(value)
            cached_base.append(base)
            ctx.say(
                f"fig {key} run {r + 1}: {figure.runs[-1]:.2f} ms vs fresh "
                f"{figure.baseline_runs[-1]:.2f} ms"
            )
        if key == "8a":
            # After the loads (each check-in adds an event to both, so the tails stay
            # equal, but longer): load, check in, save, as the API does.
            for _ in range(ctx.repeat):
                value, base = _paired_ms(
                    partial(check_in, objectives.grown, objectives.kr),
                    partial(check_in, objectives.fresh, objectives.fresh_kr),
                    50,
                )
                check_ins.append(value)
                check_ins_base.append(base)
        figure.details = {
            "written_in_seconds": round(grown.written_in_seconds, 1),
            "cached_load_ms": round(statistics.median(cached_runs), 3),
            "cached_load_fresh_ms": round(statistics.median(cached_base), 3),
            "cached_ratio": round(
                statistics.median(cached_runs) / statistics.median(cached_base), 3
            ),
        }
        if check_ins:
            figure.details |= {
                "check_in_ms": round(statistics.median(check_ins), 3),
                "check_in_fresh_ms": round(statistics.median(check_ins_base), 3),
                "check_in_ratio": round(
                    statistics.median(check_ins) / statistics.median(check_ins_base), 3
                ),
            }
        figures.append(figure.finish())
    return figures


def _size_figures(g: GrowthSizes, objectives: Grown, issues: Grown) -> list[Figure]:
    figures = []
    for key, what, grown, full in (
        ("8c", "objective", objectives, f"{g.notes:,} notes"),
        ("8d", "issue", issues, f"{g.issue_events:,} events"),
    ):
        figure = Figure(
            key=key,
            name=f"snapshot size of the {what} after {full}, vs after a tenth of them",
            unit="bytes",
            target=Target("independent of the count (≤ 1.01x)", ratio_at_most=1.01),
            baseline_name=f"its snapshot after a tenth of the {full.split()[1]}",
            method=(
                f"bytes of the latest stored snapshot of the {what} of figure "
                f"{'8a' if key == '8c' else '8b'} (its state as the store holds it)."
            ),
            runs=[float(grown.size_at_full)],
            baseline_runs=[float(grown.size_at_tenth)],
            details={
                "snapshots": grown.snapshots,
                "bytes_of_all_its_snapshots": grown.all_snapshots_bytes,
            },
        )
        figures.append(figure.finish())
    return figures
