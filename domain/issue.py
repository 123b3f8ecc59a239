"""The tracker ``Issue`` aggregate: an issue's status history and its links to KRs.

Its id is derived from tracker and key, so every process finds the same issue
without a lookup. It keeps SPEC §4's two rules with a memory that does not
grow with its history (SPEC §9):

- the same event delivered twice changes nothing the second time;
- an event older (``occurred_at``) than the last applied one does not
  overwrite a newer status.

What it remembers: the ``occurred_at`` of the newest applied event (the
watermark, ``last_occurred_at``), the ids of its latest ``RECENT_EVENT_IDS``
reports with their times (``applied_event_ids``, applied or not), and the
latest time among the ids it has let go (``forgotten_until``). An id it no
longer names was reported at or before ``forgotten_until``, so any event at or
before that time that it does not name is answered as already seen: a
redelivery of a forgotten event changes nothing, at the price that a *new*
event that old (older than the last ``RECENT_EVENT_IDS`` reports) is not
recorded either. See ``verdict``.

It also keeps which key results link it, so an issue event can move them all
in one transaction.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Final
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain import limits
from domain.values import IssueStatus

ISSUE_NAMESPACE = uuid5(NAMESPACE_URL, "okr:issue")

RECENT_EVENT_IDS: Final = 64
"""How many of an issue's latest reports it remembers by ``event_id``.

A redelivery of anything older is answered by the times alone (see
``verdict``); the window only decides ties at the watermark and whether a
late report is still recorded for the audit trail, which needs a few
reports, not thousands. 64 keeps an issue's snapshot near 5 KB whatever the
number of deliveries (a larger window makes every load read a larger one)."""


class ReportVerdict(StrEnum):
    """What a delivered report does to the issue."""

    NEW = "new"  # not older than the applied status: it sets the status
    LATE = "late"  # older than the applied status: recorded for the audit trail only
    SEEN = "seen"  # delivered before (or possibly so, see the module doc): nothing changes


def issue_id(organization_id: str, tracker: str, issue_key: str) -> UUID:
    """Deterministic: the same issue in the same organization always has this id."""
    return uuid5(ISSUE_NAMESPACE, f"{organization_id}\x1f{tracker}\x1f{issue_key}")


def instant(moment: datetime) -> str:
    """A moment as UTC text that sorts like the moment (plain, as snapshots hold it)."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


class Registered(Aggregate.Created):
    """An issue was first seen (``Issue.__init__`` sets the state from these fields)."""

    class_version = 1
    organization_id: str
    tracker: str
    issue_key: str
    actor: str


class StatusReported(Aggregate.Event):
    """A tracker reported the issue's status; ``applied`` says whether it set it.

    An event older than the last applied one is kept for the audit trail
    with ``applied=False`` and leaves the current status alone.

    Version 2 added ``estimate_cleared`` (SPEC §16): ``estimate`` None with
    ``estimate_cleared`` the tracker cleared the estimate, without it the
    report said nothing of it and the issue keeps its last one.
    """

    class_version = 2
    event_id: str
    status: str
    raw_status: str | None
    occurred_at: datetime
    title: str | None
    url: str | None
    estimate: float | None
    estimate_cleared: bool
    applied: bool
    actor: str

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        """Before version 2 no report could clear an estimate: None meant "nothing said"."""
        state["estimate_cleared"] = False

    def apply(self, aggregate: Issue) -> None:
        aggregate.remember(self.event_id, self.occurred_at)
        if not self.applied:
            return
        aggregate.status = IssueStatus(self.status).value
        aggregate.raw_status = self.raw_status
        aggregate.last_occurred_at = self.occurred_at
        if self.title is not None:
            aggregate.title = self.title
        if self.url is not None:
            aggregate.url = self.url
        if self.estimate is not None or self.estimate_cleared:
            aggregate.estimate = self.estimate


class Linked(Aggregate.Event):
    """A key result linked the issue."""

    class_version = 1
    objective_id: UUID
    key_result_id: UUID
    actor: str

    def apply(self, aggregate: Issue) -> None:
        key = f"{self.objective_id}:{self.key_result_id}"
        aggregate.linked[key] = [self.objective_id, self.key_result_id]


