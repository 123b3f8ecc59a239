"""The ``Objective`` aggregate and the rules of everything that changes one.

Key results live inside it (``KeyResult`` entities), so a check-in, a weight
change and an issue status change are each one event on one aggregate, with
the acting user and, where there is one, the cause (``event_id``).

Rules that need other aggregates (the cycle's phase, alignment cycles, who
manages the owner team) are checked by the command side before it calls in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate, event
from eventsourcing.utils import register_topic

from domain import objective_events as events
from domain import objective_rules as rules
from domain import objective_state as state
from domain.errors import InvalidCommand
from domain.key_result import (
    KeyResult,
    checked_in_values,
    clean_edit,
    finite,
    validate_new,
)
from domain.objective_issues import LinkedIssues
from domain.objective_readings import ObjectiveReadings
from domain.personal import Seal, keep, seal_text
from domain.text import TEXT_LIMIT, check_text, optional_text, required_text
from domain.values import ProgressMode, Visibility

__all__ = ["TEXT_LIMIT", "Objective"]


class Objective(LinkedIssues, ObjectiveReadings, Aggregate):
    """An objective and its key results; its events are the classes of ``objective_events``.

    Naming each class here makes it ``Objective.<Name>``, stored under the topic
    ``domain.objective:Objective.<Name>`` (the topic of every event ever written).
    """

    Drafted = events.Drafted
    Edited = events.Edited
    Realigned = events.Realigned
    Archived = events.Archived
    KeyResultAdded = events.KeyResultAdded
    KeyResultEdited = events.KeyResultEdited
    KeyResultArchived = events.KeyResultArchived
    WeightsChanged = events.WeightsChanged
    KeyResultCheckedIn = events.KeyResultCheckedIn
    IssueLinked = events.IssueLinked
    IssueUnlinked = events.IssueUnlinked
    IssueStatusChanged = events.IssueStatusChanged
    NoteAdded = events.NoteAdded
    RetrospectiveRecorded = events.RetrospectiveRecorded

    # The version of the state its snapshots record; an older one is upcast
    # when it is loaded (domain/objective_state.py says what each changed).
    class_version = state.STATE_VERSION
    upcast_v1_v2 = staticmethod(state.upcast_v1_v2)
    upcast_v2_v3 = staticmethod(state.upcast_v2_v3)
    upcast_v3_v4 = staticmethod(state.upcast_v3_v4)

    @event(Drafted)
    def __init__(
        self,
        organization_id: str,
        cycle_id: UUID,
        title: str,
        description: str,
        level: str,
        owner_team_id: UUID | None,
        owner_user_id: str | None,
        visibility: str,
        aligned_to_objective_id: UUID | None,
        aligned_to_key_result_id: UUID | None,
        aligned_parent_id: UUID | None,
        actor: str,
    ) -> None:
        self.organization_id = organization_id
        self.cycle_id = cycle_id
        self.title = title
        self.description = description
        self.level = level
        self.owner_team_id = owner_team_id
        self.owner_user_id = owner_user_id
        self.visibility = visibility
        self.aligned_to_objective_id = aligned_to_objective_id
        self.aligned_to_key_result_id = aligned_to_key_result_id
        # The objective that owns the KR we align to: the parent in the tree.
        self.aligned_parent_id = aligned_parent_id
        self.archived = False
        self.key_results: dict[str, KeyResult] = {}
        # No notes here: they live only in their NoteAdded events (history, audit),
        # so loading and snapshotting an objective costs the same after any number.
        self.retrospective: dict[str, Any] | None = None

    @classmethod
    def draft(
        cls,
        *,
        organization_id: str,
        cycle_id: UUID,
        title: str,
        description: str | None,
        level: str,
        owner_team_id: UUID | None,
        owner_user_id: str | None,
        visibility: str | None,
        aligned_to_objective_id: UUID | None,
        aligned_to_key_result_id: UUID | None,
        aligned_parent_id: UUID | None,
        actor: str,
    ) -> Objective:
        clean_title = required_text("title", title)
        kind = rules.owned_level(level, owner_team_id, owner_user_id)
        seen_by = rules.visibility_of(visibility or Visibility.PUBLIC.value)
        rules.check_one_alignment(aligned_to_objective_id, aligned_to_key_result_id)
        return cls(
            organization_id=organization_id,
            cycle_id=cycle_id,
            title=clean_title,
            description=optional_text("description", description) or "",
            level=kind.value,
            owner_team_id=owner_team_id,
            owner_user_id=owner_user_id,
            visibility=seen_by.value,
            aligned_to_objective_id=aligned_to_objective_id,
            aligned_to_key_result_id=aligned_to_key_result_id,
            aligned_parent_id=aligned_parent_id,
            actor=actor,
        )

    def edit(
        self,
        *,
        title: str | None,
        description: str | None,
        visibility: str | None,
        actor: str,
    ) -> None:
        self._require_active()
        changes: dict[str, Any] = {}
        if title is not None:
            changes["title"] = required_text("title", title)
        if description is not None:
            changes["description"] = optional_text("description", description)
        if visibility is not None:
            changes["visibility"] = rules.visibility_of(visibility).value
        changes = {k: v for k, v in changes.items() if getattr(self, k) != v}
        if changes:
            self.trigger_event(self.Edited, changes=changes, actor=actor)

    def realign(
        self,
        *,
        objective_id: UUID | None,
        key_result_id: UUID | None,
        parent_id: UUID | None,
        actor: str,
    ) -> None:
        """The command side has already checked that no cycle arises."""
        self._require_active()
        rules.check_one_alignment(objective_id, key_result_id)
        if objective_id == self.id or parent_id == self.id:
            raise InvalidCommand("an objective cannot be aligned to itself")
        if (objective_id, key_result_id) == (
            self.aligned_to_objective_id,
            self.aligned_to_key_result_id,
        ):
            return
        self.trigger_event(
            self.Realigned,
            objective_id=objective_id,
            key_result_id=key_result_id,
            parent_id=parent_id,
            actor=actor,
        )

    def archive(self, actor: str) -> None:
        self._require_active()
        self.trigger_event(self.Archived, actor=actor)

    def add_key_result(
        self,
        *,
        title: str,
        mode: str,
        weight: float | None,
        start: float | None,
        target: float | None,
        unit: str | None,
        milestones: Sequence[str] | None,
        assignee_id: str | None,
        participant_ids: Sequence[str] | None,
        actor: str,
    ) -> UUID:
        self._require_active()
        for name, text in (("unit", unit), ("assignee_id", assignee_id)):
            check_text(name, text)
        for text in [*(milestones or ()), *(participant_ids or ())]:
            check_text("milestones and participant_ids", str(text))
        validate_new(
            title=title,
            mode=mode,
            weight=weight,
            start=start,
            target=target,
            unit=unit,
            milestones=milestones,
        )
        key_result_id = uuid4()
        numeric = ProgressMode(mode) is ProgressMode.NUMERIC
        self.trigger_event(
            self.KeyResultAdded,
            key_result_id=key_result_id,
            title=title.strip(),
            mode=ProgressMode(mode).value,
            weight=1.0 if weight is None else float(weight),
            start=(0.0 if start is None else float(start)) if numeric else None,
            target=None if target is None else float(target),
            unit=unit,
            milestones=[str(m).strip() for m in milestones or ()],
            assignee_id=assignee_id,
            participant_ids=list(dict.fromkeys(participant_ids or ())),
            actor=actor,
        )
        return key_result_id

    def edit_key_result(self, key_result_id: UUID, changes: Mapping[str, Any], actor: str) -> None:
        """PATCH semantics: only the named fields change; an unchanged value is dropped."""
        self._require_active()
        kr = self._active_key_result(key_result_id)
        clean = clean_edit(kr, changes)
        if clean:
            self.trigger_event(
                self.KeyResultEdited, key_result_id=key_result_id, changes=clean, actor=actor
            )

    def archive_key_result(self, key_result_id: UUID, actor: str) -> None:
        self._require_active()
        self._active_key_result(key_result_id)
        self.trigger_event(self.KeyResultArchived, key_result_id=key_result_id, actor=actor)

    def set_weights(self, weights: Mapping[UUID, float], actor: str) -> None:
        self._require_active()
        changed: dict[str, float] = {}
        for key_result_id, weight in weights.items():
            kr = self._active_key_result(key_result_id)
            value = finite(f"weight of {key_result_id}", weight, minimum=0)
            assert value is not None
            if kr.weight != value:
                changed[str(key_result_id)] = value
        if changed:
            self.trigger_event(self.WeightsChanged, weights=changed, actor=actor)

    def check_in(
        self,
        key_result_id: UUID,
        *,
        percent: float | None,
        current: float | None,
        milestones_done: Sequence[int] | None,
        status: str,
        confidence: float | None,
        note: str | None,
        checked_in_at: datetime,
        actor: str,
        seal: Seal = keep,
    ) -> None:
        self._require_active()
        kr = self._active_key_result(key_result_id)
        values = checked_in_values(
            kr,
            percent=percent,
            current=current,
            milestones_done=milestones_done,
            status=status,
            confidence=confidence,
        )
        self.trigger_event(
            self.KeyResultCheckedIn,
            key_result_id=key_result_id,
            **values,
            note=seal_text(seal, optional_text("note", note)),
            checked_in_at=checked_in_at,
            actor=actor,
        )

    def add_note(self, *, topic: str, text: str, actor: str, seal: Seal = keep) -> None:
        rules.note_topic(topic)
        clean = required_text("text", text, limit=TEXT_LIMIT)
        self.trigger_event(
            self.NoteAdded, note_id=uuid4(), topic=topic, text=seal(clean), actor=actor
        )

    def record_retrospective(
        self,
        *,
        scores: Mapping[UUID, float],
        problems: str,
        improvements: str,
        next_focus: str,
        actor: str,
        seal: Seal = keep,
    ) -> None:
        self._require_active()
        for key_result_id in scores:
            self.key_result(key_result_id)
        clean = rules.retrospective_scores(scores)
        self.trigger_event(
            self.RetrospectiveRecorded,
            scores=clean,
            **rules.retrospective_texts(
                seal, problems=problems, improvements=improvements, next_focus=next_focus
            ),
            actor=actor,
        )


# Events stored before issue 15 name the check-in class by its old name.
register_topic("domain.objective:Objective.CheckedIn", Objective.KeyResultCheckedIn)
