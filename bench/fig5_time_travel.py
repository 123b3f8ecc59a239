"""Figure 5: time travel — the state of an objective with 10,000 events at a random version.

One objective gets 10,000 events (``datasets.long_objective``: check-ins,
notes, weight changes, edits; snapshots every 100 versions as the service is
configured). Each run reads it at the same seeded random versions with
``projections.history.objective_at(app, store, id, version=v)`` — what
``GET /v1/objectives/{id}?version=v`` calls, timed in-process — and takes the
median.

Baseline, same versions: full replay without snapshots — the objective's
events from version 1 to ``v`` read from the event store and folded
(``event.mutate``), no snapshot, no rendering.
"""

from __future__ import annotations

import random
import statistics
import time
from typing import Any
from uuid import UUID

from bench.common import Context, Figure, Target, fresh_database, maybe_profiled, settings_for

BASELINE_NAME = "full replay from version 1 without snapshots (read + fold events ≤ v)"


def replay(app: Any, objective_id: UUID, version: int) -> Any:
    aggregate = None
    for event in app.events.get(objective_id, lte=version):
        aggregate = event.mutate(aggregate)
    assert aggregate is not None and aggregate.version == version
    return aggregate


def run(ctx: Context) -> list[Figure]:
    s = ctx.sizes
    figure = Figure(
        key="5",
        name=f"time travel: objective with {s.travel_events:,} events at a random version (median)",
        unit="ms",
        target=Target("≤ 20 ms", at_most=20.0),
        baseline_name=BASELINE_NAME,
        method=(
            f"one objective with {s.travel_events:,} events (85 % check-ins on 4 KRs of three "
            "modes, notes, weight changes, edits; snapshots every 100 versions); each run times "
            f"`projections.history.objective_at(app, store, id, version=v)` in-process (what "
            f"`GET /v1/objectives/{{id}}?version=v` calls) at {s.travel_samples} seeded random "
            f"versions; median. Baseline: {BASELINE_NAME}, same versions."
        ),
    )
    with fresh_database("travel") as url:
        from bench.datasets import long_objective
        from entrypoints.bootstrap import build_runtime
        from projections.history import objective_at

        runtime = build_runtime(settings_for(url))
        try:
            ctx.say(f"fig 5: writing an objective with {s.travel_events} events")
            data = long_objective(runtime.app, s.travel_events, ctx.seed)
            ctx.say(f"fig 5: {data.events} events in {data.seconds:.1f} s")
            rng = random.Random(ctx.seed)
            versions = [rng.randint(1, data.events) for _ in range(s.travel_samples)]
            app, store = runtime.app, runtime.store
            objective_at(app, store, data.objective_id, version=versions[0])  # warm-up
            runs: list[dict[str, Any]] = []
            for r in range(ctx.repeat):
                times = []
                with maybe_profiled(ctx, f"fig5-objective_at-run{r + 1}"):
                    for version in versions:
                        started = time.perf_counter()
                        document = objective_at(app, store, data.objective_id, version=version)
                        times.append(time.perf_counter() - started)
                        assert document is not None and document["version"] == version
                base_times = []
                for version in versions:
                    started = time.perf_counter()
                    replay(app, data.objective_id, version)
                    base_times.append(time.perf_counter() - started)
                figure.runs.append(statistics.median(times) * 1000)
                figure.baseline_runs.append(statistics.median(base_times) * 1000)
                runs.append(
                    {
                        "p90_ms": round(sorted(times)[int(len(times) * 0.9)] * 1000, 2),
                        "max_ms": round(max(times) * 1000, 2),
                        "baseline_p90_ms": round(
                            sorted(base_times)[int(len(base_times) * 0.9)] * 1000, 2
                        ),
                    }
                )
                ctx.say(
                    f"fig 5 run {r + 1}: median {figure.runs[-1]:.2f} ms vs full replay "
                    f"{figure.baseline_runs[-1]:.1f} ms"
                )
        finally:
            runtime.close()
    figure.details = {
        "objective": {
            "events": data.events,
            "written_in_seconds": round(data.seconds, 1),
            **data.kinds,
        },
        "runs": runs,
    }
    return [figure.finish()]