class Unlinked(Aggregate.Event):
    """A key result unlinked the issue."""

    class_version = 1
    objective_id: UUID
    key_result_id: UUID
    actor: str

    def apply(self, aggregate: Issue) -> None:
        aggregate.linked.pop(f"{self.objective_id}:{self.key_result_id}", None)


class Issue(Aggregate):
    """A tracker issue (its events are stored as ``Issue.<Name>``)."""

    Registered = Registered
    StatusReported = StatusReported
    Linked = Linked
    Unlinked = Unlinked

    # Version 2 of the state: a bounded window of event ids (SPEC §9). A
    # version-1 snapshot, which held every id, is upcast when it is loaded.
    class_version = 2

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        """Version 1 named every id it had seen, all at or before its watermark.

        Their times were not kept, so the watermark becomes the forgotten
        time: every one of them (and anything no newer) is then answered as
        seen, which is what the unbounded memory answered for them.
        """
        seen = state.pop("applied_event_ids", None) or {}
        watermark = state.get("last_occurred_at")
        if isinstance(watermark, str):
            watermark = datetime.fromisoformat(watermark)
        state["applied_event_ids"] = {}
        state["forgotten_until"] = (
            instant(watermark) if seen and isinstance(watermark, datetime) else None
        )

    @staticmethod
    def create_id(organization_id: str, tracker: str, issue_key: str, **_: Any) -> UUID:
        return issue_id(organization_id, tracker, issue_key)

    @event(Registered)
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
        # event_id → instant(occurred_at) of the latest reports, oldest report
        # first; plain dicts and strings, so snapshots serialise as JSON.
        self.applied_event_ids: dict[str, str] = {}
        self.forgotten_until: str | None = None  # an instant(); None: nothing forgotten
        # "objective:key result" → the two ids: the KRs that link this issue.
        self.linked: dict[str, list[UUID]] = {}

    def verdict(self, event_id: str, occurred_at: datetime) -> ReportVerdict:
        """SPEC §4's rules on a bounded memory (the module doc says why it is safe)."""
        if event_id in self.applied_event_ids:
            return ReportVerdict.SEEN
        if self.forgotten_until is not None and instant(occurred_at) <= self.forgotten_until:
            return ReportVerdict.SEEN
        if self.last_occurred_at is None or occurred_at >= self.last_occurred_at:
            return ReportVerdict.NEW
        return ReportVerdict.LATE

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
        estimate_cleared: bool = False,
    ) -> None:
        """Every report not seen before is recorded; ``applied`` says whether it set the status."""
        self.trigger_event(
            self.StatusReported,
            event_id=event_id,
            status=status,
            raw_status=raw_status,
            occurred_at=occurred_at,
            title=title,
            url=url,
            estimate=estimate,
            estimate_cleared=estimate_cleared,
            applied=applied,
            actor=actor,
        )

    def remember(self, event_id: str, occurred_at: datetime) -> None:
        """Name the id; past the window, let the oldest report go and raise the floor."""
        self.applied_event_ids[event_id] = instant(occurred_at)
        while len(self.applied_event_ids) > RECENT_EVENT_IDS:
            oldest = next(iter(self.applied_event_ids))
            forgotten = self.applied_event_ids.pop(oldest)
            if self.forgotten_until is None or forgotten > self.forgotten_until:
                self.forgotten_until = forgotten

    @property
    def links(self) -> list[tuple[UUID, UUID]]:
        """(objective id, key result id) of every KR linking this issue, in a stable order."""
        return sorted((objective, kr) for objective, kr in self.linked.values())

    def link(self, objective_id: UUID, key_result_id: UUID, actor: str) -> None:
        """Links stay in the state, so their number is bounded (SPEC §9)."""
        key = f"{objective_id}:{key_result_id}"
        if key not in self.linked:
            limits.require_room(
                len(self.linked),
                limits.MAX_LINKS_PER_ISSUE,
                f"the number of key results linking issue {self.tracker}:{self.issue_key}",
            )
        self.trigger_event(
            self.Linked, objective_id=objective_id, key_result_id=key_result_id, actor=actor
        )

    def unlink(self, objective_id: UUID, key_result_id: UUID, actor: str) -> None:
        self.trigger_event(
            self.Unlinked, objective_id=objective_id, key_result_id=key_result_id, actor=actor
        )
