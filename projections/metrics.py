"""The read side's Prometheus series (SPEC §14), declared once for every runner.

``partition`` is the runner's share as ``I/N`` (``0/1`` for one runner). The
follower sets them after each batch; the process that runs it serves them
(the API at ``/metrics``, ``okr project`` on ``OKR_METRICS_PORT``).
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

POSITION = Gauge(
    "okr_projection_position",
    "Last event-log position a read model has applied",
    ["model", "partition"],
)
LAG_EVENTS = Gauge(
    "okr_projection_lag_events",
    "Events written to the log that a read model has not applied yet",
    ["model", "partition"],
)
LAG_SECONDS = Gauge(
    "okr_projection_lag_seconds",
    "Age of the oldest event a read model has not applied yet (0 when caught up)",
    ["model", "partition"],
)
APPLIED = Counter(
    "okr_projection_events_applied_total",
    "Events a read model has applied (its own share only)",
    ["model", "partition"],
)
BATCH_SECONDS = Histogram(
    "okr_projection_batch_seconds",
    "Time to read, apply and commit one batch of events, all read models together",
    ["partition"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
PARKED = Gauge(
    "okr_projection_parked_events",
    "Poison events parked (each stops one organization in one read model)",
    ["model", "partition"],
)
FAILED_BATCHES = Counter(
    "okr_projection_failed_batches_total",
    "Batches that failed and were rolled back (then retried)",
    ["partition"],
)
