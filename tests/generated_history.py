"""Seeded, reproducible event histories for projection tests, and the tools to check them.

``generate_history(app, seed, target_events)`` drives the write side's
*commands* (never raw events) the way several organizations would over many
cycles: teams with managers and members; cycles moved through drafting and
tracking, some on to retrospective and closed; objectives at every level
aligned to objectives and to key results (trees four levels deep through
``aligned`` KRs); KRs of every mode with weights (all-zero too); check-ins,
weight changes, re-alignments, archives, notes, issue links and batches of
issue reports (with duplicates and out-of-order ``occurred_at``), and
retrospectives. The same seed gives the same sequence of commands; ids differ
between runs because the domain draws them with ``uuid4``.

The second half of the module is what the projection tests compare with:
``snapshot`` reads every read-model table into plain Python values,
``diff_snapshots`` lists the differences (floats within a tolerance), and
``expected_from_aggregates`` recomputes, independently of the projections,
what the tables should say from the aggregates in the event store.
"""

from __future__ import annotations

import json
import math
import random
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from commands.actor import Actor
from commands.application import OkrApplication
from commands.issue_event import KEEP_ESTIMATE, IssueEvent
from commands.messages import (
    AddKeyResult,
    AddNote,
    AdvanceCyclePhase,
    AlignObjective,
    ArchiveKeyResult,
    ArchiveObjective,
    CheckIn,
    DraftObjective,
    EditKeyResult,
    EditObjective,
    FormTeam,
    LinkIssue,
    PlanCycle,
    RecordRetrospective,
    SetTeamMember,
    SetWeights,
    UnlinkIssue,
)
from domain.cycle import Cycle
from domain.errors import (
    AlignmentCycle,
    AlignmentTooDeep,
    Conflict,
    DomainError,
    PhaseRuleViolation,
)
from domain.issue import Issue, issue_id
from domain.objective import Objective
from domain.progress import aligned_progress
from domain.team import Team
from domain.values import (
    IssueStatus,
    KeyResultStatus,
    Level,
    NoteTopic,
    Phase,
    ProgressMode,
    TokenRole,
)
from projections.objective_document import objective_document
from projections.objectives import OBJECTIVE
from projections.store import ViewStore

__all__ = [
    "READ_MODEL_TABLES",
    "Expected",
    "GeneratedHistory",
    "diff_expected",
    "diff_snapshots",
    "expected_from_aggregates",
    "generate_history",
    "ordered_points",
    "points_are_numbered",
    "progress_history_ends_at_current",
    "report",
    "snapshot",
]

ORGANIZATIONS = ("acme", "globex", "initech", "wayne", "soylent")
"""The first three by default; all five split into both shares of two partitions
(CRC-32: the first three fall in share 0, the last two in share 1)."""
TRACKERS = ("github", "gitlab", "jira", "linear")
CADENCES = ("quarter", "half", "year", "custom")
STATUSES = (
    (KeyResultStatus.ON_TRACK, 6),
    (KeyResultStatus.AT_RISK, 3),
    (KeyResultStatus.BEHIND, 2),
    (KeyResultStatus.POSTPONED, 1),
)
WEIGHTS = (1.0, 1.0, 1.0, 2.0, 0.5, 3.0, 0.0, 1.5)
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


# ---------------------------------------------------------------- the generator's memory
#
# What the generator has done so far, so it only issues commands that make
# sense (and knows which ones it expects to be refused). Lists, never sets:
# random choices must not depend on hash order for the seed to reproduce.


@dataclass(eq=False)
class _Team:
    id: UUID
    name: str
    managers: list[str] = field(default_factory=list)
    members: list[str] = field(default_factory=list)


@dataclass(eq=False)
class _KeyResult:
    id: UUID
    objective: _Objective
    mode: str
    milestones: int = 0
    start: float | None = None
    target: float | None = None
    archived: bool = False
    issues: list[_Issue] = field(default_factory=list)
    assignee: str | None = None


@dataclass(eq=False)
class _Objective:
    id: UUID
    cycle: _Cycle
    level: str
    team: _Team | None
    user: str | None
    depth: int
    private: bool = False
    archived: bool = False
    krs: list[_KeyResult] = field(default_factory=list)
    parent: _Objective | None = None  # through an objective or a KR

    def active_krs(self) -> list[_KeyResult]:
        return [kr for kr in self.krs if not kr.archived]


@dataclass(eq=False)
class _Cycle:
    id: UUID
    org: _Org
    phase: Phase = Phase.LAUNCH
    objectives: list[_Objective] = field(default_factory=list)
    chunks: int = 0
    lifetime: int = 0

    def live_objectives(self) -> list[_Objective]:
        return [o for o in self.objectives if not o.archived]


@dataclass(eq=False)
class _Issue:
    tracker: str
    key: str
    clock: datetime
    status: str = IssueStatus.TODO.value
    reported: int = 0
    sent: list[IssueEvent] = field(default_factory=list)


@dataclass(eq=False)
class _Org:
    name: str
    admin: Actor
    users: list[str]
    teams: list[_Team] = field(default_factory=list)
    cycles: list[_Cycle] = field(default_factory=list)
    issues: list[_Issue] = field(default_factory=list)


