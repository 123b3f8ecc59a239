"""Cycle commands: plan a cycle and move it through its phases."""

from __future__ import annotations

from commands.actor import Actor
from commands.authorization import require_admin
from commands.base import CommandsBase, Written
from commands.messages import AdvanceCyclePhase, PlanCycle
from domain.cycle import Cycle


class CycleCommands(CommandsBase):
    def plan_cycle(self, actor: Actor, command: PlanCycle) -> Written:
        require_admin(actor, "plan a cycle")
        cycle = Cycle.plan(
            organization_id=actor.organization_id,
            name=command.name,
            start_date=command.start_date,
            end_date=command.end_date,
            cadence=command.cadence,
            actor=actor.label,
        )
        return self.create(cycle)

    def advance_cycle_phase(self, actor: Actor, command: AdvanceCyclePhase) -> Written:
        require_admin(actor, "move a cycle to its next phase")
        return self.change(
            actor,
            command.cycle_id,
            Cycle,
            lambda cycle: cycle.advance_phase(command.phase, actor=actor.label),
            command.expected_version,
        )
