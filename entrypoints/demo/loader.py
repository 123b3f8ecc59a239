"""``okr demo``: tells the story of ``entrypoints/demo/story.py`` through the real commands.

Departments and teams, two cycles (a closed one with a finished retrospective
and the current one in tracking), objectives at every level aligned into a
tree, key results of every mode, weeks of check-ins, notes, and tracker
issues moved by issue events. The history is backdated by the application's
own clock (``entrypoints/demo/clock.py``), so progress charts span weeks;
every event still goes through the commands and their rules.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from uuid import UUID

from commands.actor import Actor
from commands.application import OkrApplication
from commands.issue_event import IssueEvent
from commands.messages import (
    AddKeyResult,
    AddNote,
    AdvanceCyclePhase,
    CheckIn,
    DraftObjective,
    FormTeam,
    LinkIssue,
    PlanCycle,
    RecordRetrospective,
    SetTeamMember,
    SetWeights,
)
from domain.values import (
    Cadence,
    KeyResultStatus,
    Level,
    NoteTopic,
    Phase,
    ProgressMode,
    TeamRole,
    TokenRole,
)
from entrypoints.demo import story
from entrypoints.demo.clock import DemoClock


def actor(user: str) -> Actor:
    if user == story.ADMIN_USER:
        return Actor(story.ORG, user, TokenRole.ADMIN)
    return Actor(story.ORG, user, TokenRole.MEMBER)


ADMIN = actor(story.ADMIN_USER)
TRACKER = Actor(story.ORG, story.TRACKER_USER, TokenRole.INTEGRATION)


@dataclass
class Loaded:
    """What the demo made, by the story's names."""

    cycles: dict[str, UUID] = field(default_factory=dict)
    teams: dict[str, UUID] = field(default_factory=dict)
    objectives: dict[str, UUID] = field(default_factory=dict)
    key_results: dict[str, tuple[UUID, UUID]] = field(default_factory=dict)
    last_position: int = 0


def story_start(today: date) -> datetime:
    """Where the story's clock starts: 200 days before the current quarter."""
    return at_midnight(quarter_start(today)) - timedelta(days=200)


def quarter_start(today: date) -> date:
    return date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)


def at_midnight(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), UTC)


def load_demo(
    app: OkrApplication, clock: DemoClock, today: date | None = None, seed: int = 7
) -> Loaded:
    """Tell the story; ``app`` must take its time from ``clock`` (``BackdatedApplication``)."""
    today = today or datetime.now(UTC).date()
    start = quarter_start(today)
    clock.now = story_start(today)
    teller = Teller(app, clock, random.Random(seed))
    teller.teams()
    teller.previous_cycle(start)
    teller.current_cycle(start, today)
    teller.loaded.last_position = app.recorder.max_notification_id() or 0
    return teller.loaded