class GeneratedHistory:
    """A history being written into ``app``; ``extend`` writes more of the same kind.

    ``commands`` counts the commands issued by kind, ``refused`` the ones the
    write side refused as the generator expected (alignment cycles, commands
    on closed cycles or archived key results); nothing else may be refused.
    """

    def __init__(self, app: OkrApplication, seed: int, organizations: int = 3) -> None:
        self.app = app
        self.seed = seed
        self.rng = random.Random(seed)
        self.commands: Counter[str] = Counter()
        self.refused: Counter[str] = Counter()
        self.seconds = 0.0
        self._orgs: list[_Org] = []
        self._event_serial = 0
        for name in ORGANIZATIONS[:organizations]:
            self._orgs.append(self._found_organization(name))

    # ---------------------------------------------------------------- results

    @property
    def events(self) -> int:
        """Events in the log so far (the log's last notification id)."""
        return self.app.recorder.max_notification_id() or 0

    @property
    def organizations(self) -> list[str]:
        return [org.name for org in self._orgs]

    def objective_ids(self) -> list[UUID]:
        return [o.id for org in self._orgs for c in org.cycles for o in c.objectives]

    def cycle_ids(self) -> list[UUID]:
        return [c.id for org in self._orgs for c in org.cycles]

    def team_ids(self) -> list[UUID]:
        return [t.id for org in self._orgs for t in org.teams]

    def issue_ids(self) -> list[UUID]:
        return [issue_id(org.name, i.tracker, i.key) for org in self._orgs for i in org.issues]

    def summary(self) -> dict[str, Any]:
        objectives = [o for org in self._orgs for c in org.cycles for o in c.objectives]
        krs = [kr for o in objectives for kr in o.krs]
        return {
            "seed": self.seed,
            "events": self.events,
            "seconds": round(self.seconds, 1),
            "organizations": len(self._orgs),
            "cycles": Counter(c.phase.value for org in self._orgs for c in org.cycles),
            "teams": len(self.team_ids()),
            "objectives": len(objectives),
            "objectives_by_depth": Counter(o.depth for o in objectives),
            "archived_objectives": sum(o.archived for o in objectives),
            "key_results": Counter(kr.mode for kr in krs),
            "archived_key_results": sum(kr.archived for kr in krs),
            "issues": len(self.issue_ids()),
            "commands": dict(self.commands),
            "refused": dict(self.refused),
        }

    # ---------------------------------------------------------------- driving

    def extend(self, target_events: int) -> None:
        """Write until the log holds at least ``target_events`` events."""
        started = time.perf_counter()
        try:
            while self.events < target_events:
                self._step()
        finally:
            self.seconds += time.perf_counter() - started

    def _step(self) -> None:
        """One unit of work: a new cycle, or a chunk of activity in a tracking cycle."""
        rng = self.rng
        org = rng.choice(self._orgs)
        tracking = [c for c in org.cycles if c.phase is Phase.TRACKING]
        if not tracking or (len(tracking) < 2 and rng.random() < 0.2):
            self._new_cycle(org)
            return
        cycle = rng.choice(tracking)
        self._activity(cycle, rng.randint(15, 40))
        cycle.chunks += 1
        if cycle.chunks >= cycle.lifetime:
            self._wind_down(cycle)

    # ------------------------------------------------------------ organizations

    def _found_organization(self, name: str) -> _Org:
        rng = self.rng
        admin = Actor(name, f"{name}-admin", TokenRole.ADMIN)
        org = _Org(name=name, admin=admin, users=[f"{name}-u{i:02d}" for i in range(14)])
        layout = [
            ("HQ", None),
            ("Engineering", 0),
            ("Sales", 0),
            ("Platform", 1),
            ("Apps", 1),
            ("Field", 2),
        ]
        for team_name, parent in layout:
            parent_id = None if parent is None else org.teams[parent].id
            written = self._run(
                "form_team",
                lambda n=team_name, p=parent_id: self.app.form_team(
                    admin, FormTeam(name=f"{name} {n}", parent_id=p)
                ),
            )
            org.teams.append(_Team(id=written.id, name=team_name))
        users = list(org.users)
        rng.shuffle(users)
        for index, team in enumerate(org.teams):
            manager = users[index % len(users)]
            members = rng.sample(users, rng.randint(2, 4))
            self._set_member(org, team, manager, "manager")
            for member in members:
                if member != manager:
                    self._set_member(org, team, member, "member")
        return org

    def _set_member(self, org: _Org, team: _Team, user: str, role: str) -> None:
        # A team manager adds members sometimes; admins do the rest.
        actor = org.admin
        if team.managers and role == "member" and self.rng.random() < 0.4:
            actor = Actor(org.name, self.rng.choice(team.managers), TokenRole.MEMBER)
        self._run(
            "set_team_member",
            lambda: self.app.set_team_member(
                actor, SetTeamMember(team.id, user_id=user, role=role)
            ),
        )
        for people in (team.managers, team.members):
            if user in people:
                people.remove(user)
        (team.managers if role == "manager" else team.members).append(user)

    # ------------------------------------------------------------------- cycles

    def _new_cycle(self, org: _Org) -> None:
        rng = self.rng
        index = len(org.cycles)
        cadence = rng.choice(CADENCES)
        start = date(2026, 1, 1) + timedelta(days=91 * index + rng.randint(0, 10))
        length = {"quarter": 90, "half": 181, "year": 364}.get(cadence, rng.randint(14, 120))
        written = self._run(
            "plan_cycle",
            lambda: self.app.plan_cycle(
                org.admin,
                PlanCycle(
                    name=f"{org.name} cycle {index + 1}",
                    start_date=start,
                    end_date=start + timedelta(days=length),
                    cadence=cadence,
                ),
            ),
        )
        cycle = _Cycle(id=written.id, org=org, lifetime=rng.randint(4, 12))
        org.cycles.append(cycle)
        if rng.random() < 0.1:
            return  # stays in launch: planned, never started
        self._advance(cycle, Phase.DRAFTING)
        self._draft_tree(cycle)
        for _ in range(rng.randint(5, 20)):
            self._drafting_edit(cycle)
        self._advance(cycle, Phase.TRACKING)

    def _advance(self, cycle: _Cycle, phase: Phase) -> None:
        self._run(
            "advance_cycle_phase",
            lambda: self.app.advance_cycle_phase(
                cycle.org.admin, AdvanceCyclePhase(cycle.id, phase.value)
            ),
        )
        cycle.phase = phase

    def _wind_down(self, cycle: _Cycle) -> None:
        """Retrospective: final scores and notes; then, for some, closed."""
        rng = self.rng
        org = cycle.org
        self._advance(cycle, Phase.RETROSPECTIVE)
        for objective in cycle.live_objectives():
            if rng.random() < 0.8:
                self._retrospective(objective)
            if rng.random() < 0.3:
                self._note(objective)
        self._issue_batch(org)  # late issue events still move issue KRs
        if cycle.live_objectives() and rng.random() < 0.3:
            self._retrospective(
                rng.choice(cycle.live_objectives())
            )  # a second one replaces the first
        if rng.random() < 0.5:
            self._advance(cycle, Phase.CLOSED)
            objective = rng.choice(cycle.objectives)
            self._expect_refusal(
                "note_on_closed_cycle",
                (PhaseRuleViolation,),
                lambda: self.app.add_note(
                    org.admin, AddNote(objective.id, topic="progress", text="too late")
                ),
            )

    def _retrospective(self, objective: _Objective) -> None:
        rng = self.rng
        scored = [kr for kr in objective.krs if rng.random() < 0.6]
        scores = {kr.id: round(rng.random(), 3) for kr in scored}
        self._run(
            "record_retrospective",
            lambda: self.app.record_retrospective(
                objective.cycle.org.admin,
                RecordRetrospective(
                    objective.id,
                    scores=scores,
                    problems=rng.choice(["", "scope creep", "on-call load"]),
                    improvements=rng.choice(["", "smaller KRs", "weekly check-ins"]),
                    next_focus=rng.choice(["", "reliability", "growth"]),
                ),
            ),
        )

    # -------------------------------------------------------------- objectives

    def _draft_tree(self, cycle: _Cycle) -> None:
        """Organization → department → team → individual, mostly through aligned KRs."""
        rng = self.rng
        hq, departments, squads = cycle.org.teams[0], cycle.org.teams[1:3], cycle.org.teams[3:]
        tops = [self._draft(cycle, Level.ORGANIZATION, hq, None, depth=0) for _ in range(2)]
        middles = [
            self._draft(cycle, Level.TEAM, team, self._pick_parent(tops), depth=1)
            for team in departments
            for _ in range(rng.randint(1, 2))
        ]
        lows = [
            self._draft(cycle, Level.TEAM, team, self._pick_parent(middles), depth=2)
            for team in squads
            for _ in range(rng.randint(1, 2))
        ]
        for objective in lows:
            for _ in range(rng.randint(1, 3)):
                self._draft_individual(cycle, objective)

    def _pick_parent(self, candidates: list[_Objective]) -> tuple[str, Any] | None:
        """Mostly an aligned KR of a candidate; sometimes another KR, the objective, or none."""
        rng = self.rng
        live = [o for o in candidates if not o.archived]
        roll = rng.random()
        if not live or roll < 0.07:
            return None
        parent = rng.choice(live)
        aligned = [kr for kr in parent.active_krs() if kr.mode == ProgressMode.ALIGNED]
        if aligned and roll < 0.8:
            return ("kr", rng.choice(aligned))
        if parent.active_krs() and roll < 0.9:
            return ("kr", rng.choice(parent.active_krs()))
        return ("objective", parent)

    def _draft_individual(self, cycle: _Cycle, parent: _Objective) -> _Objective:
        rng = self.rng
        team = parent.team
        assert team is not None
        people = team.members + team.managers
        user = rng.choice(people) if people else rng.choice(cycle.org.users)
        aligned = [kr for kr in parent.active_krs() if kr.mode == ProgressMode.ALIGNED]
        target: tuple[str, Any] | None
        if aligned and rng.random() < 0.85:
            target = ("kr", rng.choice(aligned))
        else:
            target = self._pick_parent([parent])
        return self._draft(cycle, Level.INDIVIDUAL, None, target, depth=parent.depth + 1, user=user)

    def _draft(
        self,
        cycle: _Cycle,
        level: Level,
        team: _Team | None,
        target: tuple[str, Any] | None,
        *,
        depth: int,
        user: str | None = None,
    ) -> _Objective:
        rng = self.rng
        org = cycle.org
        actor = org.admin
        if level is Level.TEAM and team is not None and team.managers and rng.random() < 0.3:
            actor = Actor(org.name, team.managers[0], TokenRole.MEMBER)
        elif level is Level.INDIVIDUAL and rng.random() < 0.4:
            actor = Actor(org.name, str(user), TokenRole.MEMBER)
        parent = None
        to_objective = to_kr = None
        if target is not None:
            kind, what = target
            if kind == "kr":
                to_kr, parent = what.id, what.objective
            else:
                to_objective, parent = what.id, what
        if parent is not None and parent.private:
            actor = org.admin  # others may not see a private parent
        private = actor.is_admin and rng.random() < 0.1
        n = len(cycle.objectives) + 1
        description = rng.choice([None, "", f"why objective {n} matters"])

        def draft() -> Any:
            return self.app.draft_objective(
                actor,
                DraftObjective(
                    cycle_id=cycle.id,
                    title=f"{org.name} {level.value} objective {n}",
                    description=description,
                    level=level.value,
                    owner_team_id=None if team is None else team.id,
                    owner_user_id=user,
                    visibility="private" if private else None,
                    aligned_to_objective_id=to_objective,
                    aligned_to_key_result_id=to_kr,
                ),
            )

        try:
            written = self._run("draft_objective", draft)
        except AlignmentTooDeep:  # SPEC §9: below a chain re-aligned to the limit
            self.refused["alignment_too_deep"] += 1
            to_objective = to_kr = parent = None
            written = self._run("draft_objective", draft)
        objective = _Objective(
            id=written.id,
            cycle=cycle,
            level=level.value,
            team=team,
            user=user,
            depth=depth,
            private=private,
            parent=parent,
        )
        cycle.objectives.append(objective)
        all_zero = rng.random() < 0.08
        wants_aligned = level is not Level.INDIVIDUAL and rng.random() < 0.85
        for index in range(rng.randint(1, 5) if depth >= 3 else rng.randint(2, 5)):
            mode = ProgressMode.ALIGNED if wants_aligned and index == 0 else None
            self._add_kr(objective, mode, weight=0.0 if all_zero else None)
        return objective

    def _add_kr(
        self, objective: _Objective, mode: ProgressMode | None = None, weight: float | None = None
    ) -> _KeyResult:
        rng = self.rng
        org = objective.cycle.org
        if mode is None:
            mode = rng.choice(
                [
                    ProgressMode.PERCENTAGE,
                    ProgressMode.NUMERIC,
                    ProgressMode.NUMERIC,
                    ProgressMode.MILESTONE,
                    ProgressMode.ISSUES,
                    ProgressMode.ISSUES,
                    ProgressMode.ALIGNED,
                ]
            )
        if weight is None:
            weight = rng.choice(WEIGHTS)
        start = target = None
        unit = None
        milestones: list[str] | None = None
        if mode is ProgressMode.NUMERIC:
            start = rng.choice([None, 0.0, 10.0, 100.0, 250.0])
            base = 0.0 if start is None else start
            if rng.random() < 0.1:
                target = None  # left open while drafting
            elif rng.random() < 0.35:
                target = base - rng.choice([5.0, 40.0, 80.0])  # decrease to
            else:
                target = base + rng.choice([5.0, 50.0, 200.0])
            unit = rng.choice([None, "ms", "users", "%"])
        elif mode is ProgressMode.MILESTONE:
            milestones = [f"step {i + 1}" for i in range(rng.randint(0, 5))]
        assignee = rng.choice([None, *org.users])
        participants = rng.sample(org.users, rng.randint(0, 3))
        n = len(objective.krs) + 1
        written = self._run(
            "add_key_result",
            lambda: self.app.add_key_result(
                org.admin,
                AddKeyResult(
                    objective.id,
                    title=f"KR {n} ({mode.value})",
                    mode=mode.value,
                    weight=weight if rng.random() < 0.9 else None,
                    start=start,
                    target=target,
                    unit=unit,
                    milestones=milestones,
                    assignee_id=assignee,
                    participant_ids=participants,
                ),
            ),
        )
        assert written.key_result_id is not None
        kr = _KeyResult(
            id=written.key_result_id,
            objective=objective,
            mode=mode.value,
            milestones=len(milestones or ()),
            start=(0.0 if start is None else start) if mode is ProgressMode.NUMERIC else None,
            target=target,
            assignee=assignee,
        )
        objective.krs.append(kr)
        if mode is ProgressMode.ISSUES or rng.random() < 0.1:
            for _ in range(rng.randint(1, 4) if mode is ProgressMode.ISSUES else 1):
                self._link(kr)
        return kr

    # ---------------------------------------------------------------- activity

    def _drafting_edit(self, cycle: _Cycle) -> None:
        rng = self.rng
        action = rng.choices(
            [self._set_weights, self._edit_kr, self._realign, self._note, self._edit_objective],
            weights=[3, 3, 2, 1, 1],
        )[0]
        live = cycle.live_objectives()
        if live:
            action(rng.choice(live))

    def _activity(self, cycle: _Cycle, actions: int) -> None:
        rng = self.rng
        table: list[tuple[Callable[[_Objective], None], float]] = [
            (self._check_in, 40),
            (lambda o: self._issue_batch(o.cycle.org), 7),
            (self._set_weights, 6),
            (self._note, 4),
            (self._edit_kr, 4),
            (self._link_some, 4),
            (self._unlink_some, 1.5),
            (self._another_kr, 2.5),
            (self._archive_kr, 1.2),
            (self._realign, 3),
            (self._new_child, 2),
            (self._archive_objective, 0.6),
            (self._edit_objective, 2),
            (self._change_member, 0.6),
            (self._refused_check_in, 0.3),
        ]
        actions_, weights = zip(*table, strict=True)
        for _ in range(actions):
            live = cycle.live_objectives()
            if not live:
                self._draft(cycle, Level.ORGANIZATION, cycle.org.teams[0], None, depth=0)
                continue
            action = rng.choices(actions_, weights=weights)[0]
            action(rng.choice(live))

    def _another_kr(self, objective: _Objective) -> None:
        self._add_kr(objective)

    def _check_in(self, objective: _Objective) -> None:
        rng = self.rng
        krs = objective.active_krs()
        if not krs:
            self._add_kr(objective)
            return
        kr = rng.choice(krs)
        org = objective.cycle.org
        actor = org.admin
        worker = kr.assignee is not None and objective.level != Level.ORGANIZATION
        if worker and rng.random() < 0.3:
            actor = Actor(org.name, str(kr.assignee), TokenRole.MEMBER)
        values: dict[str, Any] = {}
        if kr.mode == ProgressMode.PERCENTAGE:
            values["percent"] = rng.choice([0.0, round(rng.uniform(0, 100), 2), 110.0])
        elif kr.mode == ProgressMode.NUMERIC:
            base = kr.start or 0.0
            span = (kr.target - base) if kr.target is not None else 10.0
            values["current"] = round(base + span * rng.uniform(-0.2, 1.2), 3)
        elif kr.mode == ProgressMode.MILESTONE:
            values["milestones_done"] = sorted(
                rng.sample(range(kr.milestones), rng.randint(0, kr.milestones))
            )
        status = rng.choices([s for s, _ in STATUSES], weights=[w for _, w in STATUSES])[0]
        self._run(
            "check_in",
            lambda: self.app.check_in(
                actor,
                CheckIn(
                    objective.id,
                    kr.id,
                    status=status.value,
                    confidence=rng.choice([None, round(rng.random(), 2)]),
                    note=rng.choice([None, "steady", "blocked on review"]),
                    **values,
                ),
            ),
        )

    def _set_weights(self, objective: _Objective) -> None:
        rng = self.rng
        krs = objective.active_krs()
        if not krs:
            return
        if rng.random() < 0.15:
            weights = {kr.id: 0.0 for kr in krs}  # all zero: the plain mean
        else:
            weights = {
                kr.id: rng.choice(WEIGHTS) for kr in rng.sample(krs, rng.randint(1, len(krs)))
            }
        actor = self._editor(objective)
        self._run(
            "set_weights", lambda: self.app.set_weights(actor, SetWeights(objective.id, weights))
        )

    def _editor(self, objective: _Objective) -> Actor:
        """Mostly the admin; sometimes the owner team's manager or the owner user."""
        org = objective.cycle.org
        if self.rng.random() < 0.25:
            if objective.team is not None and objective.team.managers:
                return Actor(org.name, objective.team.managers[0], TokenRole.MEMBER)
            if objective.user is not None:
                return Actor(org.name, objective.user, TokenRole.MEMBER)
        return org.admin

    def _edit_kr(self, objective: _Objective) -> None:
        rng = self.rng
        krs = objective.active_krs()
        if not krs:
            return
        kr = rng.choice(krs)
        changes: dict[str, Any] = {}
        if kr.mode == ProgressMode.NUMERIC and rng.random() < 0.7:
            base = kr.start or 0.0
            if rng.random() < 0.3:
                new_start = base + rng.choice([-5.0, 5.0, 20.0])
                if new_start != kr.target:
                    changes["start"] = new_start
            else:
                new_target = base + rng.choice([-60.0, -10.0, 15.0, 100.0, 300.0])
                changes["target"] = new_target
        else:
            pick = rng.random()
            org = objective.cycle.org
            if pick < 0.4:
                changes["title"] = f"KR renamed {rng.randint(1, 999)}"
            elif pick < 0.7:
                changes["assignee_id"] = rng.choice([None, *org.users])
            else:
                changes["participant_ids"] = rng.sample(org.users, rng.randint(0, 4))
        if not changes:
            return
        self._run(
            "edit_key_result",
            lambda: self.app.edit_key_result(
                org_admin(objective), EditKeyResult(objective.id, kr.id, changes)
            ),
        )
        kr.start = changes.get("start", kr.start)
        kr.target = changes.get("target", kr.target)
        kr.assignee = changes.get("assignee_id", kr.assignee)

    def _edit_objective(self, objective: _Objective) -> None:
        rng = self.rng
        visibility = rng.choice([None, None, "public", "private"])
        actor = org_admin(objective) if visibility == "private" else self._editor(objective)
        self._run(
            "edit_objective",
            lambda: self.app.edit_objective(
                actor,
                EditObjective(
                    objective.id,
                    title=rng.choice([None, f"objective renamed {rng.randint(1, 999)}"]),
                    description=rng.choice([None, "refined", ""]),
                    visibility=visibility,
                ),
            ),
        )
        if visibility is not None:
            objective.private = visibility == "private"

    def _note(self, objective: _Objective) -> None:
        rng = self.rng
        self._run(
            "add_note",
            lambda: self.app.add_note(
                self._editor(objective),
                AddNote(
                    objective.id,
                    topic=rng.choice(list(NoteTopic)).value,
                    text=f"note {rng.randint(1, 10_000)}",
                ),
            ),
        )

    def _archive_kr(self, objective: _Objective) -> None:
        krs = objective.active_krs()
        if len(krs) < 2:
            return
        kr = self.rng.choice(krs)
        self._run(
            "archive_key_result",
            lambda: self.app.archive_key_result(
                org_admin(objective), ArchiveKeyResult(objective.id, kr.id)
            ),
        )
        kr.archived = True

    def _archive_objective(self, objective: _Objective) -> None:
        if objective.depth == 0 and self.rng.random() < 0.7:
            return  # organization objectives are archived rarely
        self._run(
            "archive_objective",
            lambda: self.app.archive_objective(
                org_admin(objective), ArchiveObjective(objective.id)
            ),
        )
        objective.archived = True

    def _realign(self, objective: _Objective) -> None:
        """To another objective or KR of its cycle, or unaligned; cycles are refused."""
        rng = self.rng
        others = [o for o in objective.cycle.live_objectives() if o is not objective]
        to_objective = to_kr = None
        parent: _Objective | None = None
        roll = rng.random()
        if others and roll < 0.85:
            parent = rng.choice(others)
            krs = parent.active_krs()
            aligned = [kr for kr in krs if kr.mode == ProgressMode.ALIGNED]
            if aligned and roll < 0.7:
                to_kr = rng.choice(aligned).id
            elif krs and roll < 0.78:
                to_kr = rng.choice(krs).id
            else:
                to_objective = parent.id
        actor = self._editor(objective)
        if parent is not None and parent.private:
            actor = org_admin(objective)  # others may not see a private parent
        try:
            self._run(
                "align_objective",
                lambda: self.app.align_objective(
                    actor,
                    AlignObjective(
                        objective.id,
                        to_objective_id=to_objective,
                        to_key_result_id=to_kr,
                    ),
                ),
            )
        except AlignmentCycle:
            self.refused["alignment_cycle"] += 1
            return
        except AlignmentTooDeep:  # SPEC §9: no chain longer than OKR_MAX_ALIGNMENT_DEPTH
            self.refused["alignment_too_deep"] += 1
            return
        objective.parent = parent

    def _new_child(self, objective: _Objective) -> None:
        """A new objective below this one: individual under a team, team under the top."""
        if objective.level == Level.INDIVIDUAL:
            self._add_kr(objective)
        elif objective.level == Level.TEAM:
            self._draft_individual(objective.cycle, objective)
        else:
            team = self.rng.choice(objective.cycle.org.teams[1:])
            self._draft(objective.cycle, Level.TEAM, team, self._pick_parent([objective]), depth=1)

    def _change_member(self, objective: _Objective) -> None:
        rng = self.rng
        org = objective.cycle.org
        team = rng.choice(org.teams)
        user = rng.choice(org.users)
        role = "manager" if rng.random() < 0.3 else "member"
        if role == "member" and user in team.managers and len(team.managers) == 1:
            return  # keep a manager on every team
        self._set_member(org, team, user, role)

    def _refused_check_in(self, objective: _Objective) -> None:
        archived = [kr for kr in objective.krs if kr.archived]
        if not archived:
            return
        kr = self.rng.choice(archived)
        values = {"percent": 1.0} if kr.mode == ProgressMode.PERCENTAGE else {}
        self._expect_refusal(
            "check_in_on_archived_kr",
            (Conflict,),
            lambda: self.app.check_in(
                org_admin(objective), CheckIn(objective.id, kr.id, status="on_track", **values)
            ),
        )

    # ------------------------------------------------------------------ issues

    def _link_some(self, objective: _Objective) -> None:
        krs = objective.active_krs()
        if krs:
            self._link(self.rng.choice(krs))

    def _link(self, kr: _KeyResult) -> None:
        """An issue already known (it may have a status already) or a new one."""
        rng = self.rng
        org = kr.objective.cycle.org
        candidates = [i for i in org.issues if i not in kr.issues]
        if candidates and rng.random() < 0.45:
            issue = rng.choice(candidates)
        else:
            issue = self._new_issue(org)
        self._run(
            "link_issue",
            lambda: self.app.link_issue(
                org.admin,
                LinkIssue(
                    kr.objective.id,
                    kr.id,
                    tracker=issue.tracker,
                    issue_key=issue.key,
                    estimate=rng.choice([None, None, 0.0, 1.0, 2.0, 3.0, 5.0, 8.0]),
                    url=rng.choice([None, f"https://tracker.example/{issue.key}"]),
                    title=rng.choice([None, f"work on {issue.key}"]),
                ),
            ),
        )
        kr.issues.append(issue)

    def _unlink_some(self, objective: _Objective) -> None:
        linked = [kr for kr in objective.active_krs() if kr.issues]
        if not linked:
            return
        kr = self.rng.choice(linked)
        issue = self.rng.choice(kr.issues)
        self._run(
            "unlink_issue",
            lambda: self.app.unlink_issue(
                org_admin(objective),
                UnlinkIssue(
                    objective.id,
                    kr.id,
                    tracker=issue.tracker,
                    issue_key=issue.key,
                ),
            ),
        )
        kr.issues.remove(issue)

    def _new_issue(self, org: _Org) -> _Issue:
        tracker = self.rng.choice(TRACKERS)
        n = len(org.issues) + 1
        key = {"github": f"{org.name}/app#{n}", "gitlab": f"{org.name}/api!{n}"}.get(
            tracker, f"{org.name.upper()}-{n}"
        )
        issue = _Issue(tracker=tracker, key=key, clock=EPOCH + timedelta(minutes=n))
        org.issues.append(issue)
        return issue

    def _issue_batch(self, org: _Org) -> None:
        """One batch of tracker reports: mostly linked issues, with duplicates and
        late (out-of-order) deliveries, and a few issues no KR links (yet)."""
        rng = self.rng
        if len(org.issues) < 5 or rng.random() < 0.1:
            for _ in range(rng.randint(1, 4)):
                self._new_issue(org)
        # A burst from the trackers: several reports for each of a few issues.
        touched = rng.sample(org.issues, min(len(org.issues), rng.randint(6, 18)))
        reports: list[IssueEvent] = []
        for _ in range(rng.randint(25, 70)):
            issue = rng.choice(touched)
            roll = rng.random()
            if issue.sent and roll < 0.08:
                reports.append(rng.choice(issue.sent))  # a duplicate delivery
                continue
            self._event_serial += 1
            if issue.sent and roll < 0.18:
                at = issue.clock - timedelta(minutes=rng.randint(1, 600))  # arrives late
            else:
                issue.clock += timedelta(minutes=rng.randint(1, 3000))
                at = issue.clock
            status = rng.choices(
                [s.value for s in IssueStatus], weights=[2, 3, 4 if issue.reported else 1, 1]
            )[0]
            report = IssueEvent(
                event_id=f"{org.name}-{issue.tracker}-{self._event_serial}",
                tracker=issue.tracker,
                issue_key=issue.key,
                status=status,
                raw_status=f"raw:{status}",
                occurred_at=at,
                title=rng.choice([None, f"issue {issue.key}"]),
                url=rng.choice([None, f"https://tracker.example/{issue.key}"]),
                # KEEP_ESTIMATE, not None: None clears the estimate (issue 16).
                estimate=rng.choice([KEEP_ESTIMATE] * 3 + [0.0, 1.0, 2.0, 3.0, 5.0, 13.0]),
            )
            issue.reported += 1
            issue.sent = [*issue.sent[-4:], report]
            reports.append(report)
        actor = org.admin
        if rng.random() < 0.5:
            actor = Actor(org.name, f"{org.name}-tracker-bot", TokenRole.INTEGRATION)
        self.commands["issue_reports"] += len(reports)
        self._run("apply_issue_events", lambda: self.app.apply_issue_events(actor, reports))

    # ----------------------------------------------------------------- helpers

    def _run(self, kind: str, command: Callable[[], Any]) -> Any:
        self.commands[kind] += 1
        return command()

    def _expect_refusal(
        self, kind: str, errors: tuple[type[DomainError], ...], command: Callable[[], Any]
    ) -> None:
        self.commands[kind] += 1
        try:
            command()
        except errors:
            self.refused[kind] += 1
            return
        raise AssertionError(f"{kind}: the write side accepted a command it must refuse")


