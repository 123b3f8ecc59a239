"""Round trip through the real Kafka broker (scripts/kafka-up.sh).

Creates a throw-away 3-partition topic, produces keyed messages, reads them
back in consumer groups and checks exactly-once delivery plus committed
offsets. The broker must be running: if it cannot be reached the test FAILS
(never skips), naming the script that starts it.
"""

from __future__ import annotations

import os
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import KafkaError

pytestmark = pytest.mark.kafka

BOOTSTRAP = os.environ.get(
    "OKR_KAFKA_BOOTSTRAP", os.environ.get("OKR_TEST_KAFKA_BOOTSTRAP", "127.0.0.1:19092")
)
PARTITIONS = 3
ALL_PARTITIONS = set(range(PARTITIONS))
MESSAGES = 300
# Per-wait deadline; the whole module normally finishes in a few seconds.
DEADLINE_S = 20.0


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def _connect_admin() -> KafkaAdminClient:
    try:
        return KafkaAdminClient(
            bootstrap_servers=BOOTSTRAP,
            client_id=_unique("okr-test-admin"),
            request_timeout_ms=10_000,
            bootstrap_timeout_ms=5_000,  # fail fast when nothing listens
        )
    except (KafkaError, OSError) as error:
        problem = repr(error)
    # Called inside the test (not a fixture) so this reports FAILED, not ERROR.
    pytest.fail(
        f"Kafka broker is not reachable at {BOOTSTRAP} ({problem}); "
        "start it with scripts/kafka-up.sh",
        pytrace=False,
    )


@contextmanager
def _fresh_topic() -> Iterator[tuple[KafkaAdminClient, str]]:
    """An admin client and a new 3-partition topic, deleted afterwards."""
    admin = _connect_admin()
    name = _unique("okr-test-roundtrip")
    try:
        admin.create_topics({name: {"num_partitions": PARTITIONS, "replication_factor": 1}})
        try:
            # KRaft: creation is acknowledged before every partition has a leader.
            admin.wait_for_topics([name], timeout_ms=int(DEADLINE_S * 1000))
            yield admin, name
        finally:
            admin.delete_topics([name], timeout_ms=10_000, raise_errors=False)
    finally:
        admin.close()


def _produce(topic: str, run: str) -> dict[str, tuple[int, str]]:
    """Send MESSAGES keyed records; return key -> (partition, value)."""
    producer = KafkaProducer(
        bootstrap_servers=BOOTSTRAP,
        acks="all",
        linger_ms=5,
        key_serializer=str.encode,
        value_serializer=str.encode,
    )
    try:
        futures = {}
        for i in range(MESSAGES):
            key, value = f"key-{i:04d}", f"{run}:value-{i}"
            futures[key] = (producer.send(topic, key=key, value=value), value)
        producer.flush(timeout=DEADLINE_S)
        sent = {
            key: (future.get(timeout=DEADLINE_S).partition, value)
            for key, (future, value) in futures.items()
        }
    finally:
        producer.close(timeout=5)
    # Keys hash over all partitions; the group tests rely on that.
    assert {partition for partition, _ in sent.values()} == ALL_PARTITIONS
    return sent


def _consumer(group_id: str) -> KafkaConsumer:
    return KafkaConsumer(
        bootstrap_servers=BOOTSTRAP,
        group_id=group_id,
        client_id=_unique("okr-test-consumer"),
        auto_offset_reset="earliest",
        enable_auto_commit=False,  # commit explicitly, then check the offsets
        key_deserializer=bytes.decode,
        value_deserializer=bytes.decode,
        # Short timeouts so a rebalance completes in seconds, not minutes.
        session_timeout_ms=6_000,
        heartbeat_interval_ms=500,
        max_poll_interval_ms=15_000,
    )


def _await_metadata(consumer: KafkaConsumer, topic: str) -> None:
    """Know the topic's partitions before joining, so the group leader never
    assigns from empty metadata (which costs an extra, racy rebalance)."""
    deadline = time.monotonic() + DEADLINE_S
    while consumer.partitions_for_topic(topic) != ALL_PARTITIONS:
        assert time.monotonic() < deadline, f"no metadata for {topic} within {DEADLINE_S}s"
        time.sleep(0.1)


def _drain(consumer: KafkaConsumer, into: list) -> None:
    """One short poll, appending (partition, offset, key, value) records."""
    for tp, records in consumer.poll(timeout_ms=200).items():
        into.extend((tp.partition, r.offset, r.key, r.value) for r in records)


