"""Publishing canonical issue events to Kafka: the producer side of SPEC §4.

This module owns the message a producer writes on ``okr.issue-events``: the
value is ``encode_issue_event(event)``, the key is ``event.message_key``
(``"<tracker>:<issue_key>"``, so every event of one issue lands on one
partition, in order) and the header ``okr-organization`` names the tenant the
event belongs to (the canonical event itself has no organization).

The webhook endpoint publishes one event at a time and waits for the broker's
acknowledgement (``acks="all"``) before answering, so an accepted delivery is
never lost. Tools and tests publish many at once with ``publish_all``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Final

from kafka import KafkaProducer  # type: ignore[import-untyped]

from consumers.issue_event import IssueEvent, encode_issue_event

__all__ = [
    "ORGANIZATION_HEADER",
    "IssueEventPublisher",
    "Published",
    "issue_event_headers",
]

ORGANIZATION_HEADER: Final = "okr-organization"
"""Kafka header carrying the organization id (UTF-8) an issue event belongs to."""


def issue_event_headers(organization: str | None) -> list[tuple[str, bytes]]:
    """The headers of one issue-event message; none when the organization is left to
    the consumer's default (``OKR_ISSUE_ORGANIZATION``)."""
    if organization is None:
        return []
    return [(ORGANIZATION_HEADER, organization.encode("utf-8"))]


@dataclass(frozen=True)
class Published:
    """Where the broker stored one event."""

    topic: str
    partition: int
    offset: int


class IssueEventPublisher:
    """A Kafka producer for canonical issue events.

    ``acks="all"`` and idempotence: a retried send can neither be lost nor
    duplicated nor reordered within a partition, so the consumer sees one
    issue's events in the order they were published.
    """

    def __init__(
        self,
        bootstrap: str,
        topic: str,
        *,
        linger_ms: int = 5,
        client_id: str = "okr-publisher",
        **producer_config: Any,
    ) -> None:
        self.topic = topic
        self._producer = KafkaProducer(
            bootstrap_servers=[server.strip() for server in bootstrap.split(",") if server.strip()],
            client_id=client_id,
            acks="all",
            enable_idempotence=True,
            linger_ms=linger_ms,
            **producer_config,
        )

    def send(self, event: IssueEvent, organization: str | None) -> Any:
        """Queue one event; returns kafka-python's future (``.get(timeout)`` waits)."""
        return self._producer.send(
            self.topic,
            key=event.message_key.encode("utf-8"),
            value=encode_issue_event(event),
            headers=issue_event_headers(organization),
        )

    def publish(
        self, event: IssueEvent, organization: str | None, timeout: float = 10.0
    ) -> Published:
        """Send one event and wait until the broker has it (all in-sync replicas)."""
        metadata = self.send(event, organization).get(timeout=timeout)
        return Published(metadata.topic, metadata.partition, metadata.offset)

    def publish_all(
        self,
        events: Iterable[IssueEvent],
        organization: str | None,
        timeout: float = 60.0,
    ) -> int:
        """Send many events of one organization, in order; raises if any was not stored."""
        futures = [self.send(event, organization) for event in events]
        self._producer.flush(timeout=timeout)
        for future in futures:
            future.get(timeout=0)
        return len(futures)

    def flush(self, timeout: float | None = None) -> None:
        self._producer.flush(timeout=timeout)

    def close(self, timeout: float = 10.0) -> None:
        self._producer.close(timeout=timeout)

    def __enter__(self) -> IssueEventPublisher:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