def org_admin(objective: _Objective) -> Actor:
    return objective.cycle.org.admin


def generate_history(app: OkrApplication, seed: int, target_events: int) -> GeneratedHistory:
    """Drive ``app``'s commands until its log holds at least ``target_events`` events."""
    history = GeneratedHistory(app, seed)
    history.extend(target_events)
    return history


# ======================================================= read-model snapshots and checks

# Every read-model table and its primary key.
READ_MODEL_TABLES: dict[str, tuple[str, ...]] = {
    "okr_objectives": ("id",),
    "okr_key_results": ("id",),
    "okr_progress_points": ("position", "ordinal"),
    "okr_teams": ("id",),
    "okr_team_members": ("team_id", "user_id"),
    "okr_cycles": ("id",),
    "okr_issues": ("id",),
    "okr_issue_links": ("issue_id", "key_result_id"),
}

# Columns holding JSON text: compared parsed, so formatting never matters.
_JSON_COLUMNS = {("okr_objectives", "doc"), ("okr_objectives", "contributors")}
_JSON_COLUMNS |= {("okr_progress_points", "cause")}

Snapshot = dict[str, dict[tuple[Any, ...], dict[str, Any]]]


def snapshot(store: ViewStore) -> Snapshot:
    """Every row of every read-model table, keyed by primary key, JSON columns parsed."""
    tables: Snapshot = {}
    with store.transaction(commit=False) as tx:
        for table, key in READ_MODEL_TABLES.items():
            rows: dict[tuple[Any, ...], dict[str, Any]] = {}
            for row in tx.fetchall(f"SELECT * FROM {table}"):
                for column in list(row):
                    if (table, column) in _JSON_COLUMNS and row[column] is not None:
                        row[column] = json.loads(row[column])
                rows[tuple(row[k] for k in key)] = row
            tables[table] = rows
    return tables


