"""Objective commands on key results: add, edit, archive, weigh."""

from __future__ import annotations

from commands.actor import Actor
from commands.authorization import require_editor
from commands.base import Written
from commands.messages import AddKeyResult, ArchiveKeyResult, EditKeyResult, SetWeights
from commands.objective_base import ObjectiveCommandsBase
from domain.cycle import PhaseAction
from domain.key_result_locator import KeyResultLocator
from domain.limits import require_room_for_key_result
from domain.objective import Objective


class KeyResultCommands(ObjectiveCommandsBase):
    def add_key_result(self, actor: Actor, command: AddKeyResult) -> Written:
        c = command

        def attempt() -> Written:
            objective = self.load(actor, c.objective_id, Objective)
            require_editor(actor, objective, self.team_managers(actor, objective.owner_team_id))
            self.check_version(objective, c.expected_version)
            self._cycle_allows(actor, objective.cycle_id, PhaseAction.EDIT_OBJECTIVES)
            require_room_for_key_result(objective)
            key_result_id = objective.add_key_result(
                title=c.title,
                mode=c.mode,
                weight=c.weight,
                start=c.start,
                target=c.target,
                unit=c.unit,
                milestones=c.milestones,
                assignee_id=c.assignee_id,
                participant_ids=c.participant_ids,
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

        return self.retrying(attempt, c.expected_version)

    def edit_key_result(self, actor: Actor, command: EditKeyResult) -> Written:
        c = command
        return self._edit(
            actor,
            c.objective_id,
            PhaseAction.EDIT_OBJECTIVES,
            lambda o, _: o.edit_key_result(c.key_result_id, c.changes, actor.label),
            c.expected_version,
        )

    def archive_key_result(self, actor: Actor, command: ArchiveKeyResult) -> Written:
        c = command
        return self._edit(
            actor,
            c.objective_id,
            PhaseAction.EDIT_OBJECTIVES,
            lambda o, _: o.archive_key_result(c.key_result_id, actor.label),
            c.expected_version,
        )

    def set_weights(self, actor: Actor, command: SetWeights) -> Written:
        c = command
        return self._edit(
            actor,
            c.objective_id,
            PhaseAction.EDIT_OBJECTIVES,
            lambda o, _: o.set_weights(c.weights, actor.label),
            c.expected_version,
        )
