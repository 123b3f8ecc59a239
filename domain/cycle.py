"""The ``Cycle`` aggregate: an OKR period and its forward-only phases.

The phase decides which commands the objectives of the cycle accept; that
table lives here (``PHASE_ALLOWS``) so every aggregate asks one place.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Any

from eventsourcing.domain import Aggregate, event

from domain.errors import InvalidCommand, PhaseRuleViolation
from domain.text import check_text
from domain.values import Cadence, Phase, next_phase


class PhaseAction(StrEnum):
    """What a command does to the objectives of a cycle, as far as phases care."""

    EDIT_OBJECTIVES = "edit_objectives"  # create, edit, re-align, re-weight, archive, link
    CHECK_IN = "check_in"
    ISSUE_PROGRESS = "issue_progress"  # an issue event moving a linked key result
    RETROSPECTIVE = "retrospective"
    NOTE = "note"


PHASE_ALLOWS: dict[Phase, frozenset[PhaseAction]] = {
    Phase.LAUNCH: frozenset({PhaseAction.NOTE}),
    Phase.DRAFTING: frozenset({PhaseAction.EDIT_OBJECTIVES, PhaseAction.NOTE}),
    Phase.TRACKING: frozenset(
        {
            PhaseAction.EDIT_OBJECTIVES,
            PhaseAction.CHECK_IN,
            PhaseAction.ISSUE_PROGRESS,
            PhaseAction.NOTE,
        }
    ),
    Phase.RETROSPECTIVE: frozenset(
        {PhaseAction.ISSUE_PROGRESS, PhaseAction.RETROSPECTIVE, PhaseAction.NOTE}
    ),
    Phase.CLOSED: frozenset(),
}


class Cycle(Aggregate):
    """An OKR cycle of one organization."""

    @event("Planned")
    def __init__(
        self,
        organization_id: str,
        name: str,
        start_date: date,
        end_date: date,
        cadence: str,
        actor: str,
    ) -> None:
        self.organization_id = organization_id
        self.name = name
        self.start_date = _as_date(start_date)
        self.end_date = _as_date(end_date)
        self.cadence = Cadence(cadence)
        self.phase = Phase.LAUNCH
        self.created_by = actor

    @classmethod
    def plan(
        cls,
        *,
        organization_id: str,
        name: str,
        start_date: date,
        end_date: date,
        cadence: str,
        actor: str,
    ) -> Cycle:
        """Validate before the fact, so replaying old events never re-checks rules."""
        check_text("name", name)
        if not name.strip():
            raise InvalidCommand("a cycle needs a name")
        if start_date >= end_date:
            raise InvalidCommand("start_date must be before end_date")
        try:
            Cadence(cadence)
        except ValueError:
            raise InvalidCommand(f"unknown cadence {cadence!r}") from None
        return cls(
            organization_id=organization_id,
            name=name.strip(),
            start_date=start_date,
            end_date=end_date,
            cadence=cadence,
            actor=actor,
        )

    def advance_phase(self, phase: str, actor: str) -> None:
        """Phases only move forward, one step at a time."""
        if self.phase is Phase.CLOSED:
            raise PhaseRuleViolation("the cycle is closed: it is read-only")
        expected = next_phase(self.phase)
        try:
            wanted = Phase(phase)
        except ValueError:
            raise InvalidCommand(f"unknown phase {phase!r}") from None
        if wanted != expected:
            raise PhaseRuleViolation(
                f"the cycle is in {self.phase.value}: the next phase is "
                f"{expected.value if expected else 'none'}, not {wanted.value}"
            )
        self._phase_advanced(phase=wanted.value, actor=actor)

    @event("PhaseAdvanced")
    def _phase_advanced(self, phase: str, actor: str) -> None:
        self.phase = Phase(phase)

    def allows(self, action: PhaseAction) -> bool:
        return action in PHASE_ALLOWS[self.phase]

    def require(self, action: PhaseAction) -> None:
        """Refuse, naming the phase, so the caller learns what would be allowed."""
        if not self.allows(action):
            if self.phase is Phase.CLOSED:
                raise PhaseRuleViolation("the cycle is closed: it is read-only")
            raise PhaseRuleViolation(
                f"the cycle is in phase {self.phase.value}, which does not allow "
                f"{action.value.replace('_', ' ')}"
            )


def _as_date(value: Any) -> date:
    """Events store dates as ISO strings in old records; accept both."""
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))