def _differences(path: str, a: Any, b: Any, tolerance: float, out: list[str]) -> None:
    if isinstance(a, bool) or isinstance(b, bool):
        if a != b:
            out.append(f"{path}: {a!r} != {b!r}")
    elif isinstance(a, int | float) and isinstance(b, int | float):
        if not math.isclose(a, b, rel_tol=0.0, abs_tol=tolerance):
            out.append(f"{path}: {a!r} != {b!r}")
    elif isinstance(a, dict) and isinstance(b, dict):
        for name in sorted(set(a) | set(b), key=str):
            if name not in a or name not in b:
                side = "left" if name not in a else "right"
                out.append(f"{path}.{name}: missing on the {side}")
            else:
                _differences(f"{path}.{name}", a[name], b[name], tolerance, out)
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            out.append(f"{path}: {len(a)} items != {len(b)} items ({a!r:.300} vs {b!r:.300})")
        else:
            for index, (x, y) in enumerate(zip(a, b, strict=True)):
                _differences(f"{path}[{index}]", x, y, tolerance, out)
    elif a != b:
        out.append(f"{path}: {a!r:.300} != {b!r:.300}")


def diff_values(path: str, a: Any, b: Any, tolerance: float = 1e-9) -> list[str]:
    out: list[str] = []
    _differences(path, a, b, tolerance, out)
    return out


