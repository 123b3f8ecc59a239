"""The Kafka consumer of canonical issue events (SPEC §4): at least once in, exactly once out.

This module owns the loop that turns messages on ``okr.issue-events`` into
writes: poll a batch, parse every message (``parse_issue_event``), send the
bad ones to the dead-letter topic (``consumers.dead_letters``), group the good
ones by organization (header ``okr-organization``, else
``OKR_ISSUE_ORGANIZATION``) and apply each group with ONE
``apply_issue_reports`` call (one ``save()``, one transaction); only after the
database has committed and the dead letters are stored are the batch's offsets
committed to Kafka.

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
commits, and the loop resumes by itself once the database is back. A report
the write side refuses outright (a domain rule, a value the database rejects)
is isolated by applying the batch one report at a time, and only the refused
report goes to the dead-letter topic. Any other exception stops the consumer
without committing, so nothing is lost and the crash is visible.

Entry points: ``IssueEventConsumer(app, settings).run(stop_event)``;
``run_consumer(settings)`` for ``okr consume``; ``start_consumer_thread(app,
settings)`` for ``okr serve`` to consume in-process; ``main()`` (also
``python -m consumers.kafka_consumer``).
"""

from __future__ import annotations

import logging
import os
import random
import signal
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Protocol, TypeVar

import psycopg
from eventsourcing.persistence import DataError as StoreDataError
from eventsourcing.persistence import IntegrityError as StoreIntegrityError
from eventsourcing.persistence import InterfaceError as StoreInterfaceError
from eventsourcing.persistence import OperationalError as StoreOperationalError
from kafka import KafkaConsumer, TopicPartition  # type: ignore[import-untyped]
from kafka.errors import CommitFailedError, KafkaError  # type: ignore[import-untyped]
from kafka.structs import OffsetAndMetadata  # type: ignore[import-untyped]
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from commands.actor import Actor
from commands.issues import IssueCache, IssueOutcome, IssueReport
from consumers.dead_letters import DeadLetter, DeadLetterWriter, KafkaRecord
from consumers.issue_event import InvalidIssueEvent, IssueEvent, parse_issue_event
from consumers.publisher import ORGANIZATION_HEADER
from domain.errors import DomainError
from domain.text import storable
from domain.values import TokenRole

if TYPE_CHECKING:
    from entrypoints.bootstrap import Runtime
    from entrypoints.settings import Settings

__all__ = [
    "CONSUMER_USER",
    "DATABASE_UNAVAILABLE",
    "REFUSED_BY_WRITE_SIDE",
    "ConsumerStats",
    "IngestionSettings",
    "IssueEventConsumer",
    "IssueReportSink",
    "RunningConsumer",
    "check_organization",
    "ensure_storable",
    "issue_report",
    "main",
    "organization_of",
    "run_consumer",
    "start_consumer_thread",
]

log = logging.getLogger(__name__)

T = TypeVar("T")

CONSUMER_USER: Final = "okr-consumer"
"""The ``user_id`` (and so the ``actor`` recorded on events) of the consumer."""

MAX_ORGANIZATION_CHARS: Final = 200

DATABASE_UNAVAILABLE: Final[tuple[type[BaseException], ...]] = (
    StoreOperationalError,
    StoreInterfaceError,
    # apply_issue_reports retries version clashes itself; one that still
    # escapes means heavy contention, which passes: retry the batch.
    StoreIntegrityError,
    psycopg.OperationalError,  # includes psycopg_pool.PoolTimeout
    psycopg.InterfaceError,
    sqlite3.OperationalError,  # "database is locked"
    sqlite3.InterfaceError,
    ConnectionError,
    TimeoutError,
)
"""Errors that say "the database is not there right now": retry the same batch."""

_KAFKA_UNAVAILABLE: Final[tuple[type[BaseException], ...]] = (KafkaError,)

REFUSED_BY_WRITE_SIDE: Final[tuple[type[BaseException], ...]] = (
    DomainError,
    StoreDataError,
    psycopg.DataError,
    sqlite3.DataError,
)
"""Errors that say "this report can never be applied": isolate it, dead-letter it."""


