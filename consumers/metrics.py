"""The Kafka consumer's Prometheus series (SPEC §14), declared once.

``topic`` and ``partition`` are Kafka's. Served by ``okr consume`` on
``OKR_METRICS_PORT`` and, in the embedded mode, by the API's ``/metrics``.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge

LAG = Gauge(
    "okr_consumer_lag_messages",
    "Messages in a Kafka partition after the consumer's committed offset",
    ["topic", "partition"],
)
APPLIED = Counter(
    "okr_consumer_applied_total",
    "Issue events applied to the event store",
    ["topic", "partition"],
)
DUPLICATES = Counter(
    "okr_consumer_duplicates_total",
    "Issue events already applied before (same event id), skipped",
    ["topic", "partition"],
)
DEAD_LETTERS = Counter(
    "okr_consumer_dead_letters_total",
    "Messages sent to the dead-letter topic, by reason",
    ["topic", "partition", "reason"],
)
RETRIES = Counter(
    "okr_consumer_retries_total",
    "Retries of a batch (or of one organization's share of it) after an error",
    ["topic", "partition"],
)