def diff_snapshots(
    left: Snapshot,
    right: Snapshot,
    tolerance: float = 1e-9,
    ignore: Mapping[str, Iterable[str]] | None = None,
) -> list[str]:
    """Readable differences between two snapshots; ``ignore`` names columns per table."""
    out: list[str] = []
    skipped = {table: set(columns) for table, columns in (ignore or {}).items()}
    for table in READ_MODEL_TABLES:
        a, b = left.get(table, {}), right.get(table, {})
        if len(a) != len(b):
            out.append(f"{table}: {len(a)} rows != {len(b)} rows")
        for key in sorted(set(a) | set(b), key=str):
            if key not in a or key not in b:
                out.append(f"{table}{list(key)}: only on the {'right' if key in b else 'left'}")
                continue
            drop = skipped.get(table, set())
            row_a = {k: v for k, v in a[key].items() if k not in drop}
            row_b = {k: v for k, v in b[key].items() if k not in drop}
            _differences(f"{table}{list(key)}", row_a, row_b, tolerance, out)
    return out


def ordered_points(tables: Snapshot) -> list[dict[str, Any]]:
    """Progress points in the order the read model serves them: (position, ordinal)."""
    points = tables["okr_progress_points"]
    return [points[key] for key in sorted(points)]


# ---------------------------------------------- independent recomputation from aggregates


