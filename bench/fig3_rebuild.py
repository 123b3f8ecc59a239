"""Figure 3: projection rebuild, events per second from PostgreSQL.

A history is generated once through the commands (``tests/generated_history.py``:
several organizations, cycles through every phase, alignment trees, every kind
of KR, check-ins, issue links and issue events). Each run then rebuilds every
read model with ``projections.rebuild.rebuild`` (beside the live tables, then
swap — what ``okr rebuild`` does), all of them in one pass over the log, from
fresh model instances; the figure is events in the log ÷ seconds.

Baseline, same run and database: plain psycopg reading the same events in
notification-id order, in pages of the follower's batch size (500), and
``json.loads`` of every event's state bytes.
"""

from __future__ import annotations

import json
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


def run(ctx: Context) -> list[Figure]:
    s = ctx.sizes
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
            "swap, as `okr rebuild` does), in this process; value = events in the log ÷ "
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
                count, base_seconds = read_and_decode(url, table)
                assert count == history.events
                figure.baseline_runs.append(count / base_seconds)
                runs.append(
                    {
                        "seconds": round(seconds, 2),
                        "seconds_per_model": per_model,
                        "baseline_seconds": round(base_seconds, 3),
                    }
                )
                ctx.say(
                    f"fig 3 run {r + 1}: {figure.runs[-1]:,.0f} events/s ({per_model}) vs "
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
    return [figure.finish()]
