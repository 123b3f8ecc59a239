"""Objective commands: drafting, alignment, key results, weights, check-ins,
issue links, notes and retrospectives.

Each method checks, in order: the objective exists in the caller's
organization and is visible to them (else NotFound), the caller's rights
(else PermissionDenied), the cycle's phase (else PhaseRuleViolation), then
the aggregate's own rules.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any
from uuid import UUID

from commands.actor import Actor
from commands.authorization import (
    require_editor,
    require_key_result_worker,
    require_may_draft,
    require_person,
    require_visible,
)
from commands.base import Written
from commands.teams import LazyManagers, TeamCommands
from domain.alignment import DEFAULT_MAX_DEPTH, ensure_alignment_allowed
from domain.cycle import Cycle, PhaseAction
from domain.errors import Conflict, InvalidCommand, NotFound
from domain.issue import Issue, issue_id
from domain.key_result_locator import KeyResultLocator
from domain.limits import require_room_for_issue_link, require_room_for_key_result
from domain.objective import Objective
from domain.team import Team
from domain.values import Level


def require_note_author(actor: Actor, objective: Objective, managers: Collection[str]) -> None:
    """Anyone who may see the objective may write a note on it (but not an integration)."""
    require_visible(actor, objective, managers)
    require_person(actor)


SubtreeHeight = Callable[[str, UUID, UUID, int], int]
"""``(organization_id, cycle_id, objective_id, bound)``: objectives on the longest
path down from the objective, itself included, counted up to ``bound + 1``."""


def unknown_subtree(organization_id: str, cycle_id: UUID, objective_id: UUID, bound: int) -> int:
    """Without a read side (a bare application) the objectives below are unknown:
    only the objective itself is counted."""
    return 1


class ObjectiveCommands(TeamCommands):
    # The write side knows each objective's parent, not its children: the height of
    # a moved objective's subtree comes from the objectives read model, which the
    # runtime wires in here (runtime/bootstrap.py) and the API lets catch up first.
    subtree_height: SubtreeHeight | None = None

    @property
    def max_alignment_depth(self) -> int:
        """``OKR_MAX_ALIGNMENT_DEPTH``: objectives on the longest root-to-leaf path."""
        return int(self.env.get("OKR_MAX_ALIGNMENT_DEPTH") or DEFAULT_MAX_DEPTH)

    def _ensure_alignment(
        self, actor: Actor, cycle_id: UUID, objective_id: UUID | None, parent_id: UUID | None
    ) -> None:
        """The alignment rules (domain/alignment.py) for hanging an objective under
        ``parent_id``: a new one (``objective_id`` None) alone, an existing one with
        everything that hangs below it."""
        if parent_id is None:
            return
        bound = self.max_alignment_depth
        height = (
            1
            if objective_id is None
            else (self.subtree_height or unknown_subtree)(
                actor.organization_id, cycle_id, objective_id, bound
            )
        )
        ensure_alignment_allowed(
            objective_id,
            parent_id,
            self._parent_of(actor),
            subtree_height=height,
            max_depth=bound,
        )

    # ------------------------------------------------------------ helpers

    def _cycle_allows(self, actor: Actor, cycle_id: UUID, action: PhaseAction) -> Cycle:
        cycle = self.load(actor, cycle_id, Cycle)
        cycle.require(action)
        return cycle

    def _resolve_parent(
        self,
        actor: Actor,
        cycle_id: UUID,
        objective_id: UUID | None,
        key_result_id: UUID | None,
    ) -> UUID | None:
        """The objective above: the one named, or the one owning the named KR."""
        if objective_id is not None and key_result_id is not None:
            raise InvalidCommand("align to an objective or to a key result, not both")
        if key_result_id is not None:
            locator = self.find(actor, key_result_id, KeyResultLocator)
            if locator is None:
                raise NotFound(f"key result {key_result_id} not found")
            objective_id = locator.objective_id
            parent = self.load(actor, objective_id, Objective)
            if parent.key_result(key_result_id).archived:
                raise Conflict(f"key result {key_result_id} is archived")
        elif objective_id is not None:
            parent = self.load(actor, objective_id, Objective)
        else:
            return None
        # A parent the caller may not see answers exactly like a missing one.
        require_visible(actor, parent, self.team_managers(actor, parent.owner_team_id))
        if parent.archived:
            raise Conflict(f"objective {parent.id} is archived")
        if parent.cycle_id != cycle_id:
            raise InvalidCommand("an objective can only be aligned within its own cycle")
        return parent.id

    def _edit(
        self,
        actor: Actor,
        objective_id: UUID,
        action: PhaseAction,
        command: Callable[[Objective, Collection[str]], object],
        expected_version: int | None,
        may: Callable[[Actor, Objective, Collection[str]], None] = require_editor,
    ) -> Written:
        managers: Collection[str] = frozenset()

        def authorize(objective: Objective) -> None:
            nonlocal managers  # loaded at most once per attempt, used by both steps
            managers = LazyManagers(lambda: self.team_managers(actor, objective.owner_team_id))
            may(actor, objective, managers)

        def checked(objective: Objective) -> object:
            self._cycle_allows(actor, objective.cycle_id, action)
            return command(objective, managers)

        return self.change(
            actor, objective_id, Objective, checked, expected_version, authorize=authorize
        )

    # ------------------------------------------------------------ drafting

    def draft_objective(
        self,
        actor: Actor,
        *,
        cycle_id: UUID,
        title: str,
        description: str | None = None,
        level: str,
        owner_team_id: UUID | None = None,
        owner_user_id: str | None = None,
        visibility: str | None = None,
        aligned_to_objective_id: UUID | None = None,
        aligned_to_key_result_id: UUID | None = None,
    ) -> Written:
        cycle = self.load(actor, cycle_id, Cycle)
        if owner_team_id is not None:
            self.load(actor, owner_team_id, Team)
        if level == Level.INDIVIDUAL and owner_user_id is None and not actor.is_admin:
            owner_user_id = actor.user_id  # "my objective" needs no owner spelled out
        managers = self.team_managers(actor, owner_team_id)
        require_may_draft(actor, level, owner_user_id, managers)
        cycle.require(PhaseAction.EDIT_OBJECTIVES)
        parent_id = self._resolve_parent(
            actor, cycle_id, aligned_to_objective_id, aligned_to_key_result_id
        )
        self._ensure_alignment(actor, cycle_id, None, parent_id)
        objective = Objective.draft(
            organization_id=actor.organization_id,
            cycle_id=cycle_id,
            title=title,
            description=description,
            level=level,
            owner_team_id=owner_team_id,
            owner_user_id=owner_user_id,
            visibility=visibility,
            aligned_to_objective_id=aligned_to_objective_id,
            aligned_to_key_result_id=aligned_to_key_result_id,
            aligned_parent_id=parent_id if aligned_to_key_result_id is not None else None,
            actor=actor.label,
        )
        return self.create(objective)

    def edit_objective(
        self,
        actor: Actor,
        objective_id: UUID,
        *,
        title: str | None = None,
        description: str | None = None,
        visibility: str | None = None,
        expected_version: int | None = None,
    ) -> Written:
        return self._edit(
            actor,
            objective_id,
            PhaseAction.EDIT_OBJECTIVES,
            lambda o, _: o.edit(
                title=title, description=description, visibility=visibility, actor=actor.label
            ),
            expected_version,
        )

    def align_objective(
        self,
        actor: Actor,
        objective_id: UUID,
        *,
        to_objective_id: UUID | None = None,
        to_key_result_id: UUID | None = None,
        expected_version: int | None = None,
    ) -> Written:
        def command(objective: Objective, _: Collection[str]) -> None:
            parent_id = self._resolve_parent(
                actor, objective.cycle_id, to_objective_id, to_key_result_id
            )
            self._ensure_alignment(actor, objective.cycle_id, objective.id, parent_id)
            objective.realign(
                objective_id=to_objective_id,
                key_result_id=to_key_result_id,
                parent_id=parent_id if to_key_result_id is not None else None,
                actor=actor.label,
            )

        return self._edit(
            actor, objective_id, PhaseAction.EDIT_OBJECTIVES, command, expected_version
        )

    def _parent_of(self, actor: Actor) -> Callable[[UUID], UUID | None]:
        def parent_of(objective_id: UUID) -> UUID | None:
            found = self.find(actor, objective_id, Objective)
            return None if found is None else found.parent_id

        return parent_of

    def archive_objective(
        self, actor: Actor, objective_id: UUID, expected_version: int | None = None
    ) -> Written:
        return self._edit(
            actor,
            objective_id,
            PhaseAction.EDIT_OBJECTIVES,
            lambda o, _: o.archive(actor.label),
            expected_version,
        )

    # --------------------------------------------------------- key results

    def add_key_result(
        self,
        actor: Actor,
        objective_id: UUID,
        *,
        title: str,
        mode: str,
        weight: float | None = None,
        start: float | None = None,
        target: float | None = None,
        unit: str | None = None,
        milestones: Sequence[str] | None = None,
        assignee_id: str | None = None,
        participant_ids: Sequence[str] | None = None,
        expected_version: int | None = None,
    ) -> Written:
        def attempt() -> Written:
            objective = self.load(actor, objective_id, Objective)
            require_editor(actor, objective, self.team_managers(actor, objective.owner_team_id))
            self.check_version(objective, expected_version)
            self._cycle_allows(actor, objective.cycle_id, PhaseAction.EDIT_OBJECTIVES)
            require_room_for_key_result(objective)
            key_result_id = objective.add_key_result(
                title=title,
                mode=mode,
                weight=weight,
                start=start,
                target=target,
                unit=unit,
                milestones=milestones,
                assignee_id=assignee_id,
                participant_ids=participant_ids,
                actor=actor.label,
            )
            locator = KeyResultLocator(
                key_result_id=key_result_id,
                objective_id=objective.id,
                organization_id=actor.organization_id,
                actor=actor.label,
            )
            position = self.record(objective, locator)
            return Written(objective.id, objective.version, position, key_result_id)

        return self.retrying(attempt, expected_version)

    def edit_key_result(
        self,
        actor: Actor,
        objective_id: UUID,
        key_result_id: UUID,
        changes: Mapping[str, Any],
        expected_version: int | None = None,
    ) -> Written:
        return self._edit(
            actor,
            objective_id,
            PhaseAction.EDIT_OBJECTIVES,
            lambda o, _: o.edit_key_result(key_result_id, changes, actor.label),
            expected_version,
        )

    def archive_key_result(
        self,
        actor: Actor,
        objective_id: UUID,
        key_result_id: UUID,
        expected_version: int | None = None,
    ) -> Written:
        return self._edit(
            actor,
            objective_id,
            PhaseAction.EDIT_OBJECTIVES,
            lambda o, _: o.archive_key_result(key_result_id, actor.label),
            expected_version,
        )

    def set_weights(
        self,
        actor: Actor,
        objective_id: UUID,
        weights: Mapping[UUID, float],
        expected_version: int | None = None,
    ) -> Written:
        return self._edit(
            actor,
            objective_id,
            PhaseAction.EDIT_OBJECTIVES,
            lambda o, _: o.set_weights(weights, actor.label),
            expected_version,
        )

    # ------------------------------------------------------------ tracking

    def check_in(
        self,
        actor: Actor,
        objective_id: UUID,
        key_result_id: UUID,
        *,
        status: str,
        percent: float | None = None,
        current: float | None = None,
        milestones_done: Sequence[int] | None = None,
        confidence: float | None = None,
        note: str | None = None,
        expected_version: int | None = None,
    ) -> Written:
        def may(actor: Actor, objective: Objective, managers: Collection[str]) -> None:
            require_key_result_worker(actor, objective, str(key_result_id), managers)

        return self._edit(
            actor,
            objective_id,
            PhaseAction.CHECK_IN,
            lambda o, _: o.check_in(
                key_result_id,
                percent=percent,
                current=current,
                milestones_done=milestones_done,
                status=status,
                confidence=confidence,
                note=note,
                at=self.clock(),
                actor=actor.label,
            ),
            expected_version,
            may,
        )

    def link_issue(
        self,
        actor: Actor,
        objective_id: UUID,
        key_result_id: UUID,
        *,
        tracker: str,
        issue_key: str,
        estimate: float | None = None,
        url: str | None = None,
        title: str | None = None,
        expected_version: int | None = None,
    ) -> Written:
        """Links both ways in one transaction: the KR lists the issue, the issue its KRs."""

        def attempt() -> Written:
            objective = self._issue_link_target(
                actor, objective_id, key_result_id, expected_version
            )
            issue = self.find(actor, issue_id(actor.organization_id, tracker, issue_key), Issue)
            if issue is None:
                issue = Issue(
                    organization_id=actor.organization_id,
                    tracker=tracker,
                    issue_key=issue_key,
                    actor=actor.label,
                )
            require_room_for_issue_link(objective)
            objective.link_issue(
                key_result_id,
                tracker=tracker,
                issue_key=issue_key,
                estimate=estimate if estimate is not None else issue.estimate,
                url=url if url is not None else issue.url,
                title=title if title is not None else issue.title,
                status=issue.status,
                actor=actor.label,
            )
            issue.link(objective.id, key_result_id, actor=actor.label)
            position = self.record(objective, issue)
            return Written(objective.id, objective.version, position)

        return self.retrying(attempt, expected_version)

    def unlink_issue(
        self,
        actor: Actor,
        objective_id: UUID,
        key_result_id: UUID,
        *,
        tracker: str,
        issue_key: str,
        expected_version: int | None = None,
    ) -> Written:
        def attempt() -> Written:
            objective = self._issue_link_target(
                actor, objective_id, key_result_id, expected_version
            )
            objective.unlink_issue(
                key_result_id, tracker=tracker, issue_key=issue_key, actor=actor.label
            )
            issue = self.find(actor, issue_id(actor.organization_id, tracker, issue_key), Issue)
            others = []
            if issue is not None:
                issue.unlink(objective.id, key_result_id, actor=actor.label)
                others.append(issue)
            position = self.record(objective, *others)
            return Written(objective.id, objective.version, position)

        return self.retrying(attempt, expected_version)

    def _issue_link_target(
        self, actor: Actor, objective_id: UUID, key_result_id: UUID, expected_version: int | None
    ) -> Objective:
        objective = self.load(actor, objective_id, Objective)
        managers = self.team_managers(actor, objective.owner_team_id)
        require_key_result_worker(actor, objective, str(key_result_id), managers)
        self.check_version(objective, expected_version)
        self._cycle_allows(actor, objective.cycle_id, PhaseAction.EDIT_OBJECTIVES)
        return objective

    # --------------------------------------------------- notes, retrospective

    def add_note(
        self,
        actor: Actor,
        objective_id: UUID,
        *,
        topic: str,
        text: str,
        expected_version: int | None = None,
    ) -> Written:
        return self._edit(
            actor,
            objective_id,
            PhaseAction.NOTE,
            lambda o, _: o.add_note(topic=topic, text=text, actor=actor.label),
            expected_version,
            require_note_author,
        )

    def record_retrospective(
        self,
        actor: Actor,
        objective_id: UUID,
        *,
        scores: Mapping[UUID, float] | None,
        problems: str,
        improvements: str,
        next_focus: str,
        expected_version: int | None = None,
    ) -> Written:
        return self._edit(
            actor,
            objective_id,
            PhaseAction.RETROSPECTIVE,
            lambda o, _: o.record_retrospective(
                scores=scores or {},
                problems=problems,
                improvements=improvements,
                next_focus=next_focus,
                actor=actor.label,
            ),
            expected_version,
        )
