"""The consumer never crash-loops (SPEC §10), and its Prometheus series move (SPEC §14).

An organization whose save keeps failing with an unexpected error (a bug, a
corrupt aggregate) is retried a bounded number of times, then its failing
messages go to the dead-letter topic with the reason, the other
organizations' messages are applied, the offsets are committed, and a restart
does not meet those messages again. A transient error is ridden out by the
retries. A database that is away is waited for and never dead-lettered.

Real Kafka and PostgreSQL (or SQLite, for a lock held elsewhere); the failing
save is a sink wrapping the real application (``IssueEventSink`` is the
consumer's own interface), so everything but the injected error is real.
"""

from __future__ import annotations

import random
import sqlite3
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaProducer
from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient
from prometheus_client import REGISTRY

from commands.actor import Actor
from commands.application import OkrApplication
from commands.issues import IssueCache, IssueOutcome
from consumers.dead_letters import DLQ_REASON_HEADER, DLQ_SOURCE_HEADER
from consumers.issue_event import IssueEvent, parse_issue_event
from consumers.kafka_consumer import IssueEventConsumer
from consumers.publisher import ORGANIZATION_HEADER
from domain.issue import issue_id
from entrypoints.bootstrap import Runtime
from entrypoints.consumer_process import ingestion_settings, start_consumer_thread
from entrypoints.settings import Settings
from tests.conftest import KAFKA_BOOTSTRAP
from tests.integration import test_kafka_ingestion as kafka_ingestion
from tests.integration.test_kafka_ingestion import (
    Progress,
    Scenario,
    Topics,
    assert_issues,
    assert_issues_in,
    expected_state,
    issue_refs,
    make_messages,
    publish,
    read_topic,
)

# The fixtures of the Kafka ingestion tests: a fresh topic and group, a PostgreSQL runtime.
topics = kafka_ingestion.topics
rt = kafka_ingestion.rt

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]

SECRET = "hunter2-never-in-a-letter"


class FailingSink:
    """The real application behind the consumer's ``IssueEventSink``, raising
    ``RuntimeError`` whenever ``fails(actor, reports, call_number)`` says so."""

    def __init__(
        self, app: OkrApplication, fails: Callable[[Actor, Sequence[IssueEvent], int], bool]
    ) -> None:
        self.app = app
        self.fails = fails
        self.calls: list[tuple[str, list[str]]] = []
        self._lock = threading.Lock()

    def apply_issue_events(
        self, actor: Actor, reports: Sequence[IssueEvent], cache: IssueCache | None = None
    ) -> list[IssueOutcome]:
        with self._lock:
            self.calls.append((actor.organization_id, [r.event_id for r in reports]))
            number = len(self.calls)
        if self.fails(actor, reports, number):
            raise RuntimeError(
                f"corrupt state of {actor.organization_id} "
                f"(connection postgresql://okr:{SECRET}@db/okr)"
            )
        return self.app.apply_issue_events(actor, reports, cache)


class Running:
    """``IssueEventConsumer`` over a sink, in a thread; fails the test if it dies."""

    def __init__(self, sink: Any, settings: Settings, topics: Topics, **options: Any) -> None:
        self.consumer = IssueEventConsumer(
            sink,
            ingestion_settings(
                settings, topic=topics.topic, group=topics.group, dlq_topic=topics.dlq, **options
            ),
        )
        self.stop_event = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            self.consumer.run(self.stop_event)
        except BaseException as error:
            self.error = error
            raise

    def alive(self) -> bool:
        assert self.error is None, f"the consumer died: {self.error!r}"
        return self.thread.is_alive()

    def __enter__(self) -> Running:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop_event.set()
        self.thread.join(30)
        assert not self.thread.is_alive(), "the consumer did not stop within 30 s"
        assert self.error is None, f"the consumer died: {self.error!r}"


def series(name: str, topic: str, **labels: str) -> float:
    """The sum of a consumer series over the partitions of ``topic`` (0 if never set)."""
    total = 0.0
    for partition in range(3):
        value = REGISTRY.get_sample_value(
            name, {"topic": topic, "partition": str(partition), **labels}
        )
        total += value or 0.0
    return total


