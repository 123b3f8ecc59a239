"""Request and response shapes shared by the routers (SPEC §7).

The request bodies of commands are derived from the commands themselves
(api/command_bodies.py); the field types (titles, texts, numbers) live with
them in commands/fields.py and are re-exported here for the other routers.
Numbers are strict (``true`` is not 1) and finite (no NaN or infinity); text
must be storable (domain/text.py): ``unstorable`` walks a whole JSON document
for it, before any route parses the body (api/deps.storable_body).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from commands.base import Written
from commands.fields import (
    ID_LIMIT,
    TEXT_LIMIT,
    TITLE_LIMIT,
    TRACKER_PATTERN,
    Fraction,
    IssueKey,
    JsonObject,
    LongText,
    NonNegative,
    NotBlank,
    Number,
    Title,
    Tracker,
    UserId,
    why_unstorable,
)
from domain.values import IssueStatus, KeyResultStatus, Level, ProgressMode, Visibility

__all__ = [
    "ID_LIMIT",
    "TEXT_LIMIT",
    "TITLE_LIMIT",
    "TRACKER_PATTERN",
    "Fraction",
    "IssueKey",
    "JsonObject",
    "LongText",
    "NonNegative",
    "NotBlank",
    "Number",
    "Title",
    "Tracker",
    "UserId",
]


def unstorable(value: Any) -> str | None:
    """Why a (possibly nested) value can't be stored as text, or None when it can.

    Iterative, so a deeply nested document can't exhaust the stack; the answer
    names where the bad text is, e.g. ``weights.<key>`` or ``milestones.2``.
    """
    pending: list[tuple[str, Any]] = [("", value)]
    while pending:
        where, item = pending.pop()
        if isinstance(item, str):
            reason = why_unstorable(item)
            if reason:
                return f"{where}: {reason}" if where else reason
        elif isinstance(item, dict):
            for key, child in item.items():
                reason = why_unstorable(key) if isinstance(key, str) else None
                if reason:
                    return f"{where or 'body'}: a key {reason}"
                pending.append((f"{where}.{key}" if where else str(key), child))
        elif isinstance(item, list | tuple):
            pending.extend((f"{where}.{i}" if where else str(i), c) for i, c in enumerate(item))
    return None


class RequestModel(BaseModel):
    """Base of a hand-written request body: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")


# ---------------------------------------------------------------- writes


class WriteResult(BaseModel):
    id: UUID
    version: int = Field(description="the aggregate's version after the write")
    position: int = Field(description="log position; pass as ?min_position= to read it back")

    @classmethod
    def of(cls, written: Written) -> WriteResult:
        return cls(id=written.id, version=written.version, position=written.position)


class KeyResultWriteResult(WriteResult):
    key_result_id: UUID = Field(description="the new key result's id")

    @classmethod
    def of(cls, written: Written) -> KeyResultWriteResult:
        assert written.key_result_id is not None
        return cls(
            id=written.id,
            version=written.version,
            position=written.position,
            key_result_id=written.key_result_id,
        )


# ---------------------------------------------------------------- teams


class TeamMemberOut(BaseModel):
    user_id: str
    display_name: str | None = Field(
        description="the member's name in the people directory; null when it has none"
    )
    role: str = Field(description="manager or member")


class TeamOut(BaseModel):
    id: UUID
    name: str
    parent_id: UUID | None
    version: int
    members: list[TeamMemberOut]


class TeamList(BaseModel):
    teams: list[TeamOut]
    next_cursor: str | None = Field(
        description="pass as ?cursor= for the next page; null on the last page"
    )


# ---------------------------------------------------------------- objectives


class MilestoneOut(BaseModel):
    title: str
    done: bool


class LinkedIssueOut(BaseModel):
    tracker: str
    issue_key: str
    status: IssueStatus | None = Field(description="null until the tracker reported one")
    estimate: float | None = Field(description="null counts as 1")


class KeyResultOut(BaseModel):
    id: UUID
    title: str
    mode: ProgressMode
    weight: float
    progress: float = Field(description="0..1")
    status: KeyResultStatus | None = Field(description="latest check-in status; null before one")
    confidence: float | None
    start: float | None
    target: float | None
    current: float | None
    unit: str | None
    milestones: list[MilestoneOut]
    issues: list[LinkedIssueOut]
    assignee_id: str | None
    assignee_name: str | None = Field(
        description="the assignee's name in the people directory; null when there is no"
        " assignee or no entry for them"
    )
    participant_ids: list[str]
    last_check_in_at: datetime | None


class RetrospectiveOut(BaseModel):
    scores: dict[UUID, float] = Field(description="final score per key result, where given")
    problems: str
    improvements: str
    next_focus: str
    achievement_rate: float | None = Field(
        description="Σ w·score / Σ w; a KR without a score scores its progress"
    )


class ObjectiveOut(BaseModel):
    id: UUID
    cycle_id: UUID
    title: str
    description: str
    level: Level
    owner_team_id: UUID | None
    owner_user_id: str | None
    owner_user_name: str | None = Field(
        description="the owner user's name in the people directory; null when there is no"
        " owner user or no entry for them"
    )
    visibility: Visibility
    aligned_to_objective_id: UUID | None
    aligned_to_key_result_id: UUID | None
    archived: bool
    progress: float = Field(description="Σ w·p / Σ w over the live key results, 0..1")
    status: KeyResultStatus = Field(description="worst latest status of its key results")
    expected_progress: float = Field(description="fraction of the cycle elapsed (pace), 0..1")
    version: int
    key_results: list[KeyResultOut]
    retrospective: RetrospectiveOut | None = Field(
        default=None, description="present once a retrospective was recorded"
    )


