"""The Kafka consumer of canonical issue events (SPEC §4): at least once in, exactly once out.

This module owns the loop: connect to the group, poll a batch, hand it to
``BatchApplier`` (``consumers.batches``: parse, apply per organization with
one ``save()`` each, dead-letter the rest) and only after the database has
committed and the dead letters are stored, commit the batch's offsets.

Why that is exactly once: Kafka redelivers whatever was not committed, so a
crash between the database commit and the offset commit replays a batch whose
effects are already stored. Every ``Issue`` aggregate remembers the
``event_id`` of its latest reports and the time up to which it has seen
everything (``Issue.verdict``), in the same transaction as the events that
event caused (on the issue and on the key results it moved), so the replay
finds each event already seen and changes nothing. No rebalance listener and no
Kafka transaction is needed.

A database that is unreachable (PostgreSQL restarting, SQLite locked) is not a
reason to skip anything: the same batch is retried with backoff until it
commits, and the loop resumes by itself once the database is back. An
unexpected error in one organization's save is retried a bounded number of
times and then dead-letters that organization's failing messages
(``consumers.batches``), so it neither stops the consumer nor replays
forever. Any other exception (a bug of the loop itself) stops the consumer
without committing, so nothing is lost and the crash is visible.

After each batch (and every few seconds when idle) the lag of every assigned
partition is set on ``okr_consumer_lag_messages``: the broker's high-water
mark, as the last fetch response reported it, minus the consumer's position
(which, after the batch's commit, is the committed offset). No request is
made for it.

Entry point: ``IssueEventConsumer(app, settings).run(stop_event)``. The
processes around it (``okr consume``, the thread of ``okr serve``) are in
``entrypoints.consumer_process``; nothing here reads the environment.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

from kafka import KafkaConsumer, TopicPartition  # type: ignore[import-untyped]
from kafka.errors import CommitFailedError, KafkaError  # type: ignore[import-untyped]
from kafka.structs import OffsetAndMetadata  # type: ignore[import-untyped]

from commands.issues import IssueCache
from consumers.batches import CONSUMER_USER, BatchApplier, ConsumerStats, IssueEventSink
from consumers.dead_letters import KafkaRecord
from consumers.ingestion_settings import IngestionSettings
from consumers.metrics import LAG
from consumers.retrying import until_done
from consumers.store_errors import describe

__all__ = ["IssueEventConsumer"]

log = logging.getLogger(__name__)

_REPORT_EVERY_SECONDS = 10.0
_IDLE_LAG_EVERY_SECONDS = 5.0


class IssueEventConsumer:
    """One member of the consumer group; ``run`` until ``stop_event`` is set."""

    def __init__(
        self,
        app: IssueEventSink,
        settings: IngestionSettings,
        *,
        consumer_config: Mapping[str, Any] | None = None,
    ) -> None:
        self.settings = settings
        self.batches = BatchApplier(app, settings)
        self.consumer_config = dict(consumer_config or {})
        self._last_report = time.monotonic()
        self._last_lag = 0.0
        self._lag_labels: set[tuple[str, str]] = set()

    @property
    def stats(self) -> ConsumerStats:
        return self.batches.stats

    @property
    def issues(self) -> IssueCache:
        return self.batches.issues

    def run(self, stop_event: threading.Event) -> None:
        """Consume until ``stop_event`` is set; the batch in hand is finished first.

        Offsets are committed only for batches whose effects are stored, so
        stopping (or dying) at any point loses nothing.
        """
        consumer = self._connect(stop_event)
        if consumer is None:
            return
        settings = self.settings
        log.info(
            "consuming %s as group %s (dead letters to %s, default organization %r)",
            settings.topic,
            settings.group,
            settings.dlq_topic,
            settings.default_organization,
        )
        try:
            while not stop_event.is_set():
                polled = consumer.poll(
                    timeout_ms=int(settings.poll_timeout * 1000),
                    max_records=settings.max_poll_records,
                )
                records: list[KafkaRecord] = [r for batch in polled.values() for r in batch]
                if not records:
                    if time.monotonic() - self._last_lag >= _IDLE_LAG_EVERY_SECONDS:
                        self._record_lag(consumer)
                    continue
                started = time.monotonic()
                if not self.handle_batch(records, stop_event):
                    log.info("stopped while the database was unavailable; batch not committed")
                    break
                self._commit(consumer, records)
                self._record_lag(consumer)
                self.stats.busy_seconds += time.monotonic() - started
                self._maybe_report()
        finally:
            self._close(consumer)

    def handle_batch(self, records: Sequence[KafkaRecord], stop_event: threading.Event) -> bool:
        """Apply one polled batch and store its dead letters; False if stopped before done."""
        return self.batches.apply(records, stop_event)

    def _connect(self, stop_event: threading.Event) -> Any:
        settings = self.settings
        config: dict[str, Any] = {
            "bootstrap_servers": settings.bootstrap_servers,
            "group_id": settings.group,
            "client_id": CONSUMER_USER,
            "enable_auto_commit": False,
            "auto_offset_reset": "earliest",
            "max_poll_records": settings.max_poll_records,
            "session_timeout_ms": settings.session_timeout_ms,
            "heartbeat_interval_ms": max(500, settings.session_timeout_ms // 3),
        }
        if settings.group_instance_id:
            config["group_instance_id"] = settings.group_instance_id
        config.update(self.consumer_config)

        def subscribed() -> Any:
            consumer = KafkaConsumer(**config)
            consumer.subscribe([settings.topic])
            return consumer

        if stop_event.is_set():
            return None
        return until_done(
            subscribed,
            stop_event=stop_event,
            unavailable=(KafkaError,),
            what="Kafka unavailable",
            first_delay=0.5,
            max_delay=settings.max_backoff,
        )

    def _commit(self, consumer: Any, records: Sequence[KafkaRecord]) -> None:
        """Commit the next offset of every partition in the batch (after it is stored)."""
        positions: dict[TopicPartition, int] = {}
        for record in records:
            partition = TopicPartition(record.topic, record.partition)
            positions[partition] = max(positions.get(partition, 0), record.offset + 1)
        try:
            consumer.commit({tp: OffsetAndMetadata(o, "", -1) for tp, o in positions.items()})
        except CommitFailedError as error:
            # The group rebalanced under us: whoever owns these partitions now
            # gets the batch again and drops every event as a duplicate.
            self.stats.commit_failures += 1
            log.warning("offset commit refused after a rebalance (%s)", describe(error))
        except KafkaError as error:
            # The next batch's commit covers these offsets too; until then a
            # restart merely replays events that are already applied.
            self.stats.commit_failures += 1
            log.warning("offset commit failed (%s)", describe(error))

    def _record_lag(self, consumer: Any) -> None:
        """Set the lag of each assigned partition; drop the series of partitions gone.

        Metrics never stop the consumer: a partition revoked meanwhile, or any
        other surprise, only leaves the series as they were.
        """
        self._last_lag = time.monotonic()
        labels: set[tuple[str, str]] = set()
        try:
            for tp in consumer.assignment():
                highwater = consumer.highwater(tp)
                if highwater is None:  # not fetched yet
                    continue
                position = consumer.position(tp, timeout_ms=100)
                if position is None:
                    continue
                label = (tp.topic, str(tp.partition))
                LAG.labels(*label).set(max(0, highwater - position))
                labels.add(label)
        except Exception as error:
            log.debug("consumer lag not measured (%s)", describe(error))
            return
        for gone in self._lag_labels - labels:
            LAG.remove(*gone)
        self._lag_labels = labels

    def _close(self, consumer: Any) -> None:
        try:
            consumer.close(autocommit=False)
        except Exception as error:  # closing must not hide why we stopped
            log.warning("closing the Kafka consumer failed (%s)", describe(error))
        self.batches.close()
        self._report()

    def _maybe_report(self) -> None:
        if time.monotonic() - self._last_report >= _REPORT_EVERY_SECONDS:
            self._report()

    def _report(self) -> None:
        self._last_report = time.monotonic()
        s = self.stats
        log.info(
            "consumed %d messages in %d batches (%.0f events/s): %d applied, %d older, "
            "%d duplicates, %d dead letters, %d database retries, %d retries after errors",
            s.messages,
            s.batches,
            s.events_per_second,
            s.applied,
            s.stale,
            s.duplicates,
            s.dead_letters,
            s.database_retries,
            s.retries,
        )
