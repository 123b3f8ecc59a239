"""Figure 4: projection lag p99 at 100 writes/s.

``okr serve`` and ``okr project`` run as separate processes over a fresh
database; 8 clients send check-ins paced (open loop) at 100/s over HTTP. Each
write answers its ``position``; a watcher in this process polls the read
models' served positions (okr_rm_positions) every 5 ms. The lag of a write is the time from its
answer arriving to the first poll that saw every read model at or past its
position (0 if the projection got there before the answer did).
"""

from __future__ import annotations

from typing import Any

from bench.common import (
    Context,
    CpuMeter,
    Figure,
    Target,
    TrackingWatcher,
    fresh_database,
    percentile,
    summary_ms,
    wait_until,
    watcher,
)
from bench.fig1_checkins import check_in_stack, describe, paced

POLL_SECONDS = 0.005


def caught_up(watch: TrackingWatcher, position: int, timeout: float = 60) -> None:
    wait_until(lambda: watch.reached_at(position) is not None, timeout, 0.05, "the projection")


def run(ctx: Context) -> list[Figure]:
    s = ctx.sizes
    figure = Figure(
        key="4",
        name=f"projection lag p99 at {s.paced_rate:g} writes/s (write answered → read model)",
        unit="ms",
        target=Target("≤ 250 ms", at_most=250.0),
        method=(
            f"`okr serve` + `okr project` subprocesses on a fresh database; {s.clients} clients "
            f"send check-ins over HTTP paced (open loop) at {s.paced_rate:g}/s for "
            f"{s.lag_seconds:g} s; a watcher polls the served read-model positions every "
            f"{POLL_SECONDS * 1000:g} ms; lag = first poll at which every read model had "
            "applied the write's position minus the moment its answer arrived (0 if earlier)."
        ),
    )
    runs: list[dict[str, Any]] = []
    with fresh_database("lag") as url, check_in_stack(ctx, "fig4", url) as stack:
        for r in range(ctx.repeat):
            ctx.say(f"fig 4 run {r + 1}/{ctx.repeat}: paced {s.paced_rate:g} writes/s")
            watch = watcher(url, POLL_SECONDS).start()
            try:
                meter = CpuMeter(url, stack.roles).start()
                outcome = paced(stack.senders, s.paced_rate, s.lag_seconds)
                cpu = meter.stop(per=outcome.ok)
                last = max((p for p, _ in outcome.written), default=0)
                caught_up(watch, last)
            finally:
                watch.stop()
            lags = []
            for position, answered in outcome.written:
                reached = watch.reached_at(position)
                assert reached is not None
                lags.append(max(0.0, reached - answered))
            figure.runs.append(percentile(lags, 99) * 1000)
            runs.append(
                {
                    "lag": summary_ms(lags),
                    "writes": describe(outcome),
                    "watcher_polls": watch.polls,
                    "cpu": cpu,
                }
            )
            stack.check_alive()
            ctx.say(f"fig 4 run {r + 1}: lag p99 {figure.runs[-1]:.1f} ms")
    figure.details = {"lag_by_run": [r["lag"] for r in runs], "runs": runs}
    return [figure.finish()]