class IngestionSettings(BaseSettings):
    """The consumer's own ``OKR_`` variables (beside ``entrypoints.settings.Settings``)."""

    model_config = SettingsConfigDict(env_prefix="OKR_", extra="ignore")

    issue_organization: str = Field(
        default="default",
        min_length=1,
        max_length=MAX_ORGANIZATION_CHARS,
        description="organization of a message without an okr-organization header "
        "(a webhook's is always its registration's)",
    )
    kafka_group_instance_id: str | None = Field(
        default=None,
        description="static group membership (KIP-345): a restarted consumer with the same "
        "id takes its partitions back at once, without waiting for a rebalance",
    )
    kafka_session_timeout_ms: int = Field(default=10_000, ge=1_000)
    kafka_max_poll_records: int = Field(default=500, ge=1, le=10_000)
    consumer_max_backoff: float = Field(
        default=10.0, gt=0, description="longest wait, in seconds, between database retries"
    )


class IssueReportSink(Protocol):
    """The one write the consumer needs (``OkrApplication`` provides it)."""

    def apply_issue_reports(
        self, actor: Actor, reports: Sequence[IssueReport], cache: IssueCache | None = None
    ) -> list[IssueOutcome]: ...


def issue_report(event: IssueEvent) -> IssueReport:
    """The write side's command for one canonical event."""
    return IssueReport(
        event_id=event.event_id,
        tracker=event.tracker,
        issue_key=event.issue_key,
        status=event.status,
        occurred_at=event.occurred_at,
        raw_status=event.raw_status,
        title=event.title,
        url=event.url,
        estimate=event.estimate,
    )


def check_organization(value: str, where: str = ORGANIZATION_HEADER) -> str:
    """``value`` if it is a usable organization id, else ``InvalidIssueEvent``."""
    if not value.strip() or value != value.strip():
        raise InvalidIssueEvent(f"{where} is blank or has surrounding whitespace")
    if len(value) > MAX_ORGANIZATION_CHARS:
        raise InvalidIssueEvent(f"{where} is longer than {MAX_ORGANIZATION_CHARS} characters")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        raise InvalidIssueEvent(f"{where} contains control characters")
    return value


def organization_of(record: KafkaRecord, default: str) -> str:
    """The ``okr-organization`` header, else ``default``; ``InvalidIssueEvent`` if unusable."""
    values = [value for name, value in record.headers or () if name == ORGANIZATION_HEADER]
    if not values:
        return default
    if len(set(values)) > 1:
        raise InvalidIssueEvent(f"header {ORGANIZATION_HEADER} is given twice, differently")
    try:
        organization = (values[0] or b"").decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidIssueEvent(f"header {ORGANIZATION_HEADER} is not valid UTF-8") from None
    return check_organization(organization, f"header {ORGANIZATION_HEADER}")


def ensure_storable(event: IssueEvent) -> IssueEvent:
    """Refuse text no store can keep (``domain.text.storable``: NUL, lone surrogates).

    ``parse_issue_event`` accepts ``"\\u0000"`` inside strings. The write side
    refuses such a report too, but only as part of a whole batch; catching it
    here makes it one dead letter with a plain reason, like any invalid message.
    """
    for name in ("event_id", "tracker", "issue_key", "raw_status", "title", "url"):
        value = getattr(event, name)
        if isinstance(value, str) and not storable(value):
            raise InvalidIssueEvent(
                f"{name}: contains characters that cannot be stored (NUL or lone surrogate)"
            )
    return event


def _describe(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text[:300]}" if text else type(error).__name__


@dataclass
class ConsumerStats:
    """Running totals, for logs and tests."""

    batches: int = 0
    messages: int = 0
    applied: int = 0
    stale: int = 0  # recorded for the audit trail, older than the issue's status
    duplicates: int = 0
    dead_letters: int = 0
    database_retries: int = 0
    commit_failures: int = 0
    busy_seconds: float = 0.0

    @property
    def events_per_second(self) -> float:
        return self.messages / self.busy_seconds if self.busy_seconds else 0.0


