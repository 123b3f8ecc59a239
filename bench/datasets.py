"""Seeded, reproducible data sets for the figures.

Everything is written as real domain events: small set-ups through the
application's commands, large ones through the domain aggregates themselves
(``Objective.draft``, ``add_key_result``, ``check_in`` …) saved several
aggregates per ``app.save()``, which skips only the per-command loading and
authorization, never a domain rule. The same seed gives the same shapes and
values; ids differ between runs (the domain draws them with ``uuid4``).
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from commands.actor import Actor
from commands.application import OkrApplication
from commands.messages import (
    AddKeyResult,
    AdvanceCyclePhase,
    DraftObjective,
    FormTeam,
    LinkIssue,
    PlanCycle,
    SetTeamMember,
)
from domain.cycle import Cycle
from domain.key_result_locator import KeyResultLocator
from domain.objective import Objective
from domain.team import Team
from domain.values import TokenRole

ORG = "bench"
CYCLE_START = date(2026, 10, 1)
CYCLE_END = date(2026, 12, 31)
STATUSES = ("on_track", "on_track", "on_track", "at_risk", "behind")


def admin_actor(org: str = ORG) -> Actor:
    return Actor(org, f"{org}-admin", TokenRole.ADMIN)


def tracking_cycle(app: OkrApplication, admin: Actor, name: str) -> UUID:
    """A cycle planned and moved to tracking, through the commands."""
    cycle_id = app.plan_cycle(
        admin, PlanCycle(name=name, start_date=CYCLE_START, end_date=CYCLE_END, cadence="quarter")
    ).id
    for phase in ("drafting", "tracking"):
        app.advance_cycle_phase(admin, AdvanceCyclePhase(cycle_id, phase))
    return cycle_id


# ------------------------------------------------------------ check-ins (fig 1, 4)


@dataclass
class CheckInClient:
    user: str
    token: str
    objective_id: UUID
    key_result_ids: list[UUID]


def check_in_clients(runtime: Any, clients: int, krs_per_client: int) -> list[CheckInClient]:
    """One team objective per client, its KRs assigned to the client's user (a member
    token): each client checks in on its own KRs, so clients never contend."""
    app: OkrApplication = runtime.app
    admin = admin_actor()
    cycle_id = tracking_cycle(app, admin, "Bench check-ins")
    team_id = app.form_team(admin, FormTeam(name="Bench team", parent_id=None)).id
    result = []
    for i in range(clients):
        user = f"bench-u{i}"
        app.set_team_member(admin, SetTeamMember(team_id, user_id=user, role="member"))
        objective_id = app.draft_objective(
            admin,
            DraftObjective(
                cycle_id=cycle_id, title=f"Client {i}", level="team", owner_team_id=team_id
            ),
        ).id
        krs = []
        for k in range(krs_per_client):
            written = app.add_key_result(
                admin,
                AddKeyResult(
                    objective_id, title=f"Client {i} KR {k}", mode="percentage", assignee_id=user
                ),
            )
            assert written.key_result_id is not None
            krs.append(written.key_result_id)
        _, token = runtime.tokens.create(ORG, user, "member")
        result.append(CheckInClient(user, token, objective_id, krs))
    return result


# ------------------------------------------------------------------- issues (fig 2)


@dataclass
class IssueDataset:
    organization: str
    keys: list[str]
    linked: list[str]
    objectives: int
    key_results: int
    events: list[Any]  # consumers.issue_event.IssueEvent
    setup_seconds: float


ISSUE_FLOW = ("todo", "in_progress", "done", "in_progress", "done")


def issue_dataset(
    app: OkrApplication,
    *,
    issues: int,
    events: int,
    linked_fraction: float,
    seed: int,
    tag: str,
) -> IssueDataset:
    """``issues`` GitHub issues, ``linked_fraction`` of them linked (through the
    commands) to ``issues``-mode KRs of objectives in a tracking cycle, and
    ``events`` canonical events over them in time order (each issue moving
    todo → in progress → done → …), every ``event_id`` new."""
    from consumers.issue_event import IssueEvent

    started = time.perf_counter()
    rng = random.Random(seed)
    admin = admin_actor()
    cycle_id = tracking_cycle(app, admin, "Bench ingestion")
    team_id = app.form_team(admin, FormTeam(name="Delivery", parent_id=None)).id
    keys = [f"bench/app#{n}" for n in range(1, issues + 1)]
    linked = sorted(rng.sample(keys, max(1, round(issues * linked_fraction))), key=keys.index)
    per_kr, krs_per_objective = 5, 4
    objective_count = math.ceil(len(linked) / (per_kr * krs_per_objective))
    kr_ids: list[tuple[UUID, UUID]] = []
    for o in range(objective_count):
        objective_id = app.draft_objective(
            admin,
            DraftObjective(
                cycle_id=cycle_id, title=f"Ship epic {o}", level="team", owner_team_id=team_id
            ),
        ).id
        for k in range(krs_per_objective):
            written = app.add_key_result(
                admin, AddKeyResult(objective_id, title=f"Epic {o} part {k}", mode="issues")
            )
            assert written.key_result_id is not None
            kr_ids.append((objective_id, written.key_result_id))
    for n, key in enumerate(linked):
        objective_id, kr_id = kr_ids[n // per_kr]
        app.link_issue(
            admin,
            LinkIssue(
                objective_id,
                kr_id,
                tracker="github",
                issue_key=key,
                estimate=float(rng.choice((1, 2, 3, 5))),
            ),
        )
    moment = datetime(2026, 11, 1, tzinfo=UTC)
    step: dict[str, int] = {}
    batch = []
    for j in range(events):
        key = rng.choice(keys)
        position = step.get(key, 0)
        step[key] = position + 1
        status = ISSUE_FLOW[position % len(ISSUE_FLOW)]
        batch.append(
            IssueEvent(
                event_id=f"{tag}-{j}",
                tracker="github",
                issue_key=key,
                status=status,
                raw_status="closed" if status == "done" else "open",
                occurred_at=moment + timedelta(seconds=j),
                title=f"Issue {key}",
                url=f"https://github.com/{key.replace('#', '/issues/')}",
            )
        )
    return IssueDataset(
        organization=ORG,
        keys=keys,
        linked=linked,
        objectives=objective_count,
        key_results=len(kr_ids),
        events=batch,
        setup_seconds=time.perf_counter() - started,
    )


# ---------------------------------------------------------------- history (fig 3)


@dataclass
class History:
    events: int
    seconds: float
    generator: str
    summary: dict[str, Any]


def generated_history(app: OkrApplication, seed: int, target_events: int) -> History:
    """The tests' generator (tests/generated_history.py): several organizations over
    many cycles through the commands; every kind of event, alignment trees four deep."""
    from tests.generated_history import generate_history

    started = time.perf_counter()
    history = generate_history(app, seed, target_events)
    summary = history.summary()
    return History(
        events=history.events,
        seconds=time.perf_counter() - started,
        generator="tests/generated_history.py generate_history(app, seed, target_events)",
        summary={
            k: (dict(v) if hasattr(v, "items") else v)
            for k, v in summary.items()
            if k in ("organizations", "cycles", "teams", "objectives", "key_results", "issues")
        },
    )


# ------------------------------------------------------------ time travel (fig 5)


@dataclass
class LongObjective:
    objective_id: UUID
    events: int
    seconds: float
    kinds: dict[str, int]


def long_objective(app: OkrApplication, events: int, seed: int) -> LongObjective:
    """One objective with ``events`` events: four KRs (percentage, numeric, milestone,
    percentage), then check-ins (85 %), notes, weight changes and title edits,
    saved 100 events at a time (snapshots every 100 versions, as configured)."""
    started = time.perf_counter()
    rng = random.Random(seed)
    admin = admin_actor()
    cycle_id = tracking_cycle(app, admin, "Bench time travel")
    team_id = app.form_team(admin, FormTeam(name="Long haul", parent_id=None)).id
    objective = Objective.draft(
        organization_id=ORG,
        cycle_id=cycle_id,
        title="An objective with a long history",
        description="every kind of change, many times",
        level="team",
        owner_team_id=team_id,
        owner_user_id=None,
        visibility="public",
        aligned_to_objective_id=None,
        aligned_to_key_result_id=None,
        aligned_parent_id=None,
        actor=admin.label,
    )
    specs: list[dict[str, Any]] = [
        {"mode": "percentage"},
        {"mode": "numeric", "start": 0.0, "target": 250.0, "unit": "deploys"},
        {"mode": "milestone", "milestones": [f"step {m}" for m in range(10)]},
        {"mode": "percentage"},
    ]
    aggregates: list[Aggregate] = [objective]
    kr_ids = []
    for n, spec in enumerate(specs):
        kr_id = objective.add_key_result(
            title=f"KR {n}",
            mode=spec["mode"],
            weight=1.0,
            start=spec.get("start"),
            target=spec.get("target"),
            unit=spec.get("unit"),
            milestones=spec.get("milestones"),
            assignee_id=None,
            participant_ids=None,
            actor=admin.label,
        )
        kr_ids.append((kr_id, spec["mode"]))
        aggregates.append(_locator(kr_id, objective, admin))
    app.save(*aggregates)
    kinds = {"check_in": 0, "note": 0, "weights": 0, "edit": 0}
    while objective.version < events:
        roll = rng.random()
        if roll < 0.85:
            kr_id, mode = rng.choice(kr_ids)
            _check_in(objective, kr_id, mode, rng, admin)
            kinds["check_in"] += 1
        elif roll < 0.93:
            objective.add_note(
                topic="progress", text=f"note {objective.version}", actor=admin.label
            )
            kinds["note"] += 1
        elif roll < 0.97:
            weights = {kr: float(rng.choice((0.5, 1.0, 2.0, 3.0))) for kr, _ in kr_ids}
            before = objective.version
            objective.set_weights(weights, admin.label)
            kinds["weights"] += objective.version != before
        else:
            objective.edit(
                title=f"A long history, take {objective.version}",
                description=None,
                visibility=None,
                actor=admin.label,
            )
            kinds["edit"] += 1
        if objective.version % 100 == 0:
            app.save(objective)
    app.save(objective)
    return LongObjective(objective.id, objective.version, time.perf_counter() - started, kinds)


def _locator(kr_id: UUID, objective: Objective, admin: Actor) -> KeyResultLocator:
    return KeyResultLocator(
        key_result_id=kr_id,
        objective_id=objective.id,
        organization_id=objective.organization_id,
        actor=admin.label,
    )


def _check_in(
    objective: Objective, kr_id: UUID, mode: str, rng: random.Random, admin: Actor
) -> None:
    values: dict[str, Any] = {"percent": None, "current": None, "milestones_done": None}
    if mode == "percentage":
        values["percent"] = float(rng.randint(0, 100))
    elif mode == "numeric":
        values["current"] = float(rng.randint(0, 250))
    elif mode == "milestone":
        total = len(objective.key_result(kr_id).milestones)
        values["milestones_done"] = list(range(rng.randint(0, total)))
    objective.check_in(
        kr_id,
        **values,
        status=rng.choice(STATUSES),
        confidence=round(rng.random(), 2),
        note=None,
        checked_in_at=datetime.now(UTC),
        actor=admin.label,
    )


# ------------------------------------------------------------------- tree (fig 6)


@dataclass
class TreeDataset:
    organization: str
    cycle_id: UUID
    team_ids: list[UUID]
    managers: dict[UUID, str]
    members: dict[UUID, list[str]]
    objective_ids: list[UUID]
    private_ids: set[UUID]
    counts: dict[str, int]
    seconds: float
    command_sample: dict[str, float] = field(default_factory=dict)


KR_MODES = ("percentage", "numeric", "milestone", "percentage")


def command_rate_sample(
    app: OkrApplication, objectives: int, krs_per_objective: int
) -> dict[str, float]:
    """How fast the commands themselves create objectives with their KRs (to say why
    the big data set is written in batches instead)."""
    admin = admin_actor()
    cycle_id = tracking_cycle(app, admin, "Command-rate sample")
    team_id = app.form_team(admin, FormTeam(name="Sample team", parent_id=None)).id
    started = time.perf_counter()
    commands = 0
    for o in range(objectives):
        objective_id = app.draft_objective(
            admin,
            DraftObjective(
                cycle_id=cycle_id, title=f"Sample {o}", level="team", owner_team_id=team_id
            ),
        ).id
        commands += 1
        for k in range(krs_per_objective):
            app.add_key_result(
                admin, AddKeyResult(objective_id, title=f"Sample {o}.{k}", mode="percentage")
            )
            commands += 1
    seconds = time.perf_counter() - started
    per_objective = seconds / max(objectives, 1)
    return {
        "objectives": objectives,
        "commands": commands,
        "seconds": round(seconds, 3),
        "commands_per_second": round(commands / seconds, 1),
        "seconds_per_objective_with_krs": round(per_objective, 4),
    }


def tree_dataset(
    app: OkrApplication,
    *,
    objectives: int,
    krs_per_objective: int,
    teams: int,
    check_in_fraction: float,
    seed: int,
    batch: int = 100,
) -> TreeDataset:
    """One cycle holding ``objectives`` objectives and ``objectives * krs_per_objective``
    KRs in a tree: organization objectives (all KRs ``aligned``) at the top, team
    objectives aligned to their KRs (half their KRs ``aligned``), individual
    objectives aligned to those (percentage, numeric, milestone KRs; 5 % private);
    then check-ins on ``check_in_fraction`` of the individual KRs."""
    started = time.perf_counter()
    rng = random.Random(seed)
    admin = admin_actor()
    label = admin.label
    cycle = Cycle.plan(
        organization_id=ORG,
        name="Bench tree",
        start_date=CYCLE_START,
        end_date=CYCLE_END,
        cadence="quarter",
        actor=label,
    )
    cycle.advance_phase("drafting", label)
    cycle.advance_phase("tracking", label)
    company = Team.form(organization_id=ORG, name="Company", parent_id=None, actor=label)
    company.set_member("ceo", "manager", label)
    team_list: list[Team] = []
    managers: dict[UUID, str] = {}
    members: dict[UUID, list[str]] = {}
    for t in range(teams):
        team = Team.form(organization_id=ORG, name=f"Team {t}", parent_id=company.id, actor=label)
        managers[team.id] = f"m{t}"
        team.set_member(f"m{t}", "manager", label)
        members[team.id] = [f"t{t}-u{u}" for u in range(8)]
        for user in members[team.id]:
            team.set_member(user, "member", label)
        team_list.append(team)
    app.save(cycle, company, *team_list)

    n_org = max(1, objectives // 1000)
    per_team = max(1, objectives * 4 // 100 // teams)
    n_team = per_team * teams
    n_individual = objectives - n_org - n_team
    if n_individual <= 0:
        raise ValueError("too few objectives for the tree's three levels")

    created: list[Objective] = []
    pending: list[Aggregate] = []

    def add(objective: Objective, modes: Sequence[str], assignee: str | None) -> list[UUID]:
        krs = []
        for k, mode in enumerate(modes):
            numeric = mode == "numeric"
            kr_id = objective.add_key_result(
                title=f"{objective.title} / KR {k}",
                mode=mode,
                weight=float(rng.choice((1, 1, 1, 2))),
                start=0.0 if numeric else None,
                target=100.0 if numeric else None,
                unit="points" if numeric else None,
                milestones=[f"milestone {m}" for m in range(4)] if mode == "milestone" else None,
                assignee_id=assignee,
                participant_ids=None,
                actor=label,
            )
            krs.append(kr_id)
            pending.append(_locator(kr_id, objective, admin))
        created.append(objective)
        pending.append(objective)
        if len(created) % batch == 0:
            app.save(*pending)
            pending.clear()
        return krs

    def draft(
        title: str, level: str, team_id: UUID, user: str | None, parent: tuple[UUID, UUID] | None
    ) -> Objective:
        objective = Objective.draft(
            organization_id=ORG,
            cycle_id=cycle.id,
            title=title,
            description=f"{title}: generated for the benchmark",
            level=level,
            owner_team_id=team_id,
            owner_user_id=user,
            visibility="private" if level == "individual" and rng.random() < 0.05 else "public",
            aligned_to_objective_id=None,
            aligned_to_key_result_id=None if parent is None else parent[1],
            aligned_parent_id=None if parent is None else parent[0],
            actor=label,
        )
        if objective.visibility == "private":
            private.add(objective.id)
        return objective

    private: set[UUID] = set()
    org_krs: list[tuple[UUID, UUID]] = []
    for o in range(n_org):
        objective = draft(f"Company goal {o}", "organization", company.id, None, None)
        for kr in add(objective, ["aligned"] * krs_per_objective, "ceo"):
            org_krs.append((objective.id, kr))
    team_krs: dict[UUID, list[tuple[UUID, UUID]]] = {}
    n = 0
    for team in team_list:
        for o in range(per_team):
            parent = org_krs[n % len(org_krs)]
            n += 1
            objective = draft(f"{team.name} goal {o}", "team", team.id, None, parent)
            aligned = max(1, krs_per_objective // 2)
            modes = ["aligned"] * aligned + ["percentage"] * (krs_per_objective - aligned)
            krs = add(objective, modes, managers[team.id])
            team_krs.setdefault(team.id, []).extend((objective.id, kr) for kr in krs[:aligned])
    individual: list[tuple[Objective, list[UUID]]] = []
    for i in range(n_individual):
        team = team_list[i % teams]
        user = members[team.id][(i // teams) % len(members[team.id])]
        parent = team_krs[team.id][(i // teams) % len(team_krs[team.id])]
        objective = draft(f"{user} goal {i}", "individual", team.id, user, parent)
        modes = [KR_MODES[k % len(KR_MODES)] for k in range(krs_per_objective)]
        individual.append((objective, add(objective, modes, user)))
    if pending:
        app.save(*pending)
        pending.clear()

    check_ins = 0
    dirty: dict[UUID, Objective] = {}
    all_krs = [(objective, kr) for objective, krs in individual for kr in krs]
    for objective, kr in rng.sample(all_krs, round(len(all_krs) * check_in_fraction)):
        mode = objective.key_result(kr).mode
        _check_in(objective, kr, mode, rng, admin)
        check_ins += 1
        dirty[objective.id] = objective
        if len(dirty) >= batch * 4:
            app.save(*dirty.values())
            dirty.clear()
    if dirty:
        app.save(*dirty.values())

    return TreeDataset(
        organization=ORG,
        cycle_id=cycle.id,
        team_ids=[t.id for t in team_list],
        managers=managers,
        members=members,
        objective_ids=[o.id for o in created],
        private_ids=private,
        counts={
            "objectives": len(created),
            "organization_objectives": n_org,
            "team_objectives": n_team,
            "individual_objectives": n_individual,
            "key_results": len(created) * krs_per_objective,
            "teams": teams,
            "check_ins": check_ins,
        },
        seconds=time.perf_counter() - started,
    )