def _assert_exactly_once(received: list, sent: dict[str, tuple[int, str]]) -> None:
    keys = Counter(key for _, _, key, _ in received)
    duplicates = {key: n for key, n in keys.items() if n > 1}
    assert not duplicates, f"delivered more than once: {duplicates}"
    assert set(keys) == set(sent), f"missing keys: {sorted(set(sent) - set(keys))[:10]}"
    for partition, _offset, key, value in received:
        assert (partition, value) == sent[key], f"wrong partition/value for {key}"


def _assert_committed_at_end(admin: KafkaAdminClient, group: str, topic: str) -> None:
    tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]
    probe = KafkaConsumer(bootstrap_servers=BOOTSTRAP, group_id=None)
    try:
        end = probe.end_offsets(tps)
    finally:
        probe.close()
    committed = admin.list_group_offsets({group: tps})[group]
    assert {tp: committed[tp].offset for tp in tps} == end
    assert sum(end.values()) == MESSAGES


def test_roundtrip_exactly_once_and_committed() -> None:
    with _fresh_topic() as (admin, topic):
        _roundtrip(admin, topic)


def _roundtrip(admin: KafkaAdminClient, topic: str) -> None:
    sent = _produce(topic, run=_unique("run"))
    group = _unique("okr-test-group")
    consumer = _consumer(group)
    received: list = []
    try:
        _await_metadata(consumer, topic)
        consumer.subscribe([topic])
        deadline = time.monotonic() + DEADLINE_S
        while len(received) < MESSAGES and time.monotonic() < deadline:
            _drain(consumer, received)
        # A little longer: anything extra here would be a duplicate.
        for _ in range(3):
            _drain(consumer, received)
        consumer.commit()
    finally:
        consumer.close()

    assert len(received) == MESSAGES, f"got {len(received)} of {MESSAGES} within {DEADLINE_S}s"
    _assert_exactly_once(received, sent)
    # Per partition, offsets come back in order with no gaps.
    for p in range(PARTITIONS):
        offsets = [o for part, o, _, _ in received if part == p]
        assert offsets == list(range(len(offsets)))
    _assert_committed_at_end(admin, group, topic)
    admin.delete_groups([group])


def test_two_consumers_share_partitions() -> None:
    with _fresh_topic() as (admin, topic):
        _shared_group(admin, topic)


def _shared_group(admin: KafkaAdminClient, topic: str) -> None:
    group = _unique("okr-test-group")
    first, second = _consumer(group), _consumer(group)
    got: dict[str, list] = {"first": [], "second": []}
    consumers = {"first": first, "second": second}
    try:
        for consumer in consumers.values():
            _await_metadata(consumer, topic)
        # The first member joins alone and owns every partition ...
        first.subscribe([topic])
        deadline = time.monotonic() + DEADLINE_S
        while len(first.assignment()) < PARTITIONS and time.monotonic() < deadline:
            _drain(first, got["first"])
        assert len(first.assignment()) == PARTITIONS, "first consumer never got the partitions"
        # ... then the second joins, which forces a rebalance. Poll both (one
        # thread) until each owns part of the topic and together all of it.
        second.subscribe([topic])
        deadline = time.monotonic() + DEADLINE_S
        while time.monotonic() < deadline:
            for name, consumer in consumers.items():
                _drain(consumer, got[name])
            owned = [{tp.partition for tp in c.assignment()} for c in consumers.values()]
            if all(owned) and not owned[0] & owned[1] and owned[0] | owned[1] == ALL_PARTITIONS:
                break
        else:
            pytest.fail(f"group did not settle within {DEADLINE_S}s: {owned}")
        assert not got["first"] and not got["second"], "nothing was produced yet"

        sent = _produce(topic, run=_unique("run"))
        deadline = time.monotonic() + DEADLINE_S
        while len(got["first"]) + len(got["second"]) < MESSAGES and time.monotonic() < deadline:
            for name, consumer in consumers.items():
                _drain(consumer, got[name])
        for _ in range(3):  # anything extra now would be a duplicate
            for name, consumer in consumers.items():
                _drain(consumer, got[name])
        for consumer, mine in zip(consumers.values(), owned, strict=True):
            # No rebalance happened while reading.
            assert {tp.partition for tp in consumer.assignment()} == mine
            consumer.commit()
    finally:
        first.close()
        second.close()

    # Each member read only (and something from) its own partitions.
    for name, mine in zip(("first", "second"), owned, strict=True):
        assert got[name], f"{name} consumer received nothing"
        assert {p for p, _, _, _ in got[name]} <= mine
    _assert_exactly_once(got["first"] + got["second"], sent)
    _assert_committed_at_end(admin, group, topic)
    admin.delete_groups([group])
