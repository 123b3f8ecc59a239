"""The canonical issue event of SPEC §4: one value for the fact and for the command.

Pure on purpose (the standard library only): the wire schema
(``consumers.issue_event``), the tracker adapters and every producer import
it without pulling in a database driver or the event store.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Final, Literal

__all__ = ["KEEP_ESTIMATE", "EstimateSaid", "IssueEstimate", "IssueEvent"]


class EstimateSaid(Enum):
    """What an event says of the estimate when it gives no number (SPEC §16)."""

    NOTHING = "nothing"
    """The event does not speak of the estimate: the issue keeps its last one."""


KEEP_ESTIMATE: Final = EstimateSaid.NOTHING
"""The estimate of an event that says nothing of it (absent on the wire); ``None``
means the tracker cleared it (``"estimate": null``: the linked issue falls back to
the estimate given when linking, else 1)."""

IssueEstimate = float | Literal[EstimateSaid.NOTHING] | None
"""A number, cleared (``None``), or not said (``KEEP_ESTIMATE``)."""


@dataclass(frozen=True, slots=True)
class IssueEvent:
    """The canonical issue event of SPEC §4, and the command that applies it.

    One status observation of one tracker issue. Every way in builds this one
    value: the Kafka consumer and ``POST /v1/issue-events`` by parsing the wire
    schema (``consumers.issue_event``), a webhook through its tracker adapter;
    ``report_issue_event`` / ``apply_issue_events`` take it as ``(actor,
    event)``. What it causes is recorded as the domain events
    ``Issue.StatusReported`` (on the issue) and the objective's issue event
    (on each key result it moves).

    ``status`` is one of ``domain.values.IssueStatus``'s values and
    ``occurred_at`` carries a time zone: the wire schema guarantees both, and
    the write side checks them again (``_validate``) for values built in code.
    """

    event_id: str
    tracker: str
    issue_key: str
    status: str
    occurred_at: datetime
    raw_status: str | None = None
    title: str | None = None
    url: str | None = None
    estimate: IssueEstimate = KEEP_ESTIMATE

    @property
    def estimate_cleared(self) -> bool:
        """Whether the tracker cleared the estimate (an explicit ``null`` on the wire)."""
        return self.estimate is None

    @property
    def estimate_value(self) -> float | None:
        """The number, if the event gives one (cleared and not said are both ``None``)."""
        return None if isinstance(self.estimate, EstimateSaid) else self.estimate

    @property
    def message_key(self) -> str:
        """``"<tracker>:<issue_key>"``: what keeps one issue's events in order.

        The Kafka message key: keying by issue sends every event of one issue
        to one partition, so the consumer sees them in the order published.
        """
        return f"{self.tracker}:{self.issue_key}"