@dataclass
class Expected:
    """What the read models should hold, computed from the aggregates alone."""

    documents: dict[str, dict[str, Any]]
    objective_rows: dict[str, dict[str, Any]]
    key_result_rows: dict[str, dict[str, Any]]
    teams: dict[str, dict[str, Any]]
    members: dict[tuple[str, str], dict[str, Any]]
    cycles: dict[str, dict[str, Any]]
    issues: dict[str, dict[str, Any]]
    links: set[tuple[str, str, str]]


def expected_from_aggregates(
    app: OkrApplication,
    objective_ids: Iterable[UUID],
    team_ids: Iterable[UUID],
    cycle_ids: Iterable[UUID],
    issue_ids: Iterable[UUID],
) -> Expected:
    """Recompute every row from the current aggregates, bottom-up through aligned KRs.

    An ``aligned`` KR's progress is the mean progress of the non-archived
    objectives aligned to it (``domain.progress.aligned_progress``), each of
    those computed the same way first; the documents are rendered with
    ``objective_document``, as the projection does.
    """
    objectives: dict[str, Objective] = {}
    for objective_id in objective_ids:
        aggregate = app.repository.get(objective_id)
        assert isinstance(aggregate, Objective)
        objectives[str(objective_id)] = aggregate
    children: dict[str, list[Objective]] = defaultdict(list)
    for objective in objectives.values():
        if objective.aligned_to_key_result_id is not None and not objective.archived:
            children[str(objective.aligned_to_key_result_id)].append(objective)

    aligned_memo: dict[str, dict[str, float]] = {}
    progress_memo: dict[str, float] = {}

    def aligned_values(objective: Objective, path: tuple[str, ...]) -> dict[str, float]:
        key = str(objective.id)
        if key in aligned_memo:
            return aligned_memo[key]
        assert key not in path, f"alignment cycle through {path}"
        values = {
            kr.id: aligned_progress(
                progress_of(child, (*path, key)) for child in children.get(kr.id, [])
            )
            for kr in objective.active_key_results()
            if kr.mode == ProgressMode.ALIGNED
        }
        aligned_memo[key] = values
        return values

    def progress_of(objective: Objective, path: tuple[str, ...]) -> float:
        key = str(objective.id)
        if key not in progress_memo:
            progress_memo[key] = objective.progress(aligned_values(objective, path))
        return progress_memo[key]

    documents: dict[str, dict[str, Any]] = {}
    objective_rows: dict[str, dict[str, Any]] = {}
    key_result_rows: dict[str, dict[str, Any]] = {}
    for key, objective in objectives.items():
        aligned = aligned_values(objective, ())
        document = objective_document(objective, aligned)
        documents[key] = document
        retrospective = document.get("retrospective")
        objective_rows[key] = {
            "id": key,
            "organization_id": objective.organization_id,
            "cycle_id": str(objective.cycle_id),
            "parent_id": None if objective.parent_id is None else str(objective.parent_id),
            "aligned_kr_id": _str(objective.aligned_to_key_result_id),
            "level": objective.level,
            "owner_team_id": _str(objective.owner_team_id),
            "owner_user_id": objective.owner_user_id,
            "visibility": objective.visibility,
            "contributors": sorted(objective.contributors()),
            "archived": int(objective.archived),
            "progress": document["progress"],
            "status": document["status"],
            "achievement_rate": retrospective["achievement_rate"] if retrospective else None,
            "version": objective.version,
            "doc": document,
        }
        # An archived objective keeps its live KRs' rows: they still own their children.
        for kr in document["key_results"]:
            key_result_rows[kr["id"]] = {
                "id": kr["id"],
                "objective_id": key,
                "organization_id": objective.organization_id,
                "cycle_id": str(objective.cycle_id),
                "owner_team_id": _str(objective.owner_team_id),
                "mode": kr["mode"],
                "progress": kr["progress"],
                "last_check_in_at": kr["last_check_in_at"],
            }

    teams: dict[str, dict[str, Any]] = {}
    members: dict[tuple[str, str], dict[str, Any]] = {}
    for team_id in team_ids:
        team = app.repository.get(team_id)
        assert isinstance(team, Team)
        teams[str(team_id)] = {
            "id": str(team_id),
            "organization_id": team.organization_id,
            "name": team.name,
            "parent_id": _str(team.parent_id),
            "version": team.version,
        }
        for user, role in team.members.items():
            members[(str(team_id), user)] = {
                "team_id": str(team_id),
                "user_id": user,
                "organization_id": team.organization_id,
                "role": str(role),
            }

    cycles: dict[str, dict[str, Any]] = {}
    for cycle_id in cycle_ids:
        cycle = app.repository.get(cycle_id)
        assert isinstance(cycle, Cycle)
        cycles[str(cycle_id)] = {
            "id": str(cycle_id),
            "organization_id": cycle.organization_id,
            "name": cycle.name,
            "start_date": cycle.start_date.isoformat(),
            "end_date": cycle.end_date.isoformat(),
            "cadence": str(cycle.cadence),
            "phase": str(cycle.phase),
            "version": cycle.version,
            "created_at": cycle.created_on.isoformat(),
            "updated_at": cycle.modified_on.isoformat(),
        }

    issues: dict[str, dict[str, Any]] = {}
    links: set[tuple[str, str, str]] = set()
    for key in dict.fromkeys(issue_ids):
        try:
            issue = app.repository.get(key)
        except AggregateNotFoundError:  # an issue no command has named yet
            continue
        assert isinstance(issue, Issue)
        last_event_id = None
        for event in app.events.get(key):
            if isinstance(event, Issue.StatusReported) and event.applied:
                last_event_id = event.event_id
        issues[str(key)] = {
            "id": str(key),
            "organization_id": issue.organization_id,
            "tracker": issue.tracker,
            "issue_key": issue.issue_key,
            "status": None if issue.status is None else str(issue.status),
            "raw_status": issue.raw_status,
            "title": issue.title,
            "url": issue.url,
            "estimate": issue.estimate,
            "last_event_id": last_event_id,
            "occurred_at": None
            if issue.last_occurred_at is None
            else issue.last_occurred_at.isoformat(),
            "version": issue.version,
        }
        for objective_id, key_result_id in issue.links:
            links.add((str(key), str(objective_id), str(key_result_id)))
    return Expected(
        documents=documents,
        objective_rows=objective_rows,
        key_result_rows=key_result_rows,
        teams=teams,
        members=members,
        cycles=cycles,
        issues=issues,
        links=links,
    )


