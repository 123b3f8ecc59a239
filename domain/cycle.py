"""The ``Cycle`` aggregate: an OKR period and its forward-only phases.

The phase decides which commands the objectives of the cycle accept; that
table lives here (``PHASE_ALLOWS``) so every aggregate asks one place.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any, Final, TypeVar

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


EARLIEST_DATE: Final = date(1970, 1, 1)
LATEST_DATE: Final = date(2199, 12, 31)
MAX_CYCLE_YEARS: Final = 5
"""SPEC §9: the calendar the service plans in, and the longest cycle. Far dates
are refused at the door so that no formula meets a date it cannot count with."""


def check_calendar_date(name: str, value: date) -> None:
    """Refuse a date outside ``EARLIEST_DATE``..``LATEST_DATE`` (both allowed)."""
    if not EARLIEST_DATE <= value <= LATEST_DATE:
        raise InvalidCommand(f"{name} must lie within {EARLIEST_DATE}..{LATEST_DATE}, got {value}")


def check_calendar_moment(name: str, moment: datetime) -> None:
    """The same range for a moment (time travel's ``as_of``): its UTC date must lie in it.

    A naive moment is UTC; one with no UTC equivalent (year 1 east of Greenwich)
    is outside the range too.
    """
    try:
        utc = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except OverflowError:
        raise InvalidCommand(
            f"{name} must lie within {EARLIEST_DATE}..{LATEST_DATE}, got {moment.isoformat()}"
        ) from None
    check_calendar_date(name, utc.date())


def latest_end_date(start: date) -> date:
    """The last ``end_date`` a cycle starting on ``start`` may have.

    Both dates are inclusive (a cycle covers its end day, as pace counts it), so
    a cycle lasts exactly five years when it ends the day before the fifth
    anniversary of its start: 2026-01-01 may run to 2030-12-31, not 2031-01-01.
    A start on 29 February has its anniversary on 1 March.
    """
    year = start.year + MAX_CYCLE_YEARS
    try:
        anniversary = start.replace(year=year)
    except ValueError:  # 29 February in a year without one
        anniversary = date(year, 3, 1)
    return anniversary - timedelta(days=1)


def check_cycle_dates(start_date: date, end_date: date) -> None:
    """Both dates in the calendar, start before end, at most ``MAX_CYCLE_YEARS`` long."""
    check_calendar_date("start_date", start_date)
    check_calendar_date("end_date", end_date)
    if start_date >= end_date:
        raise InvalidCommand("start_date must be before end_date")
    if end_date > latest_end_date(start_date):
        raise InvalidCommand(
            f"a cycle lasts at most {MAX_CYCLE_YEARS} years: one starting {start_date}"
            f" ends by {latest_end_date(start_date)}"
        )


class Planned(Aggregate.Created):
    """A cycle was planned (``Cycle.__init__`` sets the state from these fields)."""

    class_version = 1
    organization_id: str
    name: str
    start_date: date
    end_date: date
    cadence: str
    actor: str


class PhaseAdvanced(Aggregate.Event):
    class_version = 1
    phase: str
    actor: str

    def apply(self, aggregate: Cycle) -> None:
        aggregate.phase = Phase(self.phase)


class Cycle(Aggregate):
    """An OKR cycle of one organization (its events are stored as ``Cycle.<Name>``)."""

    Planned = Planned
    PhaseAdvanced = PhaseAdvanced

    @event(Planned)
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
        self.phase = Phase.first()
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
        check_cycle_dates(start_date, end_date)
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
        self.trigger_event(self.PhaseAdvanced, phase=wanted.value, actor=actor)

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


CycleRow = TypeVar("CycleRow", bound=Mapping[str, Any])


def current_cycle(cycles: Iterable[CycleRow]) -> CycleRow | None:
    """The cycle a reader means by "now": the one in tracking (the latest starting, if
    several), else the latest starting of all; None without cycles.

    ``cycles`` are the cycles read model's rows (``phase``, ``start_date``,
    ``end_date``; dates as ISO text or dates, which sort alike).
    """
    every = list(cycles)
    tracking = [c for c in every if c["phase"] == Phase.TRACKING]
    chosen = tracking or every
    return max(chosen, key=lambda c: (str(c["start_date"]), str(c["end_date"]))) if chosen else None