def lags(topic: str) -> list[float | None]:
    return [
        REGISTRY.get_sample_value(
            "okr_consumer_lag_messages", {"topic": topic, "partition": str(p)}
        )
        for p in range(3)
    ]


def consume_all(running: Running, topics: Topics) -> None:
    progress = Progress(topics)
    try:
        progress.wait(timeout=90, alive=running.alive)
    finally:
        progress.close()


def test_one_organization_failing_is_dead_lettered_and_the_others_applied(
    rt: Runtime, topics: Topics
) -> None:
    """Old code (before the retry budget): the RuntimeError stopped the consumer
    without committing, so a restart replayed the batch and died again."""
    rng = random.Random(1410)
    refs = issue_refs(12)
    acme = make_messages(rng, refs, 80, duplicate_share=0.1)  # healthy
    beta = make_messages(rng, refs, 25, duplicate_share=0)  # every save fails
    beta.append(beta[3])
    gamma = make_messages(rng, refs, 30, duplicate_share=0)  # one poison message
    poison = gamma[7].event_id
    assert len({m.event_id for m in acme}) < len(acme)  # the same message twice, applied once
    assert len({m.event_id for m in beta}) < len(beta)  # and twice dead-lettered

    def fails(actor: Actor, reports: Sequence[IssueEvent], _: int) -> bool:
        return actor.organization_id == "beta" or any(r.event_id == poison for r in reports)

    publish(topics, acme, "acme")
    publish(topics, beta, "beta")
    publish(topics, gamma, "gamma")
    sink = FailingSink(rt.app, fails)
    with Running(sink, rt.settings, topics, max_retries=2, max_backoff=0.05) as running:
        consume_all(running, topics)
    stats = running.consumer.stats

    # The healthy organizations are applied, gamma but for its poison message.
    kept = Scenario(acme + [m for m in gamma if m.event_id != poison], refs, {}, {}, [])
    expected, _ = expected_state(kept, lambda n: "acme" if n < len(acme) else "gamma")
    assert_issues(rt, expected)
    for tracker, key in refs:  # nothing of beta reached the store
        assert issue_id("beta", tracker, key) not in rt.app.repository

    # Beta's messages (duplicates too) and gamma's poison one are dead letters with the reason.
    letters = read_topic(topics.dlq, expected=len(beta) + 1)
    assert len(letters) == len(beta) + 1
    assert stats.dead_letters == len(beta) + 1
    lettered: dict[str, list[str]] = {"beta": [], "gamma": []}
    for letter in letters:
        headers = dict(letter.headers)
        reason = headers[DLQ_REASON_HEADER].decode()
        assert reason.startswith("unexpected_error: RuntimeError: corrupt state of "), reason
        assert SECRET not in reason and "Traceback" not in reason, reason
        assert headers[DLQ_SOURCE_HEADER].decode().startswith(f"{topics.topic}:")
        lettered[headers[ORGANIZATION_HEADER].decode()].append(
            parse_issue_event(letter.value).event_id
        )
    assert sorted(lettered["beta"]) == sorted(m.event_id for m in beta)
    assert lettered["gamma"] == [poison]

    # The series moved: per partition of this test's own topic.
    assert stats.retries >= 2
    assert series("okr_consumer_retries_total", topics.topic) >= stats.retries
    assert (
        series("okr_consumer_dead_letters_total", topics.topic, reason="unexpected_error")
        == len(beta) + 1
    )
    assert series("okr_consumer_applied_total", topics.topic) == stats.applied > 0
    assert series("okr_consumer_duplicates_total", topics.topic) == stats.duplicates > 0
    assert lags(topics.topic) == [0.0, 0.0, 0.0]

    # Offsets were committed: a restart meets only what is new, not beta again.
    sentinel = make_messages(random.Random(7), [("github", "acme/app#sentinel")], 1)
    publish(topics, sentinel, "acme")
    again = FailingSink(rt.app, fails)
    with Running(again, rt.settings, topics, max_retries=2, max_backoff=0.05) as restarted:
        consume_all(restarted, topics)
    assert again.calls == [("acme", [sentinel[0].event_id])]
    assert len(read_topic(topics.dlq, expected=len(beta) + 1)) == len(beta) + 1


