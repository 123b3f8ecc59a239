"""``okr demo``: loads a realistic organization through the real commands.

Departments and teams, two cycles (a closed one with a finished retrospective
and the current one in tracking), objectives at every level aligned into a
tree, key results of every mode, weeks of check-ins, notes, and tracker
issues moved by issue events. The history is backdated (a fake clock for
event timestamps) so progress charts span weeks; every event still goes
through the commands and their rules.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import eventsourcing.domain

from commands.actor import Actor
from commands.application import OkrApplication
from commands.issues import IssueReport
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
from domain.values import TokenRole

ORG = "demo"


@dataclass
class DemoClock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@contextmanager
def backdated(app: OkrApplication, clock: DemoClock) -> Iterator[None]:
    """Events and check-ins take their time from ``clock`` while loading the demo."""
    original = eventsourcing.domain.datetime_now_with_tzinfo
    eventsourcing.domain.datetime_now_with_tzinfo = clock  # type: ignore[assignment]
    app.clock = clock
    try:
        yield
    finally:
        eventsourcing.domain.datetime_now_with_tzinfo = original
        app.clock = lambda: datetime.now(UTC)


def actor(user: str, role: TokenRole = TokenRole.MEMBER) -> Actor:
    return Actor(ORG, user, role)


ADMIN = actor("olivia", TokenRole.ADMIN)
TRACKER = actor("tracker-bot", TokenRole.INTEGRATION)


@dataclass
class Loaded:
    cycles: dict[str, UUID] = field(default_factory=dict)
    teams: dict[str, UUID] = field(default_factory=dict)
    objectives: dict[str, UUID] = field(default_factory=dict)
    key_results: dict[str, tuple[UUID, UUID]] = field(default_factory=dict)
    last_position: int = 0


def load_demo(app: OkrApplication, today: date | None = None, seed: int = 7) -> Loaded:
    today = today or datetime.now(UTC).date()
    rng = random.Random(seed)
    quarter_start = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    clock = DemoClock(
        datetime.combine(quarter_start, datetime.min.time(), UTC) - timedelta(days=200)
    )
    loaded = Loaded()
    with backdated(app, clock):
        _teams(app, loaded)
        _previous_cycle(app, loaded, clock, quarter_start, rng)
        _current_cycle(app, loaded, clock, quarter_start, today, rng)
    loaded.last_position = app.recorder.max_notification_id() or 0
    return loaded


def _teams(app: OkrApplication, loaded: Loaded) -> None:
    def team(name: str, parent: str | None, manager: str, *members: str) -> None:
        parent_id = loaded.teams[parent] if parent else None
        team_id = app.form_team(ADMIN, FormTeam(name=name, parent_id=parent_id)).id
        app.set_team_member(ADMIN, SetTeamMember(team_id, user_id=manager, role="manager"))
        for member in members:
            app.set_team_member(
                actor(manager), SetTeamMember(team_id, user_id=member, role="member")
            )
        loaded.teams[name] = team_id

    team("Leadership", None, "olivia", "erin", "paul")
    team("Engineering", None, "erin")
    team("Product", None, "paul")
    team("Platform", "Engineering", "pat", "sam", "sue")
    team("Mobile", "Engineering", "mia", "max")
    team("Growth", "Product", "gus", "gina")


def _kr(app: OkrApplication, loaded: Loaded, objective: str, name: str, **kwargs: Any) -> UUID:
    objective_id = loaded.objectives[objective]
    written = app.add_key_result(ADMIN, AddKeyResult(objective_id, title=name, **kwargs))
    assert written.key_result_id is not None
    loaded.key_results[name] = (objective_id, written.key_result_id)
    return written.key_result_id


def _objective(app: OkrApplication, loaded: Loaded, name: str, **kwargs: Any) -> UUID:
    objective_id = app.draft_objective(ADMIN, DraftObjective(title=name, **kwargs)).id
    loaded.objectives[name] = objective_id
    return objective_id


def _check_in(
    app: OkrApplication, loaded: Loaded, name: str, who: str = "olivia", **kwargs: Any
) -> None:
    objective_id, kr_id = loaded.key_results[name]
    caller = ADMIN if who == "olivia" else actor(who)
    app.check_in(caller, CheckIn(objective_id, kr_id, **kwargs))


def _previous_cycle(
    app: OkrApplication, loaded: Loaded, clock: DemoClock, quarter_start: date, rng: random.Random
) -> None:
    start = quarter_start - timedelta(days=92)
    end = quarter_start - timedelta(days=1)
    clock.now = datetime.combine(start, datetime.min.time(), UTC) - timedelta(days=14)
    cycle = app.plan_cycle(
        ADMIN,
        PlanCycle(
            name=f"{start:%Y} Q{(start.month - 1) // 3 + 1}",
            start_date=start,
            end_date=end,
            cadence="quarter",
        ),
    ).id
    loaded.cycles["previous"] = cycle
    app.advance_cycle_phase(ADMIN, AdvanceCyclePhase(cycle, "drafting"))
    clock.advance(days=3)
    _objective(
        app,
        loaded,
        "Stabilise on-call",
        cycle_id=cycle,
        level="team",
        owner_team_id=loaded.teams["Platform"],
        description="Fewer pages, calmer nights.",
    )
    _kr(
        app,
        loaded,
        "Stabilise on-call",
        "Pages per week",
        mode="numeric",
        start=40,
        target=10,
        unit="pages",
        assignee_id="pat",
    )
    _kr(
        app,
        loaded,
        "Stabilise on-call",
        "Runbooks for every alert",
        mode="percentage",
        assignee_id="sue",
    )
    _kr(
        app,
        loaded,
        "Stabilise on-call",
        "On-call rotation redesigned",
        mode="milestone",
        milestones=["Survey", "Proposal", "Rollout"],
        assignee_id="sam",
    )
    clock.advance(days=10)
    app.advance_cycle_phase(ADMIN, AdvanceCyclePhase(cycle, "tracking"))
    for week in range(1, 12):
        clock.now = datetime.combine(start, datetime.min.time(), UTC) + timedelta(
            weeks=week, hours=10
        )
        _check_in(
            app,
            loaded,
            "Pages per week",
            "pat",
            current=max(12.0, 40 - week * 2.6),
            status="on_track" if week > 3 else "at_risk",
            confidence=0.7,
        )
        _check_in(
            app,
            loaded,
            "Runbooks for every alert",
            "sue",
            percent=min(100.0, week * 8.5),
            status="on_track",
        )
        _check_in(
            app,
            loaded,
            "On-call rotation redesigned",
            "sam",
            milestones_done=list(range(min(3, week // 3))),
            status="on_track",
        )
    clock.now = datetime.combine(end, datetime.min.time(), UTC) + timedelta(days=2)
    app.advance_cycle_phase(ADMIN, AdvanceCyclePhase(cycle, "retrospective"))
    objective_id = loaded.objectives["Stabilise on-call"]
    app.add_note(
        actor("pat"),
        AddNote(
            objective_id,
            topic="appraisal",
            text="Pages halved; the rotation change helped most.",
        ),
    )
    app.record_retrospective(
        actor("pat"),
        RecordRetrospective(
            objective_id,
            scores={loaded.key_results["Pages per week"][1]: 0.9},
            problems="Alert noise from the legacy queue hid real incidents.",
            improvements="Retire the legacy queue; review alerts monthly.",
            next_focus="Make the platform fast: latency is the next bottleneck.",
        ),
    )
    clock.advance(days=5)
    app.advance_cycle_phase(ADMIN, AdvanceCyclePhase(cycle, "closed"))


def _current_cycle(
    app: OkrApplication,
    loaded: Loaded,
    clock: DemoClock,
    start: date,
    today: date,
    rng: random.Random,
) -> None:
    end = (start + timedelta(days=95)).replace(day=1) - timedelta(days=1)
    clock.now = datetime.combine(start, datetime.min.time(), UTC) - timedelta(days=10)
    cycle = app.plan_cycle(
        ADMIN,
        PlanCycle(
            name=f"{start:%Y} Q{(start.month - 1) // 3 + 1}",
            start_date=start,
            end_date=end,
            cadence="quarter",
        ),
    ).id
    loaded.cycles["current"] = cycle
    app.advance_cycle_phase(ADMIN, AdvanceCyclePhase(cycle, "drafting"))
    clock.advance(days=2)
    teams = loaded.teams
    _objective(
        app,
        loaded,
        "Delight customers with a faster product",
        cycle_id=cycle,
        level="organization",
        owner_team_id=teams["Leadership"],
        description="Speed is the feature customers ask for most.",
    )
    _kr(
        app,
        loaded,
        "Delight customers with a faster product",
        "p95 page load",
        mode="numeric",
        start=3.2,
        target=1.5,
        unit="s",
        weight=2,
        assignee_id="erin",
    )
    teams_deliver = _kr(
        app,
        loaded,
        "Delight customers with a faster product",
        "Teams deliver their quarter",
        mode="aligned",
        weight=2,
    )
    _kr(
        app,
        loaded,
        "Delight customers with a faster product",
        "NPS",
        mode="numeric",
        start=38,
        target=50,
        assignee_id="paul",
    )

    _objective(
        app,
        loaded,
        "Make the platform fast and reliable",
        cycle_id=cycle,
        level="team",
        owner_team_id=teams["Platform"],
        aligned_to_key_result_id=teams_deliver,
    )
    cache = _kr(
        app,
        loaded,
        "Make the platform fast and reliable",
        "Cache hit rate above 90%",
        mode="percentage",
        assignee_id="sam",
        participant_ids=["sue"],
    )
    _kr(
        app,
        loaded,
        "Make the platform fast and reliable",
        "Services on the new runtime",
        mode="milestone",
        milestones=["Auth", "Billing", "Search", "Feeds"],
        assignee_id="sue",
    )
    _kr(
        app,
        loaded,
        "Make the platform fast and reliable",
        "Reliability backlog burned down",
        mode="issues",
        assignee_id="pat",
        weight=2,
    )

    _objective(
        app,
        loaded,
        "Ship the new mobile onboarding",
        cycle_id=cycle,
        level="team",
        owner_team_id=teams["Mobile"],
        aligned_to_key_result_id=teams_deliver,
    )
    _kr(
        app,
        loaded,
        "Ship the new mobile onboarding",
        "Onboarding completion rate",
        mode="percentage",
        assignee_id="mia",
    )
    _kr(
        app,
        loaded,
        "Ship the new mobile onboarding",
        "Release milestones",
        mode="milestone",
        milestones=["Design", "Beta", "GA"],
        assignee_id="max",
    )
    _kr(
        app,
        loaded,
        "Ship the new mobile onboarding",
        "Crash-free sessions",
        mode="numeric",
        start=97,
        target=99.5,
        unit="%",
        assignee_id="max",
    )

    _objective(
        app,
        loaded,
        "Grow activation",
        cycle_id=cycle,
        level="team",
        owner_team_id=teams["Growth"],
        aligned_to_objective_id=loaded.objectives["Delight customers with a faster product"],
    )
    _kr(
        app,
        loaded,
        "Grow activation",
        "Activation rate",
        mode="numeric",
        start=20,
        target=35,
        unit="%",
        assignee_id="gus",
    )
    _kr(app, loaded, "Grow activation", "Experiments shipped", mode="issues", assignee_id="gina")
    _kr(
        app,
        loaded,
        "Grow activation",
        "Pricing page redesign",
        mode="milestone",
        milestones=["Research", "Design", "Launch"],
        assignee_id="gina",
    )

    _objective(
        app,
        loaded,
        "Become the team's caching expert",
        cycle_id=cycle,
        level="individual",
        owner_user_id="sam",
        owner_team_id=teams["Platform"],
        aligned_to_key_result_id=cache,
    )
    _kr(
        app,
        loaded,
        "Become the team's caching expert",
        "Caching guide written",
        mode="percentage",
        assignee_id="sam",
    )
    _kr(
        app,
        loaded,
        "Become the team's caching expert",
        "Talks given",
        mode="numeric",
        start=0,
        target=2,
        assignee_id="sam",
    )
    _kr(
        app,
        loaded,
        "Become the team's caching expert",
        "Cache incidents reviewed",
        mode="milestone",
        milestones=["Collect", "Analyse", "Share"],
        assignee_id="sam",
    )

    _objective(
        app,
        loaded,
        "Prepare for the senior role",
        cycle_id=cycle,
        level="individual",
        owner_user_id="gina",
        owner_team_id=teams["Growth"],
        visibility="private",
        aligned_to_objective_id=loaded.objectives["Grow activation"],
    )
    _kr(
        app,
        loaded,
        "Prepare for the senior role",
        "Mentoring sessions",
        mode="numeric",
        start=0,
        target=6,
        assignee_id="gina",
    )
    _kr(
        app,
        loaded,
        "Prepare for the senior role",
        "Lead one experiment end to end",
        mode="percentage",
        assignee_id="gina",
    )
    _kr(
        app,
        loaded,
        "Prepare for the senior role",
        "Feedback collected",
        mode="milestone",
        milestones=["Peers", "Manager", "Summary"],
        assignee_id="gina",
    )

    app.set_weights(
        ADMIN,
        SetWeights(
            loaded.objectives["Ship the new mobile onboarding"],
            {loaded.key_results["Onboarding completion rate"][1]: 2.0},
        ),
    )

    issues = {
        "Reliability backlog burned down": [
            ("github", f"acme/platform#{n}", e)
            for n, e in ((101, 3), (102, 1), (103, 2), (104, 5), (105, 1))
        ],
        "Experiments shipped": [
            ("jira", f"GROW-{n}", e) for n, e in ((11, 2), (12, 3), (13, 1), (14, 2))
        ],
    }
    for kr_name, linked in issues.items():
        objective_id, kr_id = loaded.key_results[kr_name]
        for tracker, key, estimate in linked:
            app.link_issue(
                ADMIN,
                LinkIssue(
                    objective_id,
                    kr_id,
                    tracker=tracker,
                    issue_key=key,
                    estimate=estimate,
                    title=f"Work item {key}",
                ),
            )
    app.add_note(
        actor("pat"),
        AddNote(
            loaded.objectives["Make the platform fast and reliable"],
            topic="goal_setting",
            text="Latency first; reliability work rides along.",
        ),
    )
    clock.now = datetime.combine(start, datetime.min.time(), UTC) + timedelta(hours=9)
    app.advance_cycle_phase(ADMIN, AdvanceCyclePhase(cycle, "tracking"))

    weeks = max(1, (today - start).days // 7)
    statuses = ["on_track", "on_track", "on_track", "at_risk", "behind"]
    for week in range(1, weeks + 1):
        clock.now = datetime.combine(start, datetime.min.time(), UTC) + timedelta(
            weeks=week, hours=9
        )
        share = week / 13
        _check_in(
            app,
            loaded,
            "p95 page load",
            "erin",
            current=round(3.2 - 1.5 * share * 0.9, 2),
            status="on_track",
            confidence=0.7,
        )
        _check_in(
            app,
            loaded,
            "NPS",
            "paul",
            current=38 + round(10 * share),
            status=rng.choice(statuses),
            confidence=0.6,
        )
        _check_in(
            app,
            loaded,
            "Cache hit rate above 90%",
            "sam",
            percent=round(min(100.0, 40 + 45 * share), 1),
            status="on_track",
            confidence=0.8,
        )
        _check_in(
            app,
            loaded,
            "Services on the new runtime",
            "sue",
            milestones_done=list(range(min(4, week // 3))),
            status="at_risk" if week in (4, 5) else "on_track",
        )
        _check_in(
            app,
            loaded,
            "Onboarding completion rate",
            "mia",
            percent=round(30 + 35 * share, 1),
            status=rng.choice(statuses),
        )
        _check_in(
            app,
            loaded,
            "Release milestones",
            "max",
            milestones_done=list(range(min(3, week // 4))),
            status="on_track",
        )
        _check_in(
            app,
            loaded,
            "Crash-free sessions",
            "max",
            current=round(97 + 1.8 * share, 2),
            status="behind" if week > 6 else "at_risk",
            confidence=0.4,
        )
        _check_in(
            app,
            loaded,
            "Activation rate",
            "gus",
            current=round(20 + 9 * share, 1),
            status="on_track",
        )
        _check_in(
            app,
            loaded,
            "Pricing page redesign",
            "gina",
            milestones_done=list(range(min(3, week // 3))),
            status="on_track",
        )
        if week % 2 == 0:
            _check_in(
                app,
                loaded,
                "Caching guide written",
                "sam",
                percent=min(100.0, week * 12.0),
                status="on_track",
            )
            _check_in(
                app, loaded, "Talks given", "sam", current=min(2.0, week // 4), status="on_track"
            )
            _check_in(
                app,
                loaded,
                "Mentoring sessions",
                "gina",
                current=min(6.0, week // 2),
                status="on_track",
            )
        # Tracker events: issues move along as the weeks pass.
        for linked in issues.values():
            reports = []
            for index, (tracker, key, estimate) in enumerate(linked):
                stage = week - index
                status = "done" if stage >= 4 else "in_progress" if stage >= 1 else "todo"
                if tracker == "jira" and index == 3 and week >= 5:
                    status = "cancelled"
                reports.append(
                    IssueReport(
                        event_id=f"demo-{tracker}-{key}-w{week}",
                        tracker=tracker,
                        issue_key=key,
                        status=status,
                        raw_status=status.replace("_", " "),
                        occurred_at=clock.now - timedelta(hours=2),
                        estimate=float(estimate),
                    )
                )
            app.apply_issue_reports(TRACKER, reports)
        if week == 3:
            app.add_note(
                actor("mia"),
                AddNote(
                    loaded.objectives["Ship the new mobile onboarding"],
                    topic="coaching",
                    text="Pair on the beta crash reports with Max.",
                ),
            )
        if week == 5:
            app.add_note(
                actor("gus"),
                AddNote(
                    loaded.objectives["Prepare for the senior role"],
                    topic="career",
                    text="Gina leads the pricing experiment next.",
                ),
            )
    clock.now = datetime.combine(today, datetime.min.time(), UTC) + timedelta(hours=8)