def diff_expected(tables: Snapshot, expected: Expected, tolerance: float = 1e-9) -> list[str]:
    """Differences between the read-model tables and the recomputation."""
    out: list[str] = []

    def rows(table: str) -> dict[str, dict[str, Any]]:
        return {key[0] if len(key) == 1 else key: row for key, row in tables[table].items()}

    def compare(table: str, actual: Mapping[Any, Any], wanted: Mapping[Any, Any]) -> None:
        for key in sorted(set(actual) | set(wanted), key=str):
            if key not in actual or key not in wanted:
                where = "projection only" if key in actual else "missing in the projection"
                out.append(f"{table}[{key}]: {where}")
                continue
            row = {name: actual[key][name] for name in wanted[key]}
            archived = table == "okr_objectives" and wanted[key]["archived"]
            where = f"{table}[{key}{' (archived)' if archived else ''}]"
            out.extend(diff_values(where, row, wanted[key], tolerance))

    compare("okr_objectives", rows("okr_objectives"), expected.objective_rows)
    compare("okr_key_results", rows("okr_key_results"), expected.key_result_rows)
    compare("okr_teams", rows("okr_teams"), expected.teams)
    compare("okr_team_members", rows("okr_team_members"), expected.members)
    compare("okr_cycles", rows("okr_cycles"), expected.cycles)
    compare("okr_issues", rows("okr_issues"), expected.issues)
    actual_links = {
        (r["issue_id"], r["objective_id"], r["key_result_id"])
        for r in tables["okr_issue_links"].values()
    }
    for link in sorted(actual_links ^ expected.links):
        where = "projection only" if link in actual_links else "missing in the projection"
        out.append(f"okr_issue_links{list(link)}: {where}")
    return out