class ObjectiveNode(ObjectiveOut):
    children: list[ObjectiveNode] = Field(
        description="objectives aligned to this one or to one of its key results"
    )


class TreeOut(BaseModel):
    cycle_id: UUID
    objectives: list[ObjectiveNode]


class HistoryEvent(BaseModel):
    """An event in the public shape of SPEC §11 (documented type by type in
    docs/read-side.md, "The public event shape"), plus ``version`` (§7's name for
    ``aggregate_version``, kept for compatibility)."""

    id: UUID = Field(
        description="the event's public id: stable across reads and backends (a UUID 5 of"
        " aggregate_id and aggregate_version), unique per stored event"
    )
    type: str = Field(
        description="the event's public type, e.g. CheckedIn, IssueStatusChanged; never"
        " renamed, whatever the internal class is called"
    )
    schema_version: int = Field(
        description="the version of this type's data (1 for every type today); it changes"
        " only when data changes shape, independently of the stored event's class version"
    )
    aggregate_id: UUID = Field(description="the objective (or cycle, team, issue) it belongs to")
    aggregate_version: int = Field(description="its version after this event (1 for the first)")
    position: int = Field(
        description="its position in the organization's log (notification id): increasing,"
        " and what a write answered as position; usable as ?min_position="
    )
    occurred_at: datetime
    actor: str | None = Field(description="the user id of who did it")
    actor_name: str | None = Field(
        description="the actor's name in the people directory, as it is now; null when"
        " there is none"
    )
    data: dict[str, Any] = Field(
        description="the type's public fields (see docs); personal texts as the reader may see them"
    )
    version: int = Field(description="the same as aggregate_version (SPEC §7's name)")


class HistoryOut(BaseModel):
    events: list[HistoryEvent] = Field(
        description="oldest first, each in the public event shape (SPEC §11); personal notes"
        " (career, appraisal) only for those they are meant for"
    )
    next_cursor: str | None = Field(
        description="pass as ?cursor= for the next page; null on the last page"
    )


class ProgressPoint(BaseModel):
    at: datetime
    key_result_id: UUID | None = Field(description="null for the objective's own progress")
    progress: float
    cause: dict[str, Any] = Field(
        description="what moved it: type (check_in, issue_event, weight_change, child_progress,"
        " ...), actor and actor_name (the directory's display name, null without an entry)"
        " when a person caused it, event_id for issue events, child_objective_id for roll-ups"
        " (null when the reader may not see that objective)"
    )


class ProgressHistoryOut(BaseModel):
    points: list[ProgressPoint] = Field(description="in log order, oldest first")
    next_cursor: str | None = Field(
        description="pass as ?cursor= for the next page; null on the last page"
    )


class NoteOut(BaseModel):
    id: UUID
    topic: str = Field(description="goal_setting, progress, coaching, career or appraisal")
    text: str
    author: str | None
    author_name: str | None = Field(
        description="the author's name in the people directory; null when there is none"
    )
    occurred_at: datetime


class NoteList(BaseModel):
    notes: list[NoteOut] = Field(
        description="oldest first; personal notes (career, appraisal) only for their author,"
        " the owner user, managers of the owner team and admins"
    )
    next_cursor: str | None = Field(
        description="pass as ?cursor= for the next page; null on the last page"
    )


# ---------------------------------------------------------------- cycle views


class StaleKeyResult(BaseModel):
    objective_id: UUID
    key_result_id: UUID
    last_check_in_at: datetime | None


class DashboardOut(BaseModel):
    cycle_id: UUID
    team_id: UUID | None
    objective_count: int
    mean_progress: float
    expected_progress: float
    achievement_rate: float | None = Field(description="mean over retrospectives recorded")
    counts_by_status: dict[str, int] = Field(description="objectives per status")
    stale_key_result_count: int
    stale_key_results: list[StaleKeyResult] = Field(
        description="key results with no check-in in the last 14 days"
    )


class ReviewWarningOut(BaseModel):
    code: str = Field(
        description="too_few_key_results, too_many_key_results, not_aligned, all_weights_zero,"
        " numeric_without_target or near_duplicate_title"
    )
    objective_id: UUID
    message: str
    key_result_id: UUID | None = None
    other_objective_id: UUID | None = None


class ReviewOut(BaseModel):
    cycle_id: UUID
    warnings: list[ReviewWarningOut]


# ---------------------------------------------------------------- issues


class IssueLinkOut(BaseModel):
    objective_id: UUID
    key_result_id: UUID


class IssueOut(BaseModel):
    tracker: str
    issue_key: str
    status: IssueStatus | None = Field(description="null until the tracker reported one")
    raw_status: str | None
    title: str | None
    url: str | None
    estimate: float | None
    occurred_at: datetime | None = Field(description="time of the status now applied")
    key_results: list[IssueLinkOut] = Field(description="linked key results the caller may see")


class IssueEventResult(BaseModel):
    issue_id: UUID
    duplicate: bool = Field(description="this event_id was applied before: nothing changed")
    applied: bool = Field(description="false for a duplicate or an event older than the last one")
    position: int = Field(description="log position; 0 when nothing was written")
