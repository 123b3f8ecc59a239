"""Issue events: record what a tracker reported of an issue and move the linked key results.

The write side of ``IssueEvent`` (``commands/issue_event.py``): each accepted
event is recorded as ``Issue.StatusReported`` on the issue and, for every key
result it moves, as the objective's ``IssueStatusChanged``.

Idempotent by ``event_id`` and ordered by ``occurred_at`` (an older event is
recorded for the audit trail but never overwrites a newer status); the Issue
aggregate decides both with a bounded memory (``Issue.verdict``). The issue
and every objective it moves are saved in one transaction, so a crash leaves
either all of it or none.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from uuid import UUID

from cachetools import LRUCache
from eventsourcing.domain import Aggregate

from commands.actor import Actor
from commands.authorization import require_issue_feed
from commands.base import CommandsBase
from commands.existence import current_versions, existing_ids
from commands.issue_event import IssueEvent
from commands.reads import rely_on
from domain.cycle import Cycle, PhaseAction
from domain.errors import InvalidCommand
from domain.issue import Issue, ReportVerdict, instant, issue_id
from domain.key_result import finite
from domain.objective import Objective
from domain.text import check_text
from domain.values import IssueStatus


@dataclass
class IssueOutcome:
    """What applying one ``IssueEvent`` did, for the API's answer and the consumer's log."""

    issue_id: UUID
    duplicate: bool = False
    applied: bool = False
    moved_objectives: list[UUID] = field(default_factory=list)
    position: int = 0
    version: int = 0


class IssueCache:
    """Issues and linked objectives as one ingesting process last saved them.

    Issues are safe without re-reading: one that another process has since
    changed (a link made over the API) has an older version, so saving it
    fails the optimistic-concurrency check; the batch is then retried from the
    store with the cache cleared. Objectives change over the API all the time
    (check-ins), so each batch first asks the store for their current versions
    (one query) and reloads those that moved. Not shared between threads.

    The two maps are ``cachetools.LRUCache``: they only keep the most recently
    used aggregates. The version checks are not the cache's job and stay in
    ``_linked_objectives`` (one query for the whole batch), so no cache with
    its own expiry or validation fits better.
    """

    def __init__(self, size: int = 20_000, objectives: int = 2_000) -> None:
        self.size = size
        self.objectives = objectives  # fewer: an objective (its KRs, their issues) is larger
        self._issues: LRUCache[UUID, Issue] = LRUCache(maxsize=size)
        self._objectives: LRUCache[UUID, Objective] = LRUCache(maxsize=objectives)

    def get(self, issue_id: UUID) -> Issue | None:
        return self._issues.get(issue_id)

    def put(self, issue: Issue) -> None:
        self._issues[issue.id] = issue

    def objective(self, objective_id: UUID) -> Objective | None:
        return self._objectives.get(objective_id)

    def put_objective(self, objective: Objective) -> None:
        self._objectives[objective.id] = objective

    def clear(self) -> None:
        self._issues.clear()
        self._objectives.clear()


class IssueCommands(CommandsBase):
    def report_issue_event(self, actor: Actor, event: IssueEvent) -> IssueOutcome:
        """One event, as ``POST /v1/issue-events`` and a webhook apply it."""
        require_issue_feed(actor)
        return self.apply_issue_events(actor, [event])[0]

    def apply_issue_events(
        self,
        actor: Actor,
        events: Sequence[IssueEvent],
        cache: IssueCache | None = None,
    ) -> list[IssueOutcome]:
        """Apply a batch in order, saved with one ``save()`` (throughput for ingestion).

        ``cache``: an ingesting process's own IssueCache (see there).
        """
        require_issue_feed(actor)
        for event in events:
            _validate(event)

        outcomes: list[IssueOutcome] = []
        attempts = 0

        def attempt() -> None:
            nonlocal attempts
            attempts += 1
            if cache is not None and attempts > 1:
                cache.clear()  # a concurrent write won: start again from the store
            try:
                apply_and_save()
            except BaseException:
                if cache is not None:
                    cache.clear()  # cached issues may hold changes that were never saved
                raise

        def apply_and_save() -> None:
            outcomes.clear()
            phases: dict[UUID, bool] = {}
            keys = [issue_id(actor.organization_id, e.tracker, e.issue_key) for e in events]
            absent = self._absent_issues(keys, cache)
            issues: dict[UUID, Issue] = {}
            for key, event in zip(keys, events, strict=True):
                if key not in issues:
                    issues[key] = self._issue(actor, key, event, cache, absent)
            objectives = self._linked_objectives(actor, issues.values(), cache)
            for key, event in zip(keys, events, strict=True):
                outcomes.append(self._apply_one(actor, issues[key], event, objectives, phases))
            changed: list[Aggregate] = [
                a for a in [*issues.values(), *objectives.values()] if a.pending_events
            ]
            position = self.record(*changed) if changed else 0
            if cache is not None:
                for issue in issues.values():
                    cache.put(issue)
                for objective in objectives.values():
                    cache.put_objective(objective)
            for outcome in outcomes:
                outcome.position = position
                outcome.version = issues[outcome.issue_id].version

        if events:
            self.retrying(attempt)
        return outcomes

    def _issue(
        self,
        actor: Actor,
        key: UUID,
        event: IssueEvent,
        cache: IssueCache | None,
        absent: set[UUID],
    ) -> Issue:
        """The issue as cached, else as stored, else a new one."""
        issue = cache.get(key) if cache is not None else None
        if issue is None and key not in absent:
            issue = self.find(actor, key, Issue)
        if issue is None:
            issue = Issue(
                organization_id=actor.organization_id,
                tracker=event.tracker,
                issue_key=event.issue_key,
                actor=actor.label,
            )
        return issue

    def _linked_objectives(
        self, actor: Actor, issues: Iterable[Issue], cache: IssueCache | None
    ) -> dict[UUID, Objective]:
        """Every objective the batch's issues link to: cached if still current, else loaded."""
        ids = {objective_id for issue in issues for objective_id, _ in issue.links}
        found: dict[UUID, Objective] = {}
        if cache is not None and ids:
            versions = current_versions(self.recorder, ids)
            for objective_id in ids:
                cached = cache.objective(objective_id)
                if (
                    cached is not None
                    and cached.version == versions.get(objective_id)
                    and cached.organization_id == actor.organization_id
                ):
                    found[objective_id] = cached
        for objective_id in ids - found.keys():
            objective = self.find(actor, objective_id, Objective)
            if objective is not None:
                found[objective_id] = objective
        return found

    def _apply_one(
        self,
        actor: Actor,
        issue: Issue,
        event: IssueEvent,
        objectives: dict[UUID, Objective],
        phases: dict[UUID, bool],
    ) -> IssueOutcome:
        outcome = IssueOutcome(issue_id=issue.id)
        verdict = issue.verdict(event.event_id, event.occurred_at)
        if verdict is ReportVerdict.SEEN:
            outcome.duplicate = True
            return outcome
        newer = verdict is ReportVerdict.NEW
        issue.report_status(
            event_id=event.event_id,
            status=event.status,
            raw_status=event.raw_status,
            occurred_at=event.occurred_at,
            title=event.title,
            url=event.url,
            estimate=event.estimate_value,
            estimate_cleared=event.estimate_cleared,
            applied=newer,
            actor=actor.label,
        )
        outcome.applied = newer
        if not newer:
            return outcome
        for objective_id, key_result_id in issue.links:
            objective = objectives.get(objective_id)
            if objective is None or objective.archived:
                continue
            if not self._issues_may_move(actor, objective, phases):
                continue
            moved = objective.apply_issue_status(
                key_result_id,
                tracker=event.tracker,
                issue_key=event.issue_key,
                status=event.status,
                estimate=event.estimate_value,
                estimate_cleared=event.estimate_cleared,
                event_id=event.event_id,
                actor=actor.label,
            )
            if moved and objective_id not in outcome.moved_objectives:
                outcome.moved_objectives.append(objective_id)
        return outcome

    def _absent_issues(self, keys: Sequence[UUID], cache: IssueCache | None) -> set[UUID]:
        """The batch's issues known not to exist yet: created without a lookup each."""
        unknown = set(keys)
        if cache is not None:
            unknown = {key for key in unknown if cache.get(key) is None}
        if len(unknown) < 2:
            return set()  # one lookup costs what the existence query costs
        return unknown - existing_ids(self.recorder, unknown)

    def _issues_may_move(
        self, actor: Actor, objective: Objective, phases: dict[UUID, bool]
    ) -> bool:
        """Issue-driven progress: tracking, and retrospective for late events."""
        if objective.cycle_id not in phases:
            cycle = self.find(actor, objective.cycle_id, Cycle)
            if cycle is not None:
                rely_on(cycle)  # closing the cycle meanwhile: the batch runs again
            phases[objective.cycle_id] = cycle is not None and cycle.allows(
                PhaseAction.ISSUE_PROGRESS
            )
        return phases[objective.cycle_id]


def _validate(event: IssueEvent) -> None:
    if not event.event_id or not event.tracker or not event.issue_key:
        raise InvalidCommand("event_id, tracker and issue_key are required")
    for name in ("event_id", "tracker", "issue_key", "raw_status", "title", "url"):
        check_text(name, getattr(event, name))
    try:
        IssueStatus(event.status)
    except ValueError:
        raise InvalidCommand(f"unknown issue status {event.status!r}") from None
    if event.occurred_at.tzinfo is None:
        raise InvalidCommand("occurred_at must carry a time zone")
    try:
        instant(event.occurred_at)  # how the issue remembers it (Issue.verdict)
    except OverflowError:
        raise InvalidCommand("occurred_at is out of range once converted to UTC") from None
    finite("estimate", event.estimate_value, minimum=0)
