"""The facts of an objective's life, one class each, and how each changes the state.

Each class is declared here once, with its fields and its ``apply``; the
``Objective`` aggregate (``domain/objective.py``) lists them as its events, so
the library stores each under the aggregate's name, e.g.
``domain.objective:Objective.KeyResultAdded`` — the topic every event written
before the classes were explicit carries too, so the whole log stays readable
(a renamed class registers its old topic: ``domain/objective.py``). Readers
use ``Objective.KeyResultAdded`` (the class the store resolves; it is a
subclass of the one here), and a renamed class breaks them at import.

``class_version`` is 1 for an event whose fields are those of its first
version. A change of fields bumps it and adds an ``upcast_vN_vN+1`` static
method that turns the stored state of version N into that of N+1 (the library
runs them in turn when it reads an older event): ``KeyResultCheckedIn`` is at
version 2.

Every event carries the acting user (``actor``) and what it needs to rebuild
the state and to audit it.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.key_result import KeyResult, apply_check_in, issue_ref, remember_linked_estimate

if TYPE_CHECKING:
    from domain.objective import Objective


class Drafted(Aggregate.Created):
    """The objective was drafted (its ``__init__`` sets the state from these fields)."""

    class_version = 1
    organization_id: str
    cycle_id: UUID
    title: str
    description: str
    level: str
    owner_team_id: UUID | None
    owner_user_id: str | None
    visibility: str
    aligned_to_objective_id: UUID | None
    aligned_to_key_result_id: UUID | None
    aligned_parent_id: UUID | None
    actor: str


class Edited(Aggregate.Event):
    class_version = 1
    changes: dict[str, Any]
    actor: str

    def apply(self, aggregate: Objective) -> None:
        for name, value in self.changes.items():
            setattr(aggregate, name, value)


class Realigned(Aggregate.Event):
    class_version = 1
    objective_id: UUID | None
    key_result_id: UUID | None
    parent_id: UUID | None
    actor: str

    def apply(self, aggregate: Objective) -> None:
        aggregate.aligned_to_objective_id = self.objective_id
        aggregate.aligned_to_key_result_id = self.key_result_id
        aggregate.aligned_parent_id = self.parent_id


class Archived(Aggregate.Event):
    class_version = 1
    actor: str

    def apply(self, aggregate: Objective) -> None:
        aggregate.archived = True


class KeyResultAdded(Aggregate.Event):
    class_version = 1
    key_result_id: UUID
    title: str
    mode: str
    weight: float
    start: float | None
    target: float | None
    unit: str | None
    milestones: list[str]
    assignee_id: str | None
    participant_ids: list[str]
    actor: str

    def apply(self, aggregate: Objective) -> None:
        aggregate.key_results[str(self.key_result_id)] = KeyResult(
            id=str(self.key_result_id),
            title=self.title,
            mode=self.mode,
            weight=self.weight,
            start=self.start,
            target=self.target,
            current=self.start,
            unit=self.unit,
            milestones=[{"title": m, "done": False} for m in self.milestones],
            assignee_id=self.assignee_id,
            participant_ids=list(self.participant_ids),
        )


class KeyResultEdited(Aggregate.Event):
    class_version = 1
    key_result_id: UUID
    changes: dict[str, Any]
    actor: str

    def apply(self, aggregate: Objective) -> None:
        kr = aggregate.key_results[str(self.key_result_id)]
        for name, value in self.changes.items():
            setattr(kr, name, value)
        if "start" in self.changes and not kr.checked_in:
            kr.current = kr.start  # current starts at start until someone checks in


class KeyResultArchived(Aggregate.Event):
    class_version = 1
    key_result_id: UUID
    actor: str

    def apply(self, aggregate: Objective) -> None:
        aggregate.key_results[str(self.key_result_id)].archived = True


class WeightsChanged(Aggregate.Event):
    class_version = 1
    weights: dict[str, float]
    actor: str

    def apply(self, aggregate: Objective) -> None:
        for key_result_id, weight in self.weights.items():
            aggregate.key_results[key_result_id].weight = weight


class KeyResultCheckedIn(Aggregate.Event):
    """A key result's check-in.

    Named ``CheckedIn`` until issue 15: the events stored then carry the topic
    ``domain.objective:Objective.CheckedIn``, which ``domain/objective.py``
    registers for this class, so they load as ``KeyResultCheckedIn``.

    Version 2 renamed ``at`` to ``checked_in_at``: the moment the check-in speaks
    for, which is not the event's own ``timestamp`` (the demo loader, for one,
    checks in on a story's clock). Events stored as version 1 are upcast.
    """

    class_version = 2
    key_result_id: UUID
    percent: float | None
    current: float | None
    milestones_done: list[int] | None
    status: str
    confidence: float | None
    note: str | None
    checked_in_at: datetime
    actor: str

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        """Version 1 called the moment ``at``."""
        state["checked_in_at"] = state.pop("at")

    def apply(self, aggregate: Objective) -> None:
        apply_check_in(
            aggregate.key_results[str(self.key_result_id)],
            percent=self.percent,
            current=self.current,
            milestones_done=self.milestones_done,
            status=self.status,
            confidence=self.confidence,
            checked_in_at=self.checked_in_at,
        )


class IssueLinked(Aggregate.Event):
    """``status`` is the issue's current one, so a late link starts right."""

    class_version = 1
    key_result_id: UUID
    tracker: str
    issue_key: str
    estimate: float | None
    url: str | None
    title: str | None
    status: str | None
    actor: str

    def apply(self, aggregate: Objective) -> None:
        aggregate.key_results[str(self.key_result_id)].issues[
            issue_ref(self.tracker, self.issue_key)
        ] = {
            "tracker": self.tracker,
            "issue_key": self.issue_key,
            "status": self.status,
            "estimate": self.estimate,
            "url": self.url,
            "title": self.title,
        }


class IssueUnlinked(Aggregate.Event):
    class_version = 1
    key_result_id: UUID
    tracker: str
    issue_key: str
    actor: str

    def apply(self, aggregate: Objective) -> None:
        del aggregate.key_results[str(self.key_result_id)].issues[
            issue_ref(self.tracker, self.issue_key)
        ]


class IssueStatusChanged(Aggregate.Event):
    """A linked issue moved; ``event_id`` names the tracker event that caused it."""

    class_version = 1
    key_result_id: UUID
    tracker: str
    issue_key: str
    status: str
    estimate: float | None
    event_id: str
    actor: str

    def apply(self, aggregate: Objective) -> None:
        linked = aggregate.key_results[str(self.key_result_id)].issues[
            issue_ref(self.tracker, self.issue_key)
        ]
        remember_linked_estimate(linked)
        linked["status"] = self.status
        linked["estimate"] = self.estimate


class NoteAdded(Aggregate.Event):
    """A fact for history and the audit trail; nothing of it stays in the state."""

    class_version = 1
    note_id: UUID
    topic: str
    text: str
    actor: str

    def apply(self, aggregate: Objective) -> None:
        return None


class RetrospectiveRecorded(Aggregate.Event):
    class_version = 1
    scores: dict[str, float]
    problems: str
    improvements: str
    next_focus: str
    actor: str

    def apply(self, aggregate: Objective) -> None:
        aggregate.retrospective = {
            "scores": dict(self.scores),
            "problems": self.problems,
            "improvements": self.improvements,
            "next_focus": self.next_focus,
        }
