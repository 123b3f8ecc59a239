"""Figure 3: projection rebuild, events per second from PostgreSQL.

A history is generated once through the commands (``tests/generated_history.py``:
several organizations, cycles through every phase, alignment trees, every kind
of KR, check-ins, issue links and issue events). Each run then rebuilds every
read model with ``projections.rebuild.rebuild`` (beside the live tables, then
switch — what ``okr rebuild`` does), all of them in one pass over the log, from
fresh model instances; the figure is events in the log ÷ seconds.

Baseline, same run and database: plain psycopg reading the same events in
notification-id order, in pages of the follower's batch size (500), and
``json.loads`` of every event's state bytes.

Figure 3b, same run and database: ``okr rebuild --jobs 2`` (the function the
command line calls, ``entrypoints.rebuild_jobs.rebuild_in_jobs``: two processes,
one partition of organizations each, then the common catch-up and the switch);
its baseline is figure 3's one-process rebuild. How rebuild time grows with
the log's length: both are also timed on a history half as long, in a database
of its own (details of 3b).
"""

from __future__ import annotations

import json
import statistics
import time
from typing import Any

import psycopg

from bench.common import (
    Context,
    Figure,
    Target,
    fresh_database,
    maybe_profiled,
    settings_for,
    store_names,
)

BASELINE_NAME = (
    "plain psycopg: SELECT … ORDER BY notification_id (pages of 500) + json.loads(state)"
)
PAGE = 500


def read_and_decode(url: str, table: str) -> tuple[int, float]:
    """(events, seconds) to read and decode the whole log with plain psycopg."""
    started = time.perf_counter()
    count = 0
    last = 0
    with psycopg.connect(url) as conn:
        while True:
            rows = conn.execute(
                f"SELECT notification_id, originator_id, originator_version, topic, state"
                f" FROM {table} WHERE notification_id > %s ORDER BY notification_id LIMIT %s",
                (last, PAGE),
            ).fetchall()
            if not rows:
                break
            for row in rows:
                json.loads(row[4])
            count += len(rows)
            last = rows[-1][0]
    return count, time.perf_counter() - started


def rebuild_seconds(runtime: Any, jobs: int) -> float:
    """Seconds for one rebuild of every read model in ``jobs`` processes, as
    ``okr rebuild --jobs N`` does it (jobs=1: in this process)."""
    from entrypoints.bootstrap import read_models
    from entrypoints.rebuild_jobs import rebuild_in_jobs

    started = time.perf_counter()
    rebuild_in_jobs(runtime, read_models(), jobs=jobs)
    return time.perf_counter() - started


def growth_with_length(ctx: Context, events: int) -> dict[str, Any]:
    """Rebuild seconds for one and two jobs on a history of ``events`` events."""
    from bench.datasets import generated_history
    from entrypoints.bootstrap import build_runtime

    with fresh_database("rebuild_half") as url:
        runtime = build_runtime(settings_for(url))
        try:
            history = generated_history(runtime.app, ctx.seed, events)
            one = [rebuild_seconds(runtime, 1) for _ in range(ctx.repeat)]
            two = [rebuild_seconds(runtime, 2) for _ in range(ctx.repeat)]
        finally:
            runtime.close()
    return {
        "events": history.events,
        "seconds_one_process": round(statistics.median(one), 2),
        "seconds_two_jobs": round(statistics.median(two), 2),
    }


