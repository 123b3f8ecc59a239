"""What one issue-event consumer needs to know: a plain value, read from nowhere.

The process part (``entrypoints.consumer_process``) builds it from the one
settings class (``OKR_KAFKA_*``, ``OKR_ISSUE_ORGANIZATION``,
``OKR_CONSUMER_MAX_BACKOFF``, ``OKR_CONSUMER_MAX_RETRIES``); tests and the
benchmark build it directly.
Nothing here reads the environment.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

__all__ = ["MAX_RETRIES_LIMIT", "IngestionSettings"]

MAX_RETRIES_LIMIT: Final = 20
"""Bound of ``max_retries``: the retries of one batch must end well within Kafka's
``max.poll.interval.ms`` (5 minutes), or the group would drop this member and replay."""


@dataclass(frozen=True, slots=True)
class IngestionSettings:
    """One consumer group member's topics, group, default organization and limits."""

    bootstrap: str
    """Kafka bootstrap servers, ``host:port[,host:port]``."""
    topic: str = "okr.issue-events"
    dlq_topic: str = "okr.issue-events.dlq"
    group: str = "okr-consumer"
    default_organization: str = "default"
    """Organization of a message without an ``okr-organization`` header."""
    group_instance_id: str | None = None
    """Static group membership (KIP-345): a restarted consumer with the same id
    takes its partitions back at once, without waiting for a rebalance."""
    session_timeout_ms: int = 10_000
    max_poll_records: int = 500
    max_backoff: float = 10.0
    """Longest wait, in seconds, between two tries of an unavailable database or broker."""
    max_retries: int = 5
    """Retries of one organization's share of a batch after an unexpected error (a
    bug, a corrupt aggregate), with backoff, before its messages are dead-lettered;
    0 to 20. A database that is away is waited for instead, and never counted."""
    poll_timeout: float = 1.0
    """How long one poll waits for messages, in seconds (and so how soon a stop is seen)."""

    def __post_init__(self) -> None:
        if not self.bootstrap.strip():
            raise ValueError("no Kafka bootstrap servers: set OKR_KAFKA_BOOTSTRAP")
        if self.max_poll_records < 1 or self.max_backoff <= 0 or self.poll_timeout <= 0:
            raise ValueError("max_poll_records, max_backoff and poll_timeout must be positive")
        if not 0 <= self.max_retries <= MAX_RETRIES_LIMIT:
            raise ValueError(f"max_retries must be between 0 and {MAX_RETRIES_LIMIT}")

    @property
    def bootstrap_servers(self) -> list[str]:
        """``bootstrap`` as the list kafka-python takes."""
        return [server.strip() for server in self.bootstrap.split(",") if server.strip()]
