"""One polled batch of messages in, its effects stored: parse, group, apply, set aside.

Every message is parsed (``parse_issue_event``); the bad ones become dead
letters. The good ones are grouped by organization (``organization_of``) and
each group is applied with ONE ``apply_issue_events`` call (one ``save()``,
one transaction): figure 2's throughput rests on that. A database that is
away is waited for (``until_done``), never skipped and never dead-lettered:
an outage must not turn into dead letters. A group the write side refuses is
applied again one event at a time, so that only the refused event becomes a
dead letter.

Any other error in a group's save (a bug, a corrupt aggregate) is retried
with backoff while the group's ``RetryBudget`` lasts (``max_retries``,
SPEC §10); then the group is applied one event at a time with what is left
of it, and the events that still fail become dead letters
(``unexpected_error: <type>: <message>``). The other organizations' groups
are applied as usual, so one organization cannot stop the consumer: no crash,
no replay of the same failure, no crash loop. The dead letters are stored
last; only then may the Kafka loop (``consumers.kafka_consumer``) commit the
batch's offsets.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Protocol

from kafka.errors import KafkaError  # type: ignore[import-untyped]

from commands.actor import Actor
from commands.issue_event import IssueEvent
from commands.issues import IssueCache, IssueOutcome
from consumers import dead_letters
from consumers.dead_letters import DeadLetter, DeadLetterWriter, KafkaRecord
from consumers.ingestion_settings import IngestionSettings
from consumers.issue_event import InvalidIssueEvent, parse_issue_event
from consumers.metrics import APPLIED, DEAD_LETTERS, DUPLICATES, RETRIES
from consumers.organizations import organization_of
from consumers.retrying import RetryBudget, until_done, within_budget
from consumers.store_errors import DATABASE_UNAVAILABLE, REFUSED_BY_WRITE_SIDE, describe
from domain.values import TokenRole

__all__ = ["CONSUMER_USER", "BatchApplier", "ConsumerStats", "IssueEventSink"]

log = logging.getLogger(__name__)

CONSUMER_USER: Final = "okr-consumer"
"""The ``user_id`` (and so the ``actor`` recorded on events) of the consumer."""

_KAFKA_UNAVAILABLE: Final[tuple[type[BaseException], ...]] = (KafkaError,)


class IssueEventSink(Protocol):
    """The one write the consumer needs (``OkrApplication`` provides it)."""

    def apply_issue_events(
        self, actor: Actor, reports: Sequence[IssueEvent], cache: IssueCache | None = None
    ) -> list[IssueOutcome]: ...


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
    retries: int = 0  # of a group or one event after an unexpected error
    dead_letter_retries: int = 0  # writes of a batch's letters tried again (topic away)
    commit_failures: int = 0
    busy_seconds: float = 0.0

    @property
    def events_per_second(self) -> float:
        return self.messages / self.busy_seconds if self.busy_seconds else 0.0

    def count(self, records: Sequence[KafkaRecord], outcomes: Sequence[IssueOutcome]) -> None:
        """Totals and the per-partition series (an outcome per record, in order)."""
        for record, outcome in zip(records, outcomes, strict=True):
            labels = (record.topic, str(record.partition))
            if outcome.duplicate:
                self.duplicates += 1
                DUPLICATES.labels(*labels).inc()
            elif outcome.applied:
                self.applied += 1
                APPLIED.labels(*labels).inc()
            else:
                self.stale += 1


_Item = tuple[KafkaRecord, IssueEvent]


def _unexpected(error: BaseException) -> bool:
    """Worth a retry from the budget: neither a refusal (never passes) nor a stop request."""
    return isinstance(error, Exception) and not isinstance(error, REFUSED_BY_WRITE_SIDE)


def _count_retry(items: Sequence[_Item]) -> None:
    """One retry of every partition the retried events came from."""
    for topic, partition in sorted({(r.topic, r.partition) for r, _ in items}):
        RETRIES.labels(topic, str(partition)).inc()


class BatchApplier:
    """Applies polled batches for one consumer; owns its issue cache and dead-letter writer."""

    def __init__(self, app: IssueEventSink, settings: IngestionSettings) -> None:
        self.app = app
        self.settings = settings
        # This process's issues as it last saved them: no reload per event (see IssueCache).
        self.issues = IssueCache()
        self.stats = ConsumerStats()
        self._dead_letters: DeadLetterWriter | None = None

    def apply(self, records: Sequence[KafkaRecord], stop_event: threading.Event) -> bool:
        """Apply one polled batch and store its dead letters; False if stopped before done."""
        letters: list[DeadLetter] = []
        by_organization: dict[str, list[_Item]] = {}
        default = self.settings.default_organization
        for record in records:
            try:
                organization = organization_of(record, default)
                if record.value is None:
                    raise InvalidIssueEvent("empty message (no value)")
                event = parse_issue_event(record.value)
            except InvalidIssueEvent as invalid:
                letters.append(DeadLetter.of(record, invalid.reason))
                continue
            by_organization.setdefault(organization, []).append((record, event))

        for organization, items in by_organization.items():
            if not self._apply_group(organization, items, letters, stop_event):
                return False
        if letters and self._store_letters(letters, stop_event) is None:
            return False
        self.stats.batches += 1
        self.stats.messages += len(records)
        self.stats.dead_letters += len(letters)
        for letter in letters:
            DEAD_LETTERS.labels(letter.topic, str(letter.partition), letter.kind).inc()
        return True

    def close(self) -> None:
        """Close the dead-letter producer, if one was made."""
        if self._dead_letters is not None:
            self._dead_letters.close()
            self._dead_letters = None

    def _apply_group(
        self,
        organization: str,
        items: Sequence[_Item],
        letters: list[DeadLetter],
        stop_event: threading.Event,
    ) -> bool:
        actor = Actor(organization, CONSUMER_USER, TokenRole.INTEGRATION)
        budget = RetryBudget(self.settings.max_retries)
        try:
            outcomes = self._save(actor, items, budget, stop_event)
        except REFUSED_BY_WRITE_SIDE as refused:
            log.warning(
                "the write side refused a batch of %d events of %r (%s); "
                "applying them one at a time to isolate the refused ones",
                len(items),
                organization,
                describe(refused),
            )
            return self._apply_one_by_one(actor, items, letters, budget, stop_event)
        except Exception as error:
            if len(items) == 1:
                letters.append(self._unexpected_letter(items[0][0], error))
                return True
            log.error(
                "a batch of %d events of %r kept failing (%s); "
                "applying them one at a time to set aside the failing ones",
                len(items),
                organization,
                describe(error),
            )
            return self._apply_one_by_one(actor, items, letters, budget, stop_event)
        if outcomes is None:
            return False
        self.stats.count([record for record, _ in items], outcomes)
        return True

    def _apply_one_by_one(
        self,
        actor: Actor,
        items: Sequence[_Item],
        letters: list[DeadLetter],
        budget: RetryBudget,
        stop_event: threading.Event,
    ) -> bool:
        for item in items:
            record = item[0]
            try:
                outcomes = self._save(actor, [item], budget, stop_event)
            except REFUSED_BY_WRITE_SIDE as refused:
                letters.append(
                    DeadLetter.of(
                        record,
                        f"refused by the write side: {describe(refused)}",
                        dead_letters.REFUSED_BY_WRITE_SIDE,
                    )
                )
                continue
            except Exception as error:
                letters.append(self._unexpected_letter(record, error))
                continue
            if outcomes is None:
                return False
            self.stats.count([record], outcomes)
        return True

    def _unexpected_letter(self, record: KafkaRecord, error: BaseException) -> DeadLetter:
        """The dead letter of an event whose save failed unexpectedly, retries spent."""
        reason = f"{dead_letters.UNEXPECTED_ERROR}: {describe(error)}"
        log.error(
            "giving up on %s:%s:%s: %s", record.topic, record.partition, record.offset, reason
        )
        return DeadLetter.of(record, reason, dead_letters.UNEXPECTED_ERROR)

    def _save(
        self,
        actor: Actor,
        items: Sequence[_Item],
        budget: RetryBudget,
        stop_event: threading.Event,
    ) -> list[IssueOutcome] | None:
        """One ``apply_issue_events`` call: a database that is away is waited for without
        end; an unexpected error is tried again while ``budget`` lasts, then raised."""
        events = [event for _, event in items]

        def stored() -> list[IssueOutcome] | None:
            try:
                return until_done(
                    lambda: self.app.apply_issue_events(actor, events, self.issues),
                    stop_event=stop_event,
                    unavailable=DATABASE_UNAVAILABLE,
                    what="database unavailable",
                    first_delay=0.2,
                    max_delay=self.settings.max_backoff,
                    on_retry=lambda _: self._count_database_retry(items),
                )
            except BaseException:
                # The failed save may have left unsaved changes on cached
                # aggregates (whoever raised): start again from the store.
                self.issues.clear()
                raise

        def retried(_: BaseException) -> None:
            self.stats.retries += 1
            _count_retry(items)

        return within_budget(
            stored,
            budget=budget,
            stop_event=stop_event,
            retry_on=_unexpected,
            what=f"saving {len(events)} events of {actor.organization_id!r} failed",
            first_delay=0.2,
            max_delay=self.settings.max_backoff,
            on_retry=retried,
        )

    def _count_database_retry(self, items: Sequence[_Item]) -> None:
        self.stats.database_retries += 1
        _count_retry(items)

    def _store_letters(
        self, letters: Sequence[DeadLetter], stop_event: threading.Event
    ) -> int | None:
        """Write the dead letters, waiting out a broker that is away."""
        return until_done(
            lambda: self._write(letters),
            stop_event=stop_event,
            unavailable=_KAFKA_UNAVAILABLE,
            what="dead-letter topic unavailable",
            first_delay=0.2,
            max_delay=self.settings.max_backoff,
            on_retry=self._count_dead_letter_retry,
        )

    def _count_dead_letter_retry(self, _: BaseException) -> None:
        self.stats.dead_letter_retries += 1

    def _write(self, letters: Sequence[DeadLetter]) -> int:
        """Store the letters; returns how many (never None: None means "stopped")."""
        if self._dead_letters is None:
            self._dead_letters = DeadLetterWriter(self.settings.bootstrap, self.settings.dlq_topic)
        self._dead_letters.write(letters)
        for letter in letters:
            log.warning("dead letter %s: %s", letter.source, letter.reason)
        return len(letters)
