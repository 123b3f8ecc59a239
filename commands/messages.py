"""Every command that writes (SPEC §7), as a value: one frozen dataclass each.

A command's fields are written here and nowhere else. Routes build commands
(their request bodies are derived from these classes, api/command_bodies.py),
the application's methods take ``(actor, command)``, and each hands the values
to its aggregate in one place. The field types (commands/fields.py) carry the
limits pydantic checks at the door; a command built in code is trusted.

``expected_version`` is the version the caller expects the aggregate at (an
HTTP If-Match): a mismatch answers ``VersionMismatch`` instead of a retry.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any
from uuid import UUID

from pydantic import Field

from commands.fields import (
    CycleName,
    Fraction,
    IssueKey,
    JsonObject,
    LongText,
    Milestones,
    MilestonesDone,
    NonNegative,
    Number,
    Participants,
    ShortText,
    Title,
    Tracker,
    Unit,
    Url,
    UserId,
)
from domain.values import (
    Cadence,
    KeyResultStatus,
    Level,
    NoteTopic,
    Phase,
    ProgressMode,
    TeamRole,
    Visibility,
)

# ---------------------------------------------------------------- cycles


@dataclass(frozen=True)
class PlanCycle:
    name: CycleName
    start_date: date
    end_date: date
    cadence: Cadence


@dataclass(frozen=True)
class AdvanceCyclePhase:
    cycle_id: UUID
    phase: Annotated[Phase, Field(description="the next phase")]
    expected_version: int | None = None


# ---------------------------------------------------------------- teams


@dataclass(frozen=True)
class FormTeam:
    name: Title
    parent_id: Annotated[UUID | None, Field(description="the team above (a department)")] = None


@dataclass(frozen=True)
class SetTeamMember:
    team_id: UUID
    user_id: UserId
    role: TeamRole
    expected_version: int | None = None


# ---------------------------------------------------------------- objectives


@dataclass(frozen=True)
class DraftObjective:
    cycle_id: UUID
    title: Title
    level: Level
    description: LongText | None = None
    owner_team_id: Annotated[
        UUID | None, Field(description="required for organization and team level")
    ] = None
    owner_user_id: Annotated[
        UserId | None,
        Field(description="individual level; defaults to the caller (unless admin)"),
    ] = None
    visibility: Annotated[Visibility | None, Field(description="public when not given")] = None
    aligned_to_objective_id: UUID | None = None
    aligned_to_key_result_id: UUID | None = None


@dataclass(frozen=True)
class EditObjective:
    """Only the fields given change; an empty ``description`` clears it."""

    objective_id: UUID
    title: Title | None = None
    description: LongText | None = None
    visibility: Visibility | None = None
    expected_version: int | None = None


@dataclass(frozen=True)
class AlignObjective:
    """To an objective, or to a key result of another objective; neither: unaligned."""

    objective_id: UUID
    to_objective_id: Annotated[
        UUID | None, Field(alias="objective_id", description="align to this objective")
    ] = None
    to_key_result_id: Annotated[
        UUID | None, Field(alias="key_result_id", description="or to this key result")
    ] = None
    expected_version: int | None = None


@dataclass(frozen=True)
class ArchiveObjective:
    objective_id: UUID
    expected_version: int | None = None


# ---------------------------------------------------------------- key results


@dataclass(frozen=True)
class AddKeyResult:
    objective_id: UUID
    title: Title
    mode: ProgressMode
    weight: Annotated[NonNegative | None, Field(description="default 1")] = None
    start: Annotated[Number | None, Field(description="numeric mode; default 0")] = None
    target: Annotated[Number | None, Field(description="numeric mode; may stay open")] = None
    unit: Annotated[Unit | None, Field(description="numeric mode")] = None
    milestones: Annotated[
        Milestones | None, Field(description="milestone mode: titles, in order")
    ] = None
    assignee_id: UserId | None = None
    participant_ids: Participants | None = None
    expected_version: int | None = None


EDITABLE_KEY_RESULT_FIELDS = ("title", "start", "target", "unit", "assignee_id", "participant_ids")
"""The fields of ``AddKeyResult`` an ``EditKeyResult`` may change."""


@dataclass(frozen=True)
class EditKeyResult:
    """``changes``: only the fields named change (the aggregate knows which may)."""

    objective_id: UUID
    key_result_id: UUID
    changes: Mapping[str, Any]
    expected_version: int | None = None


@dataclass(frozen=True)
class ArchiveKeyResult:
    objective_id: UUID
    key_result_id: UUID
    expected_version: int | None = None


@dataclass(frozen=True)
class SetWeights:
    objective_id: UUID
    weights: Annotated[
        dict[UUID, NonNegative],
        JsonObject,
        Field(description="key result id → weight; key results not named keep theirs"),
    ]
    expected_version: int | None = None


# ---------------------------------------------------------------- tracking


@dataclass(frozen=True)
class CheckIn:
    """Send the value the key result's mode needs: ``percent``, ``current`` or
    ``milestones_done``."""

    objective_id: UUID
    key_result_id: UUID
    status: KeyResultStatus
    percent: Annotated[NonNegative | None, Field(description="percentage mode")] = None
    current: Annotated[Number | None, Field(description="numeric mode")] = None
    milestones_done: Annotated[
        MilestonesDone | None,
        Field(description="milestone mode: indices of all milestones done so far"),
    ] = None
    confidence: Fraction | None = None
    note: LongText | None = None
    expected_version: int | None = None


@dataclass(frozen=True)
class LinkIssue:
    """Estimate, url and title default to what the tracker last reported."""

    objective_id: UUID
    key_result_id: UUID
    tracker: Tracker
    issue_key: IssueKey
    estimate: Annotated[NonNegative | None, Field(description="default 1")] = None
    url: Url | None = None
    title: ShortText | None = None
    expected_version: int | None = None


@dataclass(frozen=True)
class UnlinkIssue:
    objective_id: UUID
    key_result_id: UUID
    tracker: Tracker
    issue_key: IssueKey
    expected_version: int | None = None


# ---------------------------------------------------------------- notes, retrospective


@dataclass(frozen=True)
class AddNote:
    objective_id: UUID
    topic: NoteTopic
    text: Annotated[LongText, Field(min_length=1)]
    expected_version: int | None = None


@dataclass(frozen=True)
class RecordRetrospective:
    objective_id: UUID
    scores: Annotated[
        Annotated[dict[UUID, Fraction], JsonObject] | None,
        Field(description="final score per key result, 0..1; others score their progress"),
    ] = None
    problems: LongText = ""
    improvements: LongText = ""
    next_focus: LongText = ""
    expected_version: int | None = None
