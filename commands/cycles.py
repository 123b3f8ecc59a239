"""Cycle commands: plan a cycle and move it through its phases."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from commands.actor import Actor
from commands.authorization import require_admin
from commands.base import CommandsBase, Written
from domain.cycle import Cycle


class CycleCommands(CommandsBase):
    def plan_cycle(
        self,
        actor: Actor,
        *,
        name: str,
        start_date: date,
        end_date: date,
        cadence: str,
    ) -> Written:
        require_admin(actor, "plan a cycle")
        cycle = Cycle.plan(
            organization_id=actor.organization_id,
            name=name,
            start_date=start_date,
            end_date=end_date,
            cadence=cadence,
            actor=actor.label,
        )
        return self.create(cycle)

    def advance_cycle_phase(
        self,
        actor: Actor,
        cycle_id: UUID,
        phase: str,
        expected_version: int | None = None,
    ) -> Written:
        require_admin(actor, "move a cycle to its next phase")
        return self.change(
            actor,
            cycle_id,
            Cycle,
            lambda cycle: cycle.advance_phase(phase, actor=actor.label),
            expected_version,
        )