def test_a_transient_error_is_ridden_out_by_the_retries(rt: Runtime, topics: Topics) -> None:
    messages = make_messages(random.Random(33), issue_refs(8), 40, duplicate_share=0)
    publish(topics, messages, "acme")
    # The first two saves fail, the third (and every later one) succeeds.
    sink = FailingSink(rt.app, lambda _actor, _reports, number: number <= 2)
    with Running(sink, rt.settings, topics, max_retries=5, max_backoff=0.05) as running:
        consume_all(running, topics)
    stats = running.consumer.stats
    assert len(sink.calls) > 2 and sink.calls[2] == sink.calls[0]  # the same group, 3rd try
    assert (stats.retries, stats.dead_letters) == (2, 0)
    assert series("okr_consumer_retries_total", topics.topic) >= 2
    assert series("okr_consumer_dead_letters_total", topics.topic, reason="unexpected_error") == 0
    assert stats.applied + stats.stale == len(messages)
    assert series("okr_consumer_applied_total", topics.topic) == stats.applied > 0
    assert read_topic(topics.dlq, expected=0, timeout=2) == []
    expected, _ = expected_state(Scenario(messages, issue_refs(8), {}, {}, []))
    assert_issues(rt, expected)


def test_a_database_away_is_waited_for_never_dead_lettered(tmp_path: Path, topics: Topics) -> None:
    """SQLite's write lock held elsewhere for longer than the whole retry budget:
    the consumer waits, spends nothing of the budget and letters nothing."""
    settings = Settings(
        data_dir=tmp_path,
        database_url=None,
        kafka_bootstrap=KAFKA_BOOTSTRAP,
        kafka_topic=topics.topic,
        kafka_dlq_topic=topics.dlq,
        kafka_group=topics.group,
    )
    env = {**settings.eventsourcing_env(), "SQLITE_LOCK_TIMEOUT": "1"}
    app = OkrApplication(env=env)
    messages = make_messages(random.Random(8), issue_refs(10), 100, duplicate_share=0)
    publish(topics, messages)
    progress = Progress(topics)
    blocker = sqlite3.connect(env["SQLITE_DBNAME"], isolation_level=None)
    try:
        blocker.execute("BEGIN EXCLUSIVE")
        running = start_consumer_thread(app, settings, max_backoff=0.05, max_retries=1)
        while running.consumer.stats.database_retries < 4:  # four waits: budget long spent
            assert running.thread.is_alive() and running.error is None
            running.stop_event.wait(0.05)
        assert progress.committed() == 0, "offsets were committed past an unsaved batch"
        blocker.execute("ROLLBACK")
        progress.wait(timeout=60, alive=running.thread.is_alive)
        assert running.stop(timeout=30)
        assert running.error is None
        stats = running.consumer.stats
    finally:
        blocker.close()
        progress.close()
        app.close()
    assert (stats.dead_letters, stats.retries) == (0, 0)
    assert series("okr_consumer_retries_total", topics.topic) >= stats.database_retries >= 4
    assert read_topic(topics.dlq, expected=0, timeout=2) == []
    expected, _ = expected_state(Scenario(messages, issue_refs(10), {}, {}, []))
    reader = OkrApplication(env=settings.eventsourcing_env())
    try:
        assert_issues_in(reader, expected)
    finally:
        reader.close()


def dead_letter_topic_takes(admin: KafkaAdminClient, topics: Topics, max_bytes: int) -> None:
    """Set the dead-letter topic's ``max.message.bytes`` (the broker refuses larger)."""
    config = ConfigResource(
        ConfigResourceType.TOPIC, topics.dlq, configs={"max.message.bytes": str(max_bytes)}
    )
    assert admin.alter_configs([config]) == {"topic": {topics.dlq: "OK"}}