def run(ctx: Context) -> list[Figure]:
    s = ctx.sizes
    jobs_figure = Figure(
        key="3b",
        name="projection rebuild with `okr rebuild --jobs 2`, events per second from PostgreSQL",
        unit="events/s",
        target=Target("≥ 1.3 x the one-process rebuild (figure 3)", ratio_at_least=1.3),
        baseline_name="figure 3: the one-process rebuild, same run and history",
        method=(
            "the same history and database as figure 3; each run is "
            "`entrypoints.rebuild_jobs.rebuild_in_jobs(runtime, read_models(), jobs=2)`, what "
            "`okr rebuild --jobs 2` runs: two `okr rebuild --job I/2` processes (one share of "
            "the organizations each) into a new generation, then every share brought to one "
            "position and switched in; value = events in the log ÷ total seconds, process "
            "start-up included. Growth with the log's length: both rebuilds also on a history "
            "half as long (its own database, same seed)."
        ),
    )
    figure = Figure(
        key="3",
        name="projection rebuild of all read models, events per second from PostgreSQL",
        unit="events/s",
        target=Target(
            "≥ 20,000 events/s and ≥ 0.3 x baseline", at_least=20_000, ratio_at_least=0.3
        ),
        baseline_name=BASELINE_NAME,
        method=(
            f"a history of ≈{s.history_events:,} events generated through the commands by "
            "`tests/generated_history.py` (3 organizations, cycles in every phase, alignment "
            "trees, every KR mode, check-ins, issue links and issue events); each run rebuilds "
            "all four read models in one pass with `projections.rebuild.rebuild` (beside, then "
            "switch, as `okr rebuild` does), in this process; value = events in the log ÷ "
            "total seconds. "
            f"Baseline: {BASELINE_NAME}."
        ),
    )
    with fresh_database("rebuild") as url:
        from bench.datasets import generated_history
        from entrypoints.bootstrap import build_runtime, read_models
        from projections.rebuild import rebuild

        runtime = build_runtime(settings_for(url))
        try:
            ctx.say(f"fig 3: generating a history of {s.history_events} events")
            history = generated_history(runtime.app, ctx.seed, s.history_events)
            ctx.say(f"fig 3: {history.events} events in {history.seconds:.0f} s")
            table = store_names(url).events_table
            runs: list[dict[str, Any]] = []
            for r in range(ctx.repeat):
                with maybe_profiled(ctx, f"fig3-rebuild-run{r + 1}"):
                    started = time.perf_counter()
                    # `okr rebuild`: every read model in one pass over the log.
                    models = read_models()
                    read = rebuild(runtime.app, runtime.store, models)
                    assert read == history.events, (read, history.events)
                    seconds = time.perf_counter() - started
                per_model = {"all models, one pass": round(seconds, 2)}
                figure.runs.append(history.events / seconds)
                jobs_seconds = rebuild_seconds(runtime, 2)
                jobs_figure.runs.append(history.events / jobs_seconds)
                jobs_figure.baseline_runs.append(figure.runs[-1])
                count, base_seconds = read_and_decode(url, table)
                assert count == history.events
                figure.baseline_runs.append(count / base_seconds)
                runs.append(
                    {
                        "seconds": round(seconds, 2),
                        "seconds_per_model": per_model,
                        "seconds_two_jobs": round(jobs_seconds, 2),
                        "baseline_seconds": round(base_seconds, 3),
                    }
                )
                ctx.say(
                    f"fig 3 run {r + 1}: {figure.runs[-1]:,.0f} events/s ({per_model}), "
                    f"--jobs 2: {jobs_figure.runs[-1]:,.0f} events/s, vs "
                    f"baseline {figure.baseline_runs[-1]:,.0f} events/s"
                )
        finally:
            runtime.close()
    figure.details = {
        "history": {
            "events": history.events,
            "generated_in_seconds": round(history.seconds, 1),
            "generated_events_per_second": round(history.events / history.seconds, 1),
            **history.summary,
        },
        "runs": runs,
    }
    half = growth_with_length(ctx, s.history_events // 2)
    full_one = statistics.median(r["seconds"] for r in runs)
    full_two = statistics.median(r["seconds_two_jobs"] for r in runs)
    jobs_figure.details = {
        "growth with the log's length (median seconds)": {
            f"{half['events']} events": {
                "one process": half["seconds_one_process"],
                "2 jobs": half["seconds_two_jobs"],
            },
            f"{history.events} events": {
                "one process": round(full_one, 2),
                "2 jobs": round(full_two, 2),
            },
        },
        "seconds per 1,000 events": {
            "one process": [
                round(1000 * half["seconds_one_process"] / half["events"], 3),
                round(1000 * full_one / history.events, 3),
            ],
            "2 jobs": [
                round(1000 * half["seconds_two_jobs"] / half["events"], 3),
                round(1000 * full_two / history.events, 3),
            ],
        },
    }
    ctx.say(f"fig 3b: growth {jobs_figure.details}")
    return [figure.finish(), jobs_figure.finish()]
