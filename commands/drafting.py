"""Objective commands of drafting: draft, edit, align, archive."""

from __future__ import annotations

from collections.abc import Collection

from commands.actor import Actor
from commands.authorization import require_may_draft
from commands.base import Written
from commands.messages import AlignObjective, ArchiveObjective, DraftObjective, EditObjective
from commands.objective_base import ObjectiveCommandsBase
from commands.reads import rely_on
from domain.cycle import Cycle, PhaseAction
from domain.objective import Objective
from domain.team import Team
from domain.values import Level


class DraftingCommands(ObjectiveCommandsBase):
    def draft_objective(self, actor: Actor, command: DraftObjective) -> Written:
        c = command
        self._check_parent_visible(actor, c.aligned_to_objective_id, c.aligned_to_key_result_id)
        # Retried: a phase change or re-alignment saved meanwhile (commands/reads.py).
        return self.retrying(lambda: self._draft(actor, c))

    def _draft(self, actor: Actor, c: DraftObjective) -> Written:
        cycle = self.load(actor, c.cycle_id, Cycle)
        if c.owner_team_id is not None:
            self.load(actor, c.owner_team_id, Team)
        owner_user_id = c.owner_user_id
        if c.level == Level.INDIVIDUAL and owner_user_id is None and not actor.is_admin:
            owner_user_id = actor.user_id  # "my objective" needs no owner spelled out
        managers = self.team_managers(actor, c.owner_team_id)
        require_may_draft(actor, c.level, owner_user_id, managers)
        cycle.require(PhaseAction.EDIT_OBJECTIVES)
        rely_on(cycle)
        parent_id = self._resolve_parent(
            actor, c.cycle_id, c.aligned_to_objective_id, c.aligned_to_key_result_id
        )
        self._ensure_alignment(actor, c.cycle_id, None, parent_id)
        objective = Objective.draft(
            organization_id=actor.organization_id,
            cycle_id=c.cycle_id,
            title=c.title,
            description=c.description,
            level=c.level,
            owner_team_id=c.owner_team_id,
            owner_user_id=owner_user_id,
            visibility=c.visibility,
            aligned_to_objective_id=c.aligned_to_objective_id,
            aligned_to_key_result_id=c.aligned_to_key_result_id,
            aligned_parent_id=parent_id if c.aligned_to_key_result_id is not None else None,
            actor=actor.label,
        )
        return self.create(objective)

    def edit_objective(self, actor: Actor, command: EditObjective) -> Written:
        c = command
        return self._edit(
            actor,
            c.objective_id,
            PhaseAction.EDIT_OBJECTIVES,
            lambda o, _: o.edit(
                title=c.title,
                description=c.description,
                visibility=c.visibility,
                actor=actor.label,
            ),
            c.expected_version,
        )

    def align_objective(self, actor: Actor, command: AlignObjective) -> Written:
        c = command
        self._check_parent_visible(actor, c.to_objective_id, c.to_key_result_id)

        def align(objective: Objective, _: Collection[str]) -> None:
            parent_id = self._resolve_parent(
                actor, objective.cycle_id, c.to_objective_id, c.to_key_result_id
            )
            self._ensure_alignment(actor, objective.cycle_id, objective.id, parent_id)
            objective.realign(
                objective_id=c.to_objective_id,
                key_result_id=c.to_key_result_id,
                parent_id=parent_id if c.to_key_result_id is not None else None,
                actor=actor.label,
            )

        return self._edit(
            actor, c.objective_id, PhaseAction.EDIT_OBJECTIVES, align, c.expected_version
        )

    def archive_objective(self, actor: Actor, command: ArchiveObjective) -> Written:
        return self._edit(
            actor,
            command.objective_id,
            PhaseAction.EDIT_OBJECTIVES,
            lambda o, _: o.archive(actor.label),
            command.expected_version,
        )