def test_a_dead_letter_topic_that_refuses_is_waited_for_not_dropped(
    rt: Runtime, topics: Topics
) -> None:
    """The broker refuses every letter (the dead-letter topic's ``max.message.bytes``
    too small for even a letter without its value): the consumer keeps trying
    the same letters and commits nothing; once the topic takes them, they are
    all there and the offsets are committed.

    Old code: the refusal was fatal to the idempotent dead-letter producer, which
    then refused every later try too: the consumer stood still for good."""
    admin = KafkaAdminClient(bootstrap_servers=KAFKA_BOOTSTRAP, request_timeout_ms=10_000)

    messages = make_messages(random.Random(21), issue_refs(6), 20, duplicate_share=0)
    publish(topics, messages, "beta")
    sink = FailingSink(rt.app, lambda actor, _reports, _number: actor.organization_id == "beta")
    progress = Progress(topics)
    try:
        dead_letter_topic_takes(admin, topics, 16)
        with Running(sink, rt.settings, topics, max_retries=0, max_backoff=0.2) as running:
            while running.consumer.stats.dead_letter_retries < 2:
                assert running.alive()
                running.stop_event.wait(0.05)
            assert progress.committed() == 0, "offsets committed past letters not stored"
            dead_letter_topic_takes(admin, topics, 1_048_588)  # the broker's default
            progress.wait(timeout=60, alive=running.alive)
        stats = running.consumer.stats
    finally:
        progress.close()
        admin.close()
    assert stats.dead_letters == len(messages)
    letters = read_topic(topics.dlq, expected=len(messages))
    assert sorted({parse_issue_event(letter.value).event_id for letter in letters}) == sorted(
        m.event_id for m in messages
    )


def test_a_letter_too_large_for_the_dead_letter_topic_is_stored_without_its_value(
    rt: Runtime, topics: Topics
) -> None:
    """The original fitted its topic, its letter does not fit the dead-letter topic:
    the letter is stored without the value (``okr-dlq-value-omitted``) and the
    consumer goes on. Old code: the broker's refusal was fatal to the producer,
    the letter without its value was refused with it, and the consumer stood
    still for good."""
    admin = KafkaAdminClient(bootstrap_servers=KAFKA_BOOTSTRAP, request_timeout_ms=10_000)
    producer = KafkaProducer(bootstrap_servers=KAFKA_BOOTSTRAP, acks="all")
    try:
        dead_letter_topic_takes(admin, topics, 2_000)
        producer.send(
            topics.topic,
            key=b"big",
            value=b"x" * 5_000,  # not JSON: a dead letter
            headers=[(ORGANIZATION_HEADER, b"acme")],
        ).get(timeout=30)
        with Running(rt.app, rt.settings, topics) as running:
            consume_all(running, topics)
    finally:
        producer.close()
        admin.close()
    assert running.consumer.stats.dead_letters == 1
    (letter,) = read_topic(topics.dlq, expected=1)
    headers = dict(letter.headers)
    assert (letter.key, letter.value) == (b"big", None)
    assert headers["okr-dlq-value-omitted"] == b"5000"
    assert headers[DLQ_REASON_HEADER].decode().startswith("not valid JSON")
    assert series("okr_consumer_dead_letters_total", topics.topic, reason="invalid_message") == 1


def test_the_lag_is_what_is_left_after_each_batch(rt: Runtime, topics: Topics) -> None:
    """Every save reads the lag set after the batch before it: exactly the
    messages published and not yet handed to a save."""
    messages = make_messages(random.Random(4), [("github", "acme/app#1")], 60, duplicate_share=0)
    publish(topics, messages, "acme")
    seen: list[tuple[int, float]] = []  # (messages saved before this call, lag then)

    def record_lag(_actor: Actor, _reports: Sequence[IssueEvent], _number: int) -> bool:
        before = sum(len(ids) for _, ids in sink.calls[:-1])
        seen.append((before, sum(lag or 0.0 for lag in lags(topics.topic))))
        return False

    sink = FailingSink(rt.app, record_lag)
    with Running(sink, rt.settings, topics, max_poll_records=10) as running:
        consume_all(running, topics)
    assert len(seen) >= 6  # batches of at most 10
    assert seen[0] == (0, 0.0)  # nothing measured before the first batch
    assert all(lag == len(messages) - before for before, lag in seen[1:]), seen
    # The partition of the one issue is caught up; the two empty ones may not
    # have been fetched at all (no high-water mark known: no series).
    final = lags(topics.topic)
    assert final.count(0.0) >= 1 and set(final) <= {0.0, None}, final
    assert running.consumer.stats.applied + running.consumer.stats.stale == len(messages)
