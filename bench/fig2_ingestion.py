"""Figure 2: issue events per second through Kafka into the event store.

Per run: a fresh database with a tracking cycle whose ``issues``-mode KRs link
10 % of the issues (through the commands), a fresh topic, and N canonical
issue events produced to it first (``IssueEventPublisher.publish_all``, with
the ``okr-organization`` header). Then the consumer process
(``bench.consumer_proc``: ``consumers.kafka_consumer.IssueEventConsumer`` over
``build_runtime``, exactly what ``okr consume`` runs) is told to start, and
the clock runs until its group's committed offsets cover all N messages (it
commits only after the database has committed). Afterwards the event store
must hold one ``Issue.StatusReported`` per message.

Baseline, same run, same topic: a bare kafka-python consumer (fresh group)
that only reads and ``json.loads`` every value, timed the same way (from
creating the consumer until it has read N messages).
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import psycopg

from bench.common import (
    KAFKA_BOOTSTRAP,
    Context,
    CpuMeter,
    Figure,
    Service,
    Target,
    fresh_database,
    fresh_topics,
    kafka_admin,
    service_env,
    settings_for,
    store_names,
    wait_until,
    write_service_profile,
)
from bench.datasets import ORG, issue_dataset

BASELINE_NAME = "bare kafka-python consumer: read + json.loads, no commits"


def committed(admin: Any, group: str, topic: str) -> int:
    try:
        offsets = admin.list_group_offsets({group: None}).get(group, {})
    except Exception:  # the group has no coordinator or offsets yet
        return 0
    return sum(meta.offset for tp, meta in offsets.items() if tp.topic == topic and meta.offset > 0)


def bare_consumer(topic: str, count: int, timeout: float) -> float:
    """Seconds a plain consumer takes to read and decode ``count`` messages."""
    from kafka import KafkaConsumer  # type: ignore[import-untyped]

    started = time.monotonic()
    consumer = KafkaConsumer(
        bootstrap_servers=[KAFKA_BOOTSTRAP],
        group_id=f"okr-bench-bare-{uuid.uuid4().hex[:8]}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=500,
    )
    consumer.subscribe([topic])
    read = 0
    deadline = started + timeout
    try:
        while read < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"the bare consumer read {read} of {count} messages")
            for records in consumer.poll(timeout_ms=1000, max_records=500).values():
                for record in records:
                    json.loads(record.value)
                    read += 1
        return time.monotonic() - started
    finally:
        consumer.close(autocommit=False)


def stored_counts(url: str) -> dict[str, int]:
    table = store_names(url).events_table
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            f"SELECT split_part(topic, ':', 2) AS kind, count(*) FROM {table}"
            " WHERE topic LIKE '%:Issue.StatusReported'"
            " OR topic LIKE '%:Objective.IssueStatusChanged'"
            " GROUP BY 1"
        ).fetchall()
    return {str(kind): int(n) for kind, n in rows}


def time_consumer(
    ctx: Context, url: str, topic: str, dlq: str, tag: str, count: int, timeout: float
) -> tuple[float, Service, dict[str, Any]]:
    """Seconds from telling the consumer process to go until it committed ``count``."""
    group = f"okr-bench-{tag}"
    env = service_env(
        url,
        OKR_KAFKA_BOOTSTRAP=KAFKA_BOOTSTRAP,
        OKR_KAFKA_TOPIC=topic,
        OKR_KAFKA_DLQ_TOPIC=dlq,
        OKR_KAFKA_GROUP=group,
        OKR_ISSUE_ORGANIZATION=ORG,
    )
    consumer = Service(ctx, "fig2", "consumer", ["bench.consumer_proc"], env, stdin=True)
    admin = kafka_admin()

    def ready() -> bool:
        consumer.check_alive()
        return consumer.log_contains("bench-consumer-ready")

    def done() -> bool:
        consumer.check_alive()
        return committed(admin, group, topic) >= count

    try:
        wait_until(ready, 60, 0.05, "the consumer process to start")
        meter = CpuMeter(url, {"consumer": consumer.pid}).start()
        started = time.monotonic()
        consumer.send_line("go")
        wait_until(done, timeout, 0.05, f"the consumer to commit {count} messages")
        seconds = time.monotonic() - started
        cpu = meter.stop(per=count)
    finally:
        admin.close()
        consumer.stop()
        write_service_profile(ctx, consumer)
    return seconds, consumer, cpu


def run(ctx: Context) -> list[Figure]:
    s = ctx.sizes
    figure = Figure(
        key="2",
        name="issue events per second through Kafka into the event store (10 % of issues linked)",
        unit="events/s",
        target=Target("≥ 5,000 events/s and ≥ 0.3 x baseline", at_least=5000, ratio_at_least=0.3),
        baseline_name=BASELINE_NAME,
        method=(
            f"{s.kafka_events:,} canonical events over {s.kafka_issues:,} GitHub issues (10 % "
            "linked to `issues`-mode KRs of objectives in a tracking cycle; each issue moves "
            "todo → in progress → done → …) produced to a fresh 3-partition topic first; then "
            "the consumer process (`consumers.kafka_consumer.IssueEventConsumer` over "
            "`build_runtime`, as `okr consume` runs it, started and connected beforehand) is "
            "told to go, and timed until its committed offsets cover every message; the event "
            "store is then checked to hold one `Issue.StatusReported` per message. Baseline: "
            f"{BASELINE_NAME}, same topic, timed from creating the consumer. Both check "
            "every record batch's CRC-32C with the `crc32c` C extension (a dependency)."
        ),
    )
    try:
        import consumers.kafka_consumer  # noqa: F401
    except ImportError as error:
        figure.status = "pending"
        figure.error = f"consumers.kafka_consumer is not importable yet ({error})"
    runs: list[dict[str, Any]] = []
    for r in range(ctx.repeat):
        tag = f"r{r}-{uuid.uuid4().hex[:6]}"
        with fresh_database("ingest") as url, fresh_topics("issues") as (topic, dlq):
            from entrypoints.bootstrap import build_runtime

            runtime = build_runtime(settings_for(url))
            try:
                data = issue_dataset(
                    runtime.app,
                    issues=s.kafka_issues,
                    events=s.kafka_events,
                    linked_fraction=0.1,
                    seed=ctx.seed + r,
                    tag=tag,
                )
            finally:
                runtime.close()
            from consumers.publisher import IssueEventPublisher

            started = time.monotonic()
            with IssueEventPublisher(KAFKA_BOOTSTRAP, topic) as publisher:
                publisher.publish_all(data.events, ORG, timeout=300)
            produce_seconds = time.monotonic() - started
            count = len(data.events)
            detail: dict[str, Any] = {
                "events": count,
                "issues": len(data.keys),
                "linked_issues": len(data.linked),
                "setup_seconds": round(data.setup_seconds, 1),
                "produce_seconds": round(produce_seconds, 2),
            }
            timeout = 120 + count / 50
            if figure.status == "ok":
                ctx.say(f"fig 2 run {r + 1}/{ctx.repeat}: consuming {count} events")
                seconds, consumer, cpu = time_consumer(ctx, url, topic, dlq, tag, count, timeout)
                stored = stored_counts(url)
                reported = stored.get("Issue.StatusReported", 0)
                if reported != count:
                    raise AssertionError(
                        f"the event store holds {reported} Issue.StatusReported, expected {count}"
                    )
                figure.runs.append(count / seconds)
                detail["consumer_seconds"] = round(seconds, 2)
                detail["stored"] = stored
                detail["consumer_peak_rss_mb"] = round(consumer.peak_mb, 1)
                detail["cpu"] = cpu
            ctx.say(f"fig 2 run {r + 1}/{ctx.repeat}: bare consumer baseline")
            bare = bare_consumer(topic, count, timeout)
            figure.baseline_runs.append(count / bare)
            detail["bare_consumer_seconds"] = round(bare, 3)
            runs.append(detail)
            if figure.runs:
                ctx.say(
                    f"fig 2 run {r + 1}: {figure.runs[-1]:,.0f} events/s vs bare "
                    f"{figure.baseline_runs[-1]:,.0f} events/s"
                )
    figure.details = {
        "cpu_ms_per_event_by_process": [r["cpu"]["cpu_ms_per_unit"] for r in runs if "cpu" in r],
        "runs": runs,
    }
    return [figure.finish()]