class IssueEventConsumer:
    """One member of the consumer group; ``run`` until ``stop_event`` is set."""

    def __init__(
        self,
        app: IssueReportSink,
        settings: Settings,
        *,
        topic: str | None = None,
        group: str | None = None,
        dlq_topic: str | None = None,
        bootstrap: str | None = None,
        default_organization: str | None = None,
        group_instance_id: str | None = None,
        max_poll_records: int | None = None,
        max_backoff: float | None = None,
        poll_timeout: float = 1.0,
        consumer_config: Mapping[str, Any] | None = None,
        ingestion: IngestionSettings | None = None,
    ) -> None:
        ingestion = ingestion or IngestionSettings()
        bootstrap = bootstrap or settings.kafka_bootstrap
        if not bootstrap:
            raise ValueError("no Kafka bootstrap servers: set OKR_KAFKA_BOOTSTRAP")
        self.app = app
        self.bootstrap = bootstrap
        self.topic = topic or settings.kafka_topic
        self.group = group or settings.kafka_group
        self.dlq_topic = dlq_topic or settings.kafka_dlq_topic
        self.default_organization = default_organization or ingestion.issue_organization
        self.group_instance_id = group_instance_id or ingestion.kafka_group_instance_id
        self.session_timeout_ms = ingestion.kafka_session_timeout_ms
        self.max_poll_records = max_poll_records or ingestion.kafka_max_poll_records
        self.max_backoff = max_backoff or ingestion.consumer_max_backoff
        # This process's issues as it last saved them: no reload per report (see IssueCache).
        self.issues = IssueCache()
        self.poll_timeout = poll_timeout
        self.consumer_config = dict(consumer_config or {})
        self.stats = ConsumerStats()
        self._dead_letters: DeadLetterWriter | None = None
        self._last_report = time.monotonic()

    # ------------------------------------------------------------------ loop

    def run(self, stop_event: threading.Event) -> None:
        """Consume until ``stop_event`` is set; the batch in hand is finished first.

        Offsets are committed only for batches whose effects are stored, so
        stopping (or dying) at any point loses nothing.
        """
        consumer = self._connect(stop_event)
        if consumer is None:
            return
        log.info(
            "consuming %s as group %s (dead letters to %s, default organization %r)",
            self.topic,
            self.group,
            self.dlq_topic,
            self.default_organization,
        )
        try:
            while not stop_event.is_set():
                polled = consumer.poll(
                    timeout_ms=int(self.poll_timeout * 1000), max_records=self.max_poll_records
                )
                records: list[KafkaRecord] = [r for batch in polled.values() for r in batch]
                if not records:
                    continue
                started = time.monotonic()
                if not self.handle_batch(records, stop_event):
                    log.info("stopped while the database was unavailable; batch not committed")
                    break
                self._commit(consumer, records)
                self.stats.busy_seconds += time.monotonic() - started
                self._maybe_report()
        finally:
            self._close(consumer)

    def handle_batch(self, records: Sequence[KafkaRecord], stop_event: threading.Event) -> bool:
        """Apply one polled batch and store its dead letters; False if stopped before done."""
        letters: list[DeadLetter] = []
        by_organization: dict[str, list[tuple[KafkaRecord, IssueReport]]] = {}
        for record in records:
            try:
                organization = organization_of(record, self.default_organization)
                if record.value is None:
                    raise InvalidIssueEvent("empty message (no value)")
                event = ensure_storable(parse_issue_event(record.value))
            except InvalidIssueEvent as invalid:
                letters.append(DeadLetter.of(record, invalid.reason))
                continue
            by_organization.setdefault(organization, []).append((record, issue_report(event)))

        for organization, items in by_organization.items():
            if not self._apply(organization, items, letters, stop_event):
                return False
        if (
            letters
            and self._retrying(
                stop_event, "dead-letter topic", _KAFKA_UNAVAILABLE, self._write, letters
            )
            is None
        ):
            return False
        self.stats.batches += 1
        self.stats.messages += len(records)
        self.stats.dead_letters += len(letters)
        return True

    # ------------------------------------------------------------- applying

    def _apply(
        self,
        organization: str,
        items: Sequence[tuple[KafkaRecord, IssueReport]],
        letters: list[DeadLetter],
        stop_event: threading.Event,
    ) -> bool:
        actor = Actor(organization, CONSUMER_USER, TokenRole.INTEGRATION)
        reports = [report for _, report in items]
        try:
            outcomes = self._retrying(
                stop_event,
                "database",
                DATABASE_UNAVAILABLE,
                self.app.apply_issue_reports,
                actor,
                reports,
                self.issues,
            )
        except REFUSED_BY_WRITE_SIDE as refused:
            log.warning(
                "the write side refused a batch of %d reports of %r (%s); "
                "applying them one at a time to isolate the refused ones",
                len(reports),
                organization,
                _describe(refused),
            )
            return self._apply_one_by_one(actor, items, letters, stop_event)
        if outcomes is None:
            return False
        self._count(outcomes)
        return True

    def _apply_one_by_one(
        self,
        actor: Actor,
        items: Sequence[tuple[KafkaRecord, IssueReport]],
        letters: list[DeadLetter],
        stop_event: threading.Event,
    ) -> bool:
        for record, report in items:
            try:
                outcomes = self._retrying(
                    stop_event,
                    "database",
                    DATABASE_UNAVAILABLE,
                    self.app.apply_issue_reports,
                    actor,
                    [report],
                    self.issues,
                )
            except REFUSED_BY_WRITE_SIDE as refused:
                letters.append(
                    DeadLetter.of(record, f"refused by the write side: {_describe(refused)}")
                )
                continue
            if outcomes is None:
                return False
            self._count(outcomes)
        return True

    def _retrying(
        self,
        stop_event: threading.Event,
        what: str,
        unavailable: tuple[type[BaseException], ...],
        call: Callable[..., T],
        *args: Any,
    ) -> T | None:
        """``call(*args)`` until it stops raising ``unavailable``; None if stopped meanwhile."""
        failures = 0
        while True:
            try:
                return call(*args)
            except unavailable as error:
                delay = min(self.max_backoff, 0.2 * 2**failures) * random.uniform(0.75, 1.25)
                failures += 1
                if what == "database":
                    self.stats.database_retries += 1
                log.warning(
                    "%s unavailable (%s); retrying the same batch in %.1f s (attempt %d)",
                    what,
                    _describe(error),
                    delay,
                    failures,
                )
                if stop_event.wait(delay):
                    return None

    def _count(self, outcomes: Sequence[IssueOutcome]) -> None:
        for outcome in outcomes:
            if outcome.duplicate:
                self.stats.duplicates += 1
            elif outcome.applied:
                self.stats.applied += 1
            else:
                self.stats.stale += 1

    def _write(self, letters: Sequence[DeadLetter]) -> int:
        """Store the letters; returns how many (never None: None means "stopped")."""
        if self._dead_letters is None:
            self._dead_letters = DeadLetterWriter(self.bootstrap, self.dlq_topic)
        self._dead_letters.write(letters)
        for letter in letters:
            log.warning("dead letter %s: %s", letter.source, letter.reason)
        return len(letters)

    # --------------------------------------------------------------- kafka

    def _connect(self, stop_event: threading.Event) -> Any:
        config: dict[str, Any] = {
            "bootstrap_servers": [s.strip() for s in self.bootstrap.split(",") if s.strip()],
            "group_id": self.group,
            "client_id": CONSUMER_USER,
            "enable_auto_commit": False,
            "auto_offset_reset": "earliest",
            "max_poll_records": self.max_poll_records,
            "session_timeout_ms": self.session_timeout_ms,
            "heartbeat_interval_ms": max(500, self.session_timeout_ms // 3),
        }
        if self.group_instance_id:
            config["group_instance_id"] = self.group_instance_id
        config.update(self.consumer_config)
        failures = 0
        while not stop_event.is_set():
            try:
                consumer = KafkaConsumer(**config)
                consumer.subscribe([self.topic])
                return consumer
            except KafkaError as error:
                delay = min(self.max_backoff, 0.5 * 2**failures)
                failures += 1
                log.warning("Kafka unavailable (%s); retrying in %.1f s", _describe(error), delay)
                stop_event.wait(delay)
        return None

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
            log.warning("offset commit refused after a rebalance (%s)", _describe(error))
        except KafkaError as error:
            # The next batch's commit covers these offsets too; until then a
            # restart merely replays events that are already applied.
            self.stats.commit_failures += 1
            log.warning("offset commit failed (%s)", _describe(error))

    def _close(self, consumer: Any) -> None:
        try:
            consumer.close(autocommit=False)
        except Exception as error:  # closing must not hide why we stopped
            log.warning("closing the Kafka consumer failed (%s)", _describe(error))
        if self._dead_letters is not None:
            self._dead_letters.close()
            self._dead_letters = None
        self._report()

    def _maybe_report(self) -> None:
        if time.monotonic() - self._last_report >= 10.0:
            self._report()

    def _report(self) -> None:
        self._last_report = time.monotonic()
        s = self.stats
        log.info(
            "consumed %d messages in %d batches (%.0f events/s): %d applied, %d older, "
            "%d duplicates, %d dead letters, %d database retries",
            s.messages,
            s.batches,
            s.events_per_second,
            s.applied,
            s.stale,
            s.duplicates,
            s.dead_letters,
            s.database_retries,
        )


# ---------------------------------------------------------------- in-process


@dataclass
class RunningConsumer:
    """A consumer running in a daemon thread; ``stop()`` finishes its batch and joins."""

    consumer: IssueEventConsumer
    thread: threading.Thread
    stop_event: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None

    def stop(self, timeout: float | None = 30.0) -> bool:
        """Ask it to stop and wait; True once the thread has ended."""
        self.stop_event.set()
        self.thread.join(timeout)
        return not self.thread.is_alive()


def start_consumer_thread(
    app: IssueReportSink, settings: Settings, **options: Any
) -> RunningConsumer:
    """Consume in this process (``okr serve`` with ``OKR_KAFKA_BOOTSTRAP`` set).

    The thread restarts the consumer after an unexpected error (with backoff,
    the error kept on ``.error``), so the server's ingestion does not die
    silently; stop it with ``.stop()`` before closing the application.
    """
    consumer = IssueEventConsumer(app, settings, **options)
    stop_event = threading.Event()
    running = RunningConsumer(consumer, threading.Thread(), stop_event)

    def supervise() -> None:
        delay = 1.0
        while not stop_event.is_set():
            try:
                consumer.run(stop_event)
                return
            except Exception as error:
                running.error = error
                log.exception("issue-event consumer failed; restarting in %.0f s", delay)
                stop_event.wait(delay)
                delay = min(delay * 2, 60.0)

    running.thread = threading.Thread(target=supervise, name="okr-issue-consumer", daemon=True)
    running.thread.start()
    return running


# ------------------------------------------------------------------ process


def _build_runtime(settings: Settings, stop_event: threading.Event) -> Runtime | None:
    """``build_runtime``, waiting for a database that is not up yet."""
    from entrypoints.bootstrap import build_runtime

    failures = 0
    while not stop_event.is_set():
        try:
            return build_runtime(settings)
        except DATABASE_UNAVAILABLE as error:
            delay = min(10.0, 0.5 * 2**failures)
            failures += 1
            log.warning(
                "database unavailable at start (%s); retrying in %.1f s", _describe(error), delay
            )
            stop_event.wait(delay)
    return None


def run_consumer(
    settings: Settings | None = None, stop_event: threading.Event | None = None
) -> int:
    """``okr consume``: consume until SIGTERM or SIGINT, then finish the batch and close.

    Returns the process exit status.
    """
    from entrypoints.settings import Settings

    settings = settings or Settings()
    if not settings.kafka_bootstrap:
        log.error("OKR_KAFKA_BOOTSTRAP is not set: there is no Kafka topic to consume")
        return 2
    stop_event = stop_event or threading.Event()
    if threading.current_thread() is threading.main_thread():

        def request_stop(signum: int, _: object) -> None:
            log.info("%s: finishing the current batch, then stopping", signal.Signals(signum).name)
            stop_event.set()
            # A second signal is not ignored: it ends the process at once
            # (safe too: uncommitted offsets are simply consumed again).
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)

        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)

    runtime = _build_runtime(settings, stop_event)
    if runtime is None:
        return 0
    try:
        IssueEventConsumer(runtime.app, settings).run(stop_event)
    finally:
        runtime.close()
    return 0


def main() -> int:
    """``python -m consumers.kafka_consumer``: the same as ``okr consume``."""
    logging.basicConfig(
        level=os.environ.get("OKR_LOG_LEVEL", "INFO").upper(),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    return run_consumer()


if __name__ == "__main__":
    sys.exit(main())
