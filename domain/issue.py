"""The tracker ``Issue`` aggregate: an issue's status history and its links to KRs.

Its id is derived from tracker and key, so every process finds the same issue
without a lookup. It remembers every applied ``event_id`` (idempotency) and
the ``occurred_at`` of the newest applied event (an older event never
overwrites a newer status), and which key results link it, so an issue event
can move them all in one transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.values import IssueStatus

ISSUE_NAMESPACE = uuid5(NAMESPACE_URL, "okr:issue")


def issue_id(organization_id: str, tracker: str, issue_key: str) -> UUID:
    """Deterministic: the same issue in the same organization always has this id."""
    return uuid5(ISSUE_NAMESPACE, f"{organization_id}\x1f{tracker}\x1f{issue_key}")


class Issue(Aggregate):
    @staticmethod
    def create_id(organization_id: str, tracker: str, issue_key: str, **_: Any) -> UUID:
        return issue_id(organization_id, tracker, issue_key)

    @event("Registered")
    def __init__(self, organization_id: str, tracker: str, issue_key: str, actor: str) -> None:
        self.organization_id = organization_id
        self.tracker = tracker
        self.issue_key = issue_key
        self.status: str | None = None  # an IssueStatus value; plain, as snapshots hold it
        self.raw_status: str | None = None
        self.title: str | None = None
        self.url: str | None = None
        self.estimate: float | None = None
        self.last_occurred_at: datetime | None = None
        # Plain dicts, not sets or tuples, so snapshots serialise as JSON.
        self.applied_event_ids: dict[str, bool] = {}
        # "objective:key result" → the two ids: the KRs that link this issue.
        self.linked: dict[str, list[UUID]] = {}

    def has_applied(self, event_id: str) -> bool:
        return event_id in self.applied_event_ids

    def is_newer(self, occurred_at: datetime) -> bool:
        return self.last_occurred_at is None or occurred_at >= self.last_occurred_at

    @event("StatusReported")
    def report_status(
        self,
        event_id: str,
        status: str,
        raw_status: str | None,
        occurred_at: datetime,
        title: str | None,
        url: str | None,
        estimate: float | None,
        applied: bool,
        actor: str,
    ) -> None:
        """Every delivered event is recorded; ``applied`` says whether it set the status.

        An event older than the last applied one is kept for the audit trail
        with ``applied=False`` and leaves the current status alone.
        """
        self.applied_event_ids[event_id] = applied
        if not applied:
            return
        self.status = IssueStatus(status).value
        self.raw_status = raw_status
        self.last_occurred_at = occurred_at
        self.title = title if title is not None else self.title
        self.url = url if url is not None else self.url
        self.estimate = estimate if estimate is not None else self.estimate

    @property
    def links(self) -> list[tuple[UUID, UUID]]:
        """(objective id, key result id) of every KR linking this issue, in a stable order."""
        return sorted((objective, kr) for objective, kr in self.linked.values())

    @event("Linked")
    def link(self, objective_id: UUID, key_result_id: UUID, actor: str) -> None:
        self.linked[f"{objective_id}:{key_result_id}"] = [objective_id, key_result_id]

    @event("Unlinked")
    def unlink(self, objective_id: UUID, key_result_id: UUID, actor: str) -> None:
        self.linked.pop(f"{objective_id}:{key_result_id}", None)
