"""The dead-letter path: messages the consumer cannot apply, kept for a human.

This module owns the record written to ``okr.issue-events.dlq`` for a message
that failed to parse or validate (SPEC §4: "the consumer goes on"):

- value and key: the ORIGINAL bytes, unchanged (``None`` stays ``None``);
- headers: the original ones, plus ``okr-dlq-reason`` (UTF-8, the
  ``InvalidIssueEvent`` reason, ``refused by the write side: …`` or
  ``unexpected_error: …``, at most 500 characters) and ``okr-dlq-source``
  (``"<topic>:<partition>:<offset>"`` of the original message).

``DeadLetterWriter.write`` returns only once the broker has stored every
letter (``acks="all"``); the consumer calls it before committing the offsets
of the batch, so a crash can duplicate a dead letter but never lose one.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Final, Protocol

from kafka import KafkaProducer  # type: ignore[import-untyped]
from kafka.errors import KafkaError, MessageSizeTooLargeError  # type: ignore[import-untyped]

__all__ = [
    "DLQ_REASON_HEADER",
    "DLQ_SOURCE_HEADER",
    "DLQ_VALUE_OMITTED_HEADER",
    "INVALID_MESSAGE",
    "REFUSED_BY_WRITE_SIDE",
    "UNEXPECTED_ERROR",
    "DeadLetter",
    "DeadLetterWriter",
    "KafkaRecord",
]

log = logging.getLogger(__name__)

DLQ_REASON_HEADER: Final = "okr-dlq-reason"
DLQ_SOURCE_HEADER: Final = "okr-dlq-source"
DLQ_VALUE_OMITTED_HEADER: Final = "okr-dlq-value-omitted"
"""Set (to the original size in bytes) only when the broker refused the letter as
too large even though it accepted the original: the value is then left out and
the original stays readable at ``okr-dlq-source`` until the topic's retention."""

# Why a message was set aside, in three words: the ``reason`` label of the
# dead-letter metric (few values, unlike the ``okr-dlq-reason`` header's text).
INVALID_MESSAGE: Final = "invalid_message"
"""It could not be parsed or validated (or its organization header is bad)."""
REFUSED_BY_WRITE_SIDE: Final = "refused_by_write_side"
"""The write side refused it outright (a domain rule, a value the database refuses)."""
UNEXPECTED_ERROR: Final = "unexpected_error"
"""Its organization's save kept failing with an unexpected error, retries spent (SPEC §10)."""

_OUR_HEADERS: Final = frozenset({DLQ_REASON_HEADER, DLQ_SOURCE_HEADER, DLQ_VALUE_OMITTED_HEADER})


class KafkaRecord(Protocol):
    """What the consumer and the dead-letter path read of a kafka-python ``ConsumerRecord``."""

    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes | None: ...
    @property
    def headers(self) -> Sequence[tuple[str, bytes | None]] | None: ...


@dataclass(frozen=True)
class DeadLetter:
    """One message that will not be applied, and why."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes | None], ...]
    reason: str
    value_omitted: int | None = None
    kind: str = INVALID_MESSAGE
    """One of ``INVALID_MESSAGE``, ``REFUSED_BY_WRITE_SIDE``, ``UNEXPECTED_ERROR``."""

    @classmethod
    def of(cls, record: KafkaRecord, reason: str, kind: str = INVALID_MESSAGE) -> DeadLetter:
        return cls(
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            key=record.key,
            value=record.value,
            headers=tuple(record.headers or ()),
            reason=reason,
            kind=kind,
        )

    @property
    def source(self) -> str:
        """``"<topic>:<partition>:<offset>"`` of the original message."""
        return f"{self.topic}:{self.partition}:{self.offset}"

    def kafka_headers(self) -> list[tuple[str, bytes]]:
        """The original headers (minus any earlier ``okr-dlq-*``) and ours.

        A null header value is written as empty bytes (kafka-python cannot send null).
        """
        headers = [(name, value or b"") for name, value in self.headers if name not in _OUR_HEADERS]
        headers.append((DLQ_REASON_HEADER, self.reason.encode("utf-8", "replace")))
        headers.append((DLQ_SOURCE_HEADER, self.source.encode("utf-8")))
        if self.value_omitted is not None:
            headers.append((DLQ_VALUE_OMITTED_HEADER, str(self.value_omitted).encode("ascii")))
        return headers

    def without_value(self) -> DeadLetter:
        return replace(self, value=None, value_omitted=len(self.value or b""))


class DeadLetterWriter:
    """A producer for the dead-letter topic that reports success only once stored.

    kafka-python's producer is idempotent, and an idempotent producer that
    meets a fatal error (the broker refusing a record as too large, for one)
    refuses every later send for good. So a failed write renews the producer:
    the caller's next try, once the topic takes letters again, goes through
    instead of failing forever.
    """

    def __init__(
        self,
        bootstrap: str,
        topic: str,
        *,
        client_id: str = "okr-dead-letters",
        **producer_config: Any,
    ) -> None:
        self.topic = topic
        self._config: dict[str, Any] = {
            "bootstrap_servers": [s.strip() for s in bootstrap.split(",") if s.strip()],
            "client_id": client_id,
            "acks": "all",
            "linger_ms": 5,
            # The broker, not this client, decides what is too large: the
            # original fitted, and our two headers add well under a kilobyte.
            "max_request_size": 4 * 1024 * 1024,
            **producer_config,
        }
        self._producer = KafkaProducer(**self._config)

    def write(self, letters: Sequence[DeadLetter], timeout: float = 30.0) -> None:
        """Store every letter on the broker, or raise (a ``KafkaError``).

        A caller that gets an error must not commit past these messages: it
        retries the write (the topic may then hold a letter twice).
        """
        try:
            self._write(letters, timeout)
        except KafkaError:
            self._renew()
            raise

    def _write(self, letters: Sequence[DeadLetter], timeout: float) -> None:
        if not letters:
            return
        too_large: list[DeadLetter] = []
        refused_by_broker = False
        sent = []
        for letter in letters:
            try:
                sent.append((letter, self._send(letter)))
            except MessageSizeTooLargeError:  # refused before sending, by this client
                if letter.value_omitted is not None:
                    raise
                too_large.append(letter.without_value())
        self._producer.flush(timeout=timeout)
        for letter, future in sent:
            try:
                future.get(timeout=0)
            except MessageSizeTooLargeError:
                if letter.value_omitted is not None:
                    raise
                too_large.append(letter.without_value())
                refused_by_broker = True
        if too_large:
            log.warning(
                "%d dead letter(s) too large for %s; writing them without their value",
                len(too_large),
                self.topic,
            )
            if refused_by_broker:  # that refusal was fatal to this producer
                self._renew()
            self._write(too_large, timeout)

    def _renew(self) -> None:
        """A fresh producer in place of one that may refuse every send from now on."""
        try:
            self._producer.close(timeout=0)
        except Exception as error:  # a broken producer may fail to close, too
            log.warning("closing the dead-letter producer failed (%s)", error)
        self._producer = KafkaProducer(**self._config)

    def _send(self, letter: DeadLetter) -> Any:
        return self._producer.send(
            self.topic, key=letter.key, value=letter.value, headers=letter.kafka_headers()
        )

    def close(self, timeout: float = 10.0) -> None:
        self._producer.close(timeout=timeout)
