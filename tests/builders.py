"""Shared builders for the write-side tests (test_domain_* and test_commands_*).

``World`` wraps one ``OkrApplication`` and knows how to plan a cycle, move it
to a phase, form teams and draft objectives with key results in a line each,
so every test states only what it is about.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

from commands.actor import Actor
from commands.application import OkrApplication
from commands.issue_event import KEEP_ESTIMATE, IssueEstimate, IssueEvent
from commands.messages import (
    AddKeyResult,
    AdvanceCyclePhase,
    CheckIn,
    DraftObjective,
    FormTeam,
    PlanCycle,
    SetTeamMember,
)
from domain.objective import Objective
from domain.values import Phase, TokenRole

ORG = "acme"
OTHER_ORG = "globex"
ADMIN = Actor(ORG, "ada", TokenRole.ADMIN)
OTHER_ADMIN = Actor(OTHER_ORG, "ada", TokenRole.ADMIN)
INTEGRATION = Actor(ORG, "tracker-bot", TokenRole.INTEGRATION)

MEMORY_ENV = {"PERSISTENCE_MODULE": "eventsourcing.popo"}

PHASES: tuple[Phase, ...] = (
    Phase.LAUNCH,
    Phase.DRAFTING,
    Phase.TRACKING,
    Phase.RETROSPECTIVE,
    Phase.CLOSED,
)

BASE_TIME = datetime(2027, 2, 1, 12, 0, tzinfo=UTC)


def member(user_id: str, org: str = ORG) -> Actor:
    return Actor(org, user_id, TokenRole.MEMBER)


def memory_app() -> OkrApplication:
    return OkrApplication(env=dict(MEMORY_ENV))


def report(
    event_id: str,
    status: str,
    *,
    issue_key: str = "acme/app#1",
    tracker: str = "github",
    minutes: int = 0,
    estimate: IssueEstimate = KEEP_ESTIMATE,
) -> IssueEvent:
    """A canonical issue event, ``minutes`` after a fixed base time."""
    return IssueEvent(
        event_id=event_id,
        tracker=tracker,
        issue_key=issue_key,
        status=status,
        occurred_at=BASE_TIME + timedelta(minutes=minutes),
        estimate=estimate,
    )


class World:
    """A thin helper around one application; every write goes through the commands."""

    def __init__(self, app: OkrApplication, admin: Actor = ADMIN) -> None:
        self.app = app
        self.admin = admin

    # ---------------------------------------------------------------- cycles

    def cycle(
        self,
        phase: Phase | str = Phase.DRAFTING,
        *,
        start: date = date(2027, 1, 1),
        end: date = date(2027, 3, 31),
        name: str = "Q1",
    ) -> UUID:
        cycle_id = self.app.plan_cycle(
            self.admin, PlanCycle(name=name, start_date=start, end_date=end, cadence="quarter")
        ).id
        self.advance(cycle_id, phase)
        return cycle_id

    def advance(self, cycle_id: UUID, phase: Phase | str) -> None:
        """Step the cycle forward one phase at a time until it is in ``phase``."""
        wanted = Phase(phase)
        current = self.app.repository.get(cycle_id).phase
        for step in PHASES[PHASES.index(current) + 1 : PHASES.index(wanted) + 1]:
            self.app.advance_cycle_phase(self.admin, AdvanceCyclePhase(cycle_id, step.value))

    # ----------------------------------------------------------------- teams

    def team(
        self,
        *,
        managers: Iterable[str] = (),
        members: Iterable[str] = (),
        name: str = "Platform",
        parent_id: UUID | None = None,
    ) -> UUID:
        team_id = self.app.form_team(self.admin, FormTeam(name=name, parent_id=parent_id)).id
        for user in managers:
            self.app.set_team_member(
                self.admin, SetTeamMember(team_id, user_id=user, role="manager")
            )
        for user in members:
            self.app.set_team_member(
                self.admin, SetTeamMember(team_id, user_id=user, role="member")
            )
        return team_id

    # ------------------------------------------------------------ objectives

    def objective(
        self,
        cycle_id: UUID,
        *,
        team_id: UUID | None = None,
        level: str | None = None,
        owner_user_id: str | None = None,
        title: str = "Ship the thing",
        visibility: str | None = None,
        aligned_to_objective_id: UUID | None = None,
        aligned_to_key_result_id: UUID | None = None,
        actor: Actor | None = None,
    ) -> UUID:
        if level is None:
            level = "individual" if owner_user_id is not None else "team"
        if level != "individual" and team_id is None:
            team_id = self.team()
        return self.app.draft_objective(
            actor or self.admin,
            DraftObjective(
                cycle_id=cycle_id,
                title=title,
                level=level,
                owner_team_id=team_id if level != "individual" else None,
                owner_user_id=owner_user_id,
                visibility=visibility,
                aligned_to_objective_id=aligned_to_objective_id,
                aligned_to_key_result_id=aligned_to_key_result_id,
            ),
        ).id

    def kr(
        self,
        objective_id: UUID,
        mode: str = "percentage",
        *,
        title: str = "KR",
        weight: float | None = None,
        start: float | None = None,
        target: float | None = None,
        unit: str | None = None,
        milestones: Sequence[str] | None = None,
        assignee_id: str | None = None,
        participant_ids: Sequence[str] | None = None,
        actor: Actor | None = None,
    ) -> UUID:
        written = self.app.add_key_result(
            actor or self.admin,
            AddKeyResult(
                objective_id,
                title=title,
                mode=mode,
                weight=weight,
                start=start,
                target=target,
                unit=unit,
                milestones=milestones,
                assignee_id=assignee_id,
                participant_ids=participant_ids,
            ),
        )
        assert written.key_result_id is not None
        return written.key_result_id

    def check_in(
        self, objective_id: UUID, kr_id: UUID, status: str = "on_track", **values: Any
    ) -> None:
        self.app.check_in(self.admin, CheckIn(objective_id, kr_id, status=status, **values))

    # ----------------------------------------------------------------- reads

    def get(self, aggregate_id: UUID) -> Any:
        return self.app.repository.get(aggregate_id)

    def obj(self, objective_id: UUID) -> Objective:
        found = self.app.repository.get(objective_id)
        assert isinstance(found, Objective)
        return found

    def version(self, aggregate_id: UUID) -> int:
        return int(self.app.repository.get(aggregate_id).version)

    def events(self, aggregate_id: UUID) -> list[Any]:
        return list(self.app.events.get(aggregate_id))

    def event_names(self, aggregate_id: UUID) -> list[str]:
        return [type(e).__name__ for e in self.events(aggregate_id)]

    def position(self) -> int:
        """The log's last notification id: it moves iff anything at all was written."""
        return int(self.app.recorder.max_notification_id() or 0)