class Teller:
    """One telling of the story: the commands, in the story's order, at the story's times."""

    def __init__(self, app: OkrApplication, clock: DemoClock, rng: random.Random) -> None:
        self.app = app
        self.clock = clock
        self.rng = rng
        self.loaded = Loaded()

    # -- the organization --------------------------------------------------

    def teams(self) -> None:
        for team in story.TEAMS:
            parent_id = self.loaded.teams[team.parent] if team.parent else None
            team_id = self.app.form_team(ADMIN, FormTeam(name=team.name, parent_id=parent_id)).id
            self.app.set_team_member(
                ADMIN, SetTeamMember(team_id, user_id=team.manager, role=TeamRole.MANAGER)
            )
            for member in team.members:
                self.app.set_team_member(
                    actor(team.manager),
                    SetTeamMember(team_id, user_id=member, role=TeamRole.MEMBER),
                )
            self.loaded.teams[team.name] = team_id

    def cycle(self, role: str, start: date, end: date) -> UUID:
        cycle = self.app.plan_cycle(
            ADMIN,
            PlanCycle(
                name=f"{start:%Y} Q{(start.month - 1) // 3 + 1}",
                start_date=start,
                end_date=end,
                cadence=Cadence.QUARTER,
            ),
        ).id
        self.loaded.cycles[role] = cycle
        self.app.advance_cycle_phase(ADMIN, AdvanceCyclePhase(cycle, Phase.DRAFTING))
        return cycle

    def objective(self, cycle: UUID, objective: story.Objective) -> None:
        to_kr = objective.aligned_to_key_result
        to_objective = objective.aligned_to_objective
        objective_id = self.app.draft_objective(
            ADMIN,
            DraftObjective(
                title=objective.title,
                cycle_id=cycle,
                level=Level(objective.level),
                owner_team_id=self.loaded.teams[objective.owner_team],
                aligned_to_key_result_id=self.loaded.key_results[to_kr][1] if to_kr else None,
                aligned_to_objective_id=self.loaded.objectives[to_objective]
                if to_objective
                else None,
                **objective.options,
            ),
        ).id
        self.loaded.objectives[objective.title] = objective_id
        for kr in objective.key_results:
            written = self.app.add_key_result(
                ADMIN,
                AddKeyResult(
                    objective_id, title=kr.title, mode=ProgressMode(kr.mode), **kr.options
                ),
            )
            assert written.key_result_id is not None
            self.loaded.key_results[kr.title] = (objective_id, written.key_result_id)

    def note(self, note: story.Note) -> None:
        self.app.add_note(
            actor(note.who),
            AddNote(
                self.loaded.objectives[note.objective], topic=NoteTopic(note.topic), text=note.text
            ),
        )

    # -- a week of check-ins -----------------------------------------------

    def check_in(self, series: story.Series, week: int) -> None:
        value = series.values[week - 1] if week <= len(series.values) else None
        if value is None:
            return  # nobody checked in on this key result that week
        objective_id, kr_id = self.loaded.key_results[series.key_result]
        mode = self.mode_of(series.key_result)
        if series.statuses == story.RANDOM:
            status = self.rng.choice(story.CURRENT_STATUSES)
        elif isinstance(series.statuses, str):
            status = series.statuses
        else:
            status = series.statuses[week - 1]
        self.app.check_in(
            actor(series.who),
            CheckIn(
                objective_id,
                kr_id,
                status=KeyResultStatus(status),
                percent=value if mode == "percentage" else None,
                current=value if mode not in ("percentage", "milestone") else None,
                milestones_done=list(range(int(value))) if mode == "milestone" else None,
                confidence=series.confidence,
            ),
        )

    def mode_of(self, title: str) -> str:
        for objective in (story.PREVIOUS_OBJECTIVE, *story.CURRENT_OBJECTIVES):
            for kr in objective.key_results:
                if kr.title == title:
                    return kr.mode
        raise KeyError(title)

    def issues_move(self, week: int) -> None:
        """Tracker events: each linked issue moves along as the weeks pass."""
        for linked in story.LINKED_ISSUES.values():
            reports = []
            for order, issue in enumerate(linked):
                stage = week - order
                status = "done" if stage >= 4 else "in_progress" if stage >= 1 else "todo"
                if issue.cancelled_from_week is not None and week >= issue.cancelled_from_week:
                    status = "cancelled"
                reports.append(
                    IssueEvent(
                        event_id=f"demo-{issue.tracker}-{issue.key}-w{week}",
                        tracker=issue.tracker,
                        issue_key=issue.key,
                        status=status,
                        raw_status=status.replace("_", " "),
                        occurred_at=self.clock.now - timedelta(hours=2),
                        estimate=float(issue.estimate),
                    )
                )
            self.app.apply_issue_events(TRACKER, reports)

    # -- the two cycles ----------------------------------------------------

    def previous_cycle(self, quarter: date) -> None:
        start = quarter - timedelta(days=92)
        end = quarter - timedelta(days=1)
        self.clock.now = at_midnight(start) - timedelta(days=14)
        cycle = self.cycle("previous", start, end)
        self.clock.advance(days=3)
        self.objective(cycle, story.PREVIOUS_OBJECTIVE)
        self.clock.advance(days=10)
        self.app.advance_cycle_phase(ADMIN, AdvanceCyclePhase(cycle, Phase.TRACKING))
        for week in range(1, story.PREVIOUS_WEEKS + 1):
            self.clock.now = at_midnight(start) + timedelta(weeks=week, hours=10)
            for series in story.PREVIOUS_SERIES:
                self.check_in(series, week)
        self.clock.now = at_midnight(end) + timedelta(days=2)
        self.app.advance_cycle_phase(ADMIN, AdvanceCyclePhase(cycle, Phase.RETROSPECTIVE))
        self.note(story.PREVIOUS_APPRAISAL)
        retro = story.PREVIOUS_RETROSPECTIVE
        self.app.record_retrospective(
            actor(retro.who),
            RecordRetrospective(
                self.loaded.objectives[story.PREVIOUS_OBJECTIVE.title],
                scores={
                    self.loaded.key_results[kr][1]: score for kr, score in retro.scores.items()
                },
                problems=retro.problems,
                improvements=retro.improvements,
                next_focus=retro.next_focus,
            ),
        )
        self.clock.advance(days=5)
        self.app.advance_cycle_phase(ADMIN, AdvanceCyclePhase(cycle, Phase.CLOSED))

    def current_cycle(self, start: date, today: date) -> None:
        end = (start + timedelta(days=95)).replace(day=1) - timedelta(days=1)
        self.clock.now = at_midnight(start) - timedelta(days=10)
        cycle = self.cycle("current", start, end)
        self.clock.advance(days=2)
        for objective in story.CURRENT_OBJECTIVES:
            self.objective(cycle, objective)
        for title, weights in story.CURRENT_WEIGHTS.items():
            self.app.set_weights(
                ADMIN,
                SetWeights(
                    self.loaded.objectives[title],
                    {self.loaded.key_results[kr][1]: weight for kr, weight in weights.items()},
                ),
            )
        for kr_title, linked in story.LINKED_ISSUES.items():
            objective_id, kr_id = self.loaded.key_results[kr_title]
            for issue in linked:
                self.app.link_issue(
                    ADMIN,
                    LinkIssue(
                        objective_id,
                        kr_id,
                        tracker=issue.tracker,
                        issue_key=issue.key,
                        estimate=issue.estimate,
                        title=f"Work item {issue.key}",
                    ),
                )
        self.note(story.GOAL_SETTING_NOTE)
        self.clock.now = at_midnight(start) + timedelta(hours=9)
        self.app.advance_cycle_phase(ADMIN, AdvanceCyclePhase(cycle, Phase.TRACKING))
        weeks = max(1, (today - start).days // 7)
        for week in range(1, weeks + 1):
            self.clock.now = at_midnight(start) + timedelta(weeks=week, hours=9)
            for series in story.CURRENT_SERIES:
                self.check_in(series, week)
            self.issues_move(week)
            for note in story.CURRENT_NOTES:
                if note.week == week:
                    self.note(note)
        self.clock.now = at_midnight(today) + timedelta(hours=8)