def progress_history_ends_at_current(tables: Snapshot) -> list[str]:
    """The last progress point of every live objective and KR is its current progress."""
    last: dict[tuple[str, str], float] = {}
    for point in ordered_points(tables):
        last[(point["objective_id"], point["key_result_id"])] = point["progress"]
    out: list[str] = []
    for row in tables["okr_objectives"].values():
        if row["archived"]:
            continue
        document = row["doc"]
        wanted = [(OBJECTIVE, document["progress"])]
        wanted += [(kr["id"], kr["progress"]) for kr in document["key_results"]]
        for kr_id, progress in wanted:
            seen = last.get((row["id"], kr_id))
            if seen is None or not math.isclose(seen, progress, rel_tol=0.0, abs_tol=1e-9):
                out.append(
                    f"progress history of {row['id']}/{kr_id or 'objective'} ends at {seen!r},"
                    f" the document says {progress!r}"
                )
    return out


def report(problems: Mapping[str, list[str]], shown: int = 25) -> str:
    """A failure message: each check's count of differences and the first ``shown``."""
    lines = []
    for check, found in problems.items():
        if found:
            lines.append(f"{check}: {len(found)} difference(s)")
            lines.extend(f"  {line}" for line in found[:shown])
    return "\n".join(lines)


def points_are_numbered(tables: Snapshot) -> list[str]:
    """Each event's points are numbered 0..n-1: none lost, none written twice."""
    ordinals: dict[int, list[int]] = defaultdict(list)
    for position, ordinal in tables["okr_progress_points"]:
        ordinals[position].append(ordinal)
    return [
        f"progress points at position {position} have ordinals {sorted(found)}"
        for position, found in sorted(ordinals.items())
        if sorted(found) != list(range(len(found)))
    ]


def _str(value: Any) -> str | None:
    return None if value is None else str(value)
