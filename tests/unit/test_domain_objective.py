"""Rules of the write-side aggregates (cycle, team, objective, key result, alignment).

In-memory store, driven through the commands, so each rule is checked where
a caller meets it. Every refusal also checks that nothing was written: the
aggregate's version and the log position stay where they were.

The formulas themselves are tested in test_progress.py; here only that the
aggregates feed them the right inputs (archived KRs out, weights kept, ...).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.application import project_aggregate

from commands.application import OkrApplication
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
from domain.cycle import PHASE_ALLOWS, PhaseAction
from domain.errors import (
    AlignmentCycle,
    Conflict,
    DomainError,
    InvalidCommand,
    NotFound,
    PhaseRuleViolation,
    VersionMismatch,
)
from domain.issue import issue_id
from domain.objective import Objective
from domain.values import Phase
from tests.builders import ADMIN, OTHER_ADMIN, World, member, memory_app, report

TOL = 1e-9
BAD_NUMBERS = [math.nan, math.inf, -math.inf]


@pytest.fixture
def app() -> OkrApplication:
    return memory_app()


@pytest.fixture
def w(app: OkrApplication) -> World:
    return World(app)


@contextmanager
def refused(w: World, error: type[DomainError], *ids: UUID) -> Iterator[None]:
    """The block raises ``error`` and neither the log nor the given aggregates moved."""
    before = w.position()
    versions = [w.version(i) for i in ids]
    with pytest.raises(error):
        yield
    assert w.position() == before, "a refused command wrote events"
    assert [w.version(i) for i in ids] == versions


# ====================================================================== cycle


def test_plan_cycle_records_launch_phase_and_dates(w: World) -> None:
    cycle_id = w.cycle(Phase.LAUNCH)
    cycle = w.get(cycle_id)
    assert cycle.phase is Phase.LAUNCH
    assert (cycle.start_date, cycle.end_date) == (date(2027, 1, 1), date(2027, 3, 31))
    assert cycle.organization_id == "acme"


@pytest.mark.parametrize(
    ("start", "end"),
    [(date(2027, 3, 31), date(2027, 3, 31)), (date(2027, 4, 1), date(2027, 3, 31))],
    ids=["start==end", "start>end"],
)
def test_cycle_start_must_be_before_end(w: World, start: date, end: date) -> None:
    with refused(w, InvalidCommand):
        w.app.plan_cycle(
            ADMIN, PlanCycle(name="Q", start_date=start, end_date=end, cadence="quarter")
        )


@pytest.mark.parametrize(("name", "cadence"), [("  ", "quarter"), ("Q1", "fortnight")])
def test_cycle_needs_name_and_known_cadence(w: World, name: str, cadence: str) -> None:
    with refused(w, InvalidCommand):
        w.app.plan_cycle(
            ADMIN,
            PlanCycle(
                name=name,
                start_date=date(2027, 1, 1),
                end_date=date(2027, 2, 1),
                cadence=cadence,
            ),
        )


def test_phase_walks_forward_one_step_at_a_time(w: World) -> None:
    cycle_id = w.cycle(Phase.LAUNCH)
    for version, phase in enumerate(["drafting", "tracking", "retrospective", "closed"], start=2):
        written = w.app.advance_cycle_phase(ADMIN, AdvanceCyclePhase(cycle_id, phase))
        assert written.version == version
        assert w.get(cycle_id).phase == phase
    assert w.event_names(cycle_id) == ["Planned"] + ["PhaseAdvanced"] * 4


@pytest.mark.parametrize(
    ("current", "wanted"),
    [
        (Phase.LAUNCH, "tracking"),  # skips drafting
        (Phase.LAUNCH, "closed"),
        (Phase.LAUNCH, "launch"),  # stays
        (Phase.DRAFTING, "launch"),  # backwards
        (Phase.TRACKING, "drafting"),
        (Phase.TRACKING, "closed"),
        (Phase.RETROSPECTIVE, "tracking"),
        (Phase.CLOSED, "closed"),
        (Phase.CLOSED, "launch"),
    ],
)
def test_phase_refuses_skips_repeats_and_backward_moves(
    w: World, current: Phase, wanted: str
) -> None:
    cycle_id = w.cycle(current)
    with refused(w, PhaseRuleViolation, cycle_id):
        w.app.advance_cycle_phase(ADMIN, AdvanceCyclePhase(cycle_id, wanted))
    assert w.get(cycle_id).phase is current


def test_unknown_phase_is_invalid(w: World) -> None:
    cycle_id = w.cycle(Phase.LAUNCH)
    with refused(w, InvalidCommand, cycle_id):
        w.app.advance_cycle_phase(ADMIN, AdvanceCyclePhase(cycle_id, "planning"))


def test_phase_table_is_the_spec() -> None:
    """SPEC §2: the table every command consults (commands below check it is consulted)."""
    edit, check_in, issues, retro, note = (
        PhaseAction.EDIT_OBJECTIVES,
        PhaseAction.CHECK_IN,
        PhaseAction.ISSUE_PROGRESS,
        PhaseAction.RETROSPECTIVE,
        PhaseAction.NOTE,
    )
    table = {phase: set(actions) for phase, actions in PHASE_ALLOWS.items()}
    assert table == {
        Phase.LAUNCH: {note},
        Phase.DRAFTING: {edit, note},
        Phase.TRACKING: {edit, check_in, issues, note},
        Phase.RETROSPECTIVE: {issues, retro, note},
        Phase.CLOSED: set(),
    }


# ===================================================== phase rules, by command

Ctx = dict[str, UUID]
Action = Callable[[World, Ctx], Any]

ACTIONS: dict[str, tuple[PhaseAction, Action]] = {
    "draft_objective": (
        PhaseAction.EDIT_OBJECTIVES,
        lambda w, c: w.objective(c["cycle"], team_id=c["team"], title="Another one"),
    ),
    "edit_objective": (
        PhaseAction.EDIT_OBJECTIVES,
        lambda w, c: w.app.edit_objective(ADMIN, EditObjective(c["obj"], title="Renamed")),
    ),
    "align_objective": (
        PhaseAction.EDIT_OBJECTIVES,
        lambda w, c: w.app.align_objective(
            ADMIN, AlignObjective(c["obj"], to_objective_id=c["parent"])
        ),
    ),
    "archive_objective": (
        PhaseAction.EDIT_OBJECTIVES,
        lambda w, c: w.app.archive_objective(ADMIN, ArchiveObjective(c["obj"])),
    ),
    "add_key_result": (
        PhaseAction.EDIT_OBJECTIVES,
        lambda w, c: w.kr(c["obj"], title="Third"),
    ),
    "edit_key_result": (
        PhaseAction.EDIT_OBJECTIVES,
        lambda w, c: w.app.edit_key_result(
            ADMIN, EditKeyResult(c["obj"], c["kr"], {"title": "Renamed KR"})
        ),
    ),
    "archive_key_result": (
        PhaseAction.EDIT_OBJECTIVES,
        lambda w, c: w.app.archive_key_result(ADMIN, ArchiveKeyResult(c["obj"], c["kr2"])),
    ),
    "set_weights": (
        PhaseAction.EDIT_OBJECTIVES,
        lambda w, c: w.app.set_weights(ADMIN, SetWeights(c["obj"], {c["kr"]: 3.0})),
    ),
    "link_issue": (
        PhaseAction.EDIT_OBJECTIVES,
        lambda w, c: w.app.link_issue(
            ADMIN, LinkIssue(c["obj"], c["kr"], tracker="github", issue_key="acme/app#2")
        ),
    ),
    "unlink_issue": (
        PhaseAction.EDIT_OBJECTIVES,
        lambda w, c: w.app.unlink_issue(
            ADMIN, UnlinkIssue(c["obj"], c["kr"], tracker="github", issue_key="acme/app#1")
        ),
    ),
    "check_in": (
        PhaseAction.CHECK_IN,
        lambda w, c: w.app.check_in(
            ADMIN, CheckIn(c["obj"], c["kr"], percent=50, status="on_track")
        ),
    ),
    "add_note": (
        PhaseAction.NOTE,
        lambda w, c: w.app.add_note(ADMIN, AddNote(c["obj"], topic="progress", text="going well")),
    ),
    "record_retrospective": (
        PhaseAction.RETROSPECTIVE,
        lambda w, c: w.app.record_retrospective(
            ADMIN,
            RecordRetrospective(
                c["obj"],
                scores={c["kr"]: 0.5},
                problems="p",
                improvements="i",
                next_focus="n",
            ),
        ),
    ),
}

ALLOWED_IN: dict[PhaseAction, set[Phase]] = {
    PhaseAction.EDIT_OBJECTIVES: {Phase.DRAFTING, Phase.TRACKING},
    PhaseAction.CHECK_IN: {Phase.TRACKING},
    PhaseAction.RETROSPECTIVE: {Phase.RETROSPECTIVE},
    PhaseAction.NOTE: {Phase.LAUNCH, Phase.DRAFTING, Phase.TRACKING, Phase.RETROSPECTIVE},
}


def build_ctx(w: World, phase: Phase) -> Ctx:
    cycle = w.cycle(Phase.DRAFTING)
    team = w.team(managers=["mia"])
    obj = w.objective(cycle, team_id=team)
    parent = w.objective(cycle, team_id=team, level="organization", title="Parent")
    kr = w.kr(obj, title="First")
    kr2 = w.kr(obj, title="Second")
    w.app.link_issue(ADMIN, LinkIssue(obj, kr, tracker="github", issue_key="acme/app#1"))
    w.advance(cycle, phase)
    return {"cycle": cycle, "team": team, "obj": obj, "parent": parent, "kr": kr, "kr2": kr2}


@pytest.mark.parametrize(
    "phase", [Phase.DRAFTING, Phase.TRACKING, Phase.RETROSPECTIVE, Phase.CLOSED]
)
@pytest.mark.parametrize("name", sorted(ACTIONS))
def test_each_command_obeys_the_phase_table(w: World, name: str, phase: Phase) -> None:
    kind, action = ACTIONS[name]
    ctx = build_ctx(w, phase)
    if phase in ALLOWED_IN[kind]:
        before = w.position()
        action(w, ctx)
        assert w.position() > before
    else:
        with refused(w, PhaseRuleViolation, ctx["obj"], ctx["cycle"]):
            action(w, ctx)


def test_launch_refuses_objectives(w: World) -> None:
    cycle = w.cycle(Phase.LAUNCH)
    team = w.team()
    with refused(w, PhaseRuleViolation):
        w.objective(cycle, team_id=team)
    with refused(w, PhaseRuleViolation):
        w.objective(cycle, owner_user_id="olly")


def test_closed_cycle_message_says_read_only(w: World) -> None:
    ctx = build_ctx(w, Phase.CLOSED)
    with pytest.raises(PhaseRuleViolation, match="closed"):
        w.app.add_note(ADMIN, AddNote(ctx["obj"], topic="progress", text="late"))


# ================================================================= teams


def test_team_member_role_must_be_known_and_same_role_is_a_no_op(w: World) -> None:
    team = w.team(managers=["mia"])
    with refused(w, InvalidCommand, team):
        w.app.set_team_member(ADMIN, SetTeamMember(team, user_id="bob", role="owner"))
    with refused(w, InvalidCommand, team):
        w.app.set_team_member(ADMIN, SetTeamMember(team, user_id="  ", role="member"))
    version = w.version(team)
    assert (
        w.app.set_team_member(ADMIN, SetTeamMember(team, user_id="mia", role="manager")).version
        == version
    )
    w.app.set_team_member(ADMIN, SetTeamMember(team, user_id="mia", role="member"))
    assert not w.get(team).is_manager("mia")


def test_team_needs_a_name_and_a_parent_in_the_same_org(w: World) -> None:
    with refused(w, InvalidCommand):
        w.app.form_team(ADMIN, FormTeam(name=" ", parent_id=None))
    parent = w.team()
    with refused(w, NotFound):
        w.app.form_team(OTHER_ADMIN, FormTeam(name="Spies", parent_id=parent))
    with refused(w, NotFound):
        w.app.form_team(ADMIN, FormTeam(name="Orphan", parent_id=uuid4()))


# ===================================================== drafting objectives


def test_individual_objective_needs_owner_user(w: World) -> None:
    cycle = w.cycle()
    with refused(w, InvalidCommand):  # an admin is not implicitly the owner
        w.app.draft_objective(
            ADMIN, DraftObjective(cycle_id=cycle, title="Mine", level="individual")
        )
    with refused(w, InvalidCommand):
        w.app.draft_objective(
            ADMIN,
            DraftObjective(cycle_id=cycle, title="Mine", level="individual", owner_user_id="  "),
        )


def test_member_drafting_individual_objective_owns_it(w: World) -> None:
    cycle = w.cycle()
    written = w.app.draft_objective(
        member("olly"), DraftObjective(cycle_id=cycle, title="Mine", level="individual")
    )
    assert w.obj(written.id).owner_user_id == "olly"


@pytest.mark.parametrize("level", ["team", "organization"])
def test_team_and_org_objectives_need_owner_team_and_no_owner_user(w: World, level: str) -> None:
    cycle = w.cycle()
    team = w.team()
    with refused(w, InvalidCommand):
        w.app.draft_objective(ADMIN, DraftObjective(cycle_id=cycle, title="T", level=level))
    with refused(w, InvalidCommand):
        w.app.draft_objective(
            ADMIN,
            DraftObjective(
                cycle_id=cycle, title="T", level=level, owner_team_id=team, owner_user_id="olly"
            ),
        )


def test_objective_owner_team_must_exist_in_the_org(w: World) -> None:
    cycle = w.cycle()
    with refused(w, NotFound):
        w.app.draft_objective(
            ADMIN, DraftObjective(cycle_id=cycle, title="T", level="team", owner_team_id=uuid4())
        )


@pytest.mark.parametrize(
    "overrides",
    [{"title": "  "}, {"title": "x" * 501}, {"level": "galaxy"}, {"visibility": "secret"}],
    ids=["blank-title", "long-title", "level", "visibility"],
)
def test_objective_fields_are_validated(w: World, overrides: dict[str, Any]) -> None:
    cycle = w.cycle()
    team = w.team()
    fields: dict[str, Any] = {"title": "T", "level": "team", "owner_team_id": team}
    fields.update(overrides)
    with refused(w, InvalidCommand):
        w.app.draft_objective(ADMIN, DraftObjective(cycle_id=cycle, **fields))


def test_objective_in_unknown_or_foreign_cycle_is_not_found(w: World) -> None:
    cycle = w.cycle()
    with refused(w, NotFound):
        w.app.draft_objective(
            OTHER_ADMIN,
            DraftObjective(cycle_id=cycle, title="T", level="individual", owner_user_id="x"),
        )
    with refused(w, NotFound):
        w.app.draft_objective(
            ADMIN,
            DraftObjective(cycle_id=uuid4(), title="T", level="individual", owner_user_id="x"),
        )


def test_edit_objective_changes_only_named_fields(w: World) -> None:
    cycle = w.cycle()
    obj = w.objective(cycle, visibility="private")
    version = w.version(obj)
    w.app.edit_objective(ADMIN, EditObjective(obj, description="why"))
    o = w.obj(obj)
    assert (o.title, o.description, o.visibility) == ("Ship the thing", "why", "private")
    # the same values again write nothing
    assert w.app.edit_objective(ADMIN, EditObjective(obj, description="why")).version == version + 1
    with refused(w, InvalidCommand, obj):
        w.app.edit_objective(ADMIN, EditObjective(obj, visibility="secret"))
    with refused(w, InvalidCommand, obj):
        w.app.edit_objective(ADMIN, EditObjective(obj, title=" "))


# ============================================================ key results


@pytest.fixture
def drafting(w: World) -> tuple[UUID, UUID]:
    cycle = w.cycle(Phase.DRAFTING)
    return cycle, w.objective(cycle)


@pytest.fixture
def tracking(w: World) -> tuple[UUID, UUID]:
    """A cycle in tracking and an objective in it (KRs are added by the tests)."""
    cycle = w.cycle(Phase.DRAFTING)
    obj = w.objective(cycle)
    w.advance(cycle, Phase.TRACKING)
    return cycle, obj


def test_add_key_result_answers_its_id_and_the_objective_version(
    w: World, drafting: tuple[UUID, UUID]
) -> None:
    _, obj = drafting
    written = w.app.add_key_result(ADMIN, AddKeyResult(obj, title="K", mode="percentage"))
    assert written.id == obj
    assert written.version == w.version(obj) == 2
    assert written.key_result_id is not None
    kr = w.obj(obj).key_result(written.key_result_id)
    assert (kr.title, kr.mode, kr.weight, kr.archived) == ("K", "percentage", 1.0, False)


@pytest.mark.parametrize(("start", "target"), [(5.0, 5.0), (None, 0.0), (0.0, 0.0), (-3.0, -3.0)])
def test_numeric_target_equal_to_start_is_refused_on_creation(
    w: World, drafting: tuple[UUID, UUID], start: float | None, target: float
) -> None:
    _, obj = drafting
    with refused(w, InvalidCommand, obj):
        w.kr(obj, "numeric", start=start, target=target)


def test_numeric_target_equal_to_start_is_refused_on_edit(
    w: World, drafting: tuple[UUID, UUID]
) -> None:
    _, obj = drafting
    kr = w.kr(obj, "numeric", start=10, target=20)
    with refused(w, InvalidCommand, obj):
        w.app.edit_key_result(ADMIN, EditKeyResult(obj, kr, {"target": 10.0}))
    with refused(w, InvalidCommand, obj):
        w.app.edit_key_result(ADMIN, EditKeyResult(obj, kr, {"start": 20.0}))
    with refused(w, InvalidCommand, obj):
        w.app.edit_key_result(ADMIN, EditKeyResult(obj, kr, {"start": 7.0, "target": 7.0}))
    with refused(w, InvalidCommand, obj):
        w.app.edit_key_result(ADMIN, EditKeyResult(obj, kr, {"start": None}))
    k = w.obj(obj).key_result(kr)
    assert (k.start, k.target) == (10.0, 20.0)


def test_numeric_target_may_stay_open_while_drafting(w: World, tracking: tuple[UUID, UUID]) -> None:
    _, obj = tracking
    kr = w.kr(obj, "numeric", start=0, unit="users")
    w.check_in(obj, kr, current=5)
    assert w.obj(obj).key_result(kr).progress() == 0.0
    w.app.edit_key_result(ADMIN, EditKeyResult(obj, kr, {"target": 10.0}))
    assert w.obj(obj).key_result(kr).progress() == pytest.approx(0.5)


def test_numeric_current_starts_at_start_and_follows_an_edited_start(
    w: World, drafting: tuple[UUID, UUID]
) -> None:
    _, obj = drafting
    kr = w.kr(obj, "numeric", start=3, target=13)
    assert w.obj(obj).key_result(kr).current == 3.0
    w.app.edit_key_result(ADMIN, EditKeyResult(obj, kr, {"start": 5.0}))
    assert w.obj(obj).key_result(kr).current == 5.0


@pytest.mark.parametrize(
    ("current", "expected"), [(75.0, 0.5), (50.0, 1.0), (40.0, 1.0), (100.0, 0.0), (110.0, 0.0)]
)
def test_numeric_decrease_to(
    w: World, tracking: tuple[UUID, UUID], current: float, expected: float
) -> None:
    _, obj = tracking
    kr = w.kr(obj, "numeric", start=100, target=50, unit="ms")
    w.check_in(obj, kr, current=current)
    assert w.obj(obj).key_result(kr).progress() == pytest.approx(expected, abs=TOL)
    assert w.obj(obj).progress() == pytest.approx(expected, abs=TOL)


@pytest.mark.parametrize(
    "fields",
    [
        {"mode": "percentage", "start": 1.0},
        {"mode": "percentage", "target": 1.0},
        {"mode": "milestone", "unit": "x", "milestones": ["a"]},
        {"mode": "percentage", "milestones": ["a"]},
        {"mode": "numeric", "target": 3.0, "milestones": ["a"]},
        {"mode": "milestone", "milestones": ["a", " "]},
        {"mode": "burndown"},
        {"mode": "percentage", "title": "  "},
    ],
    ids=lambda f: "-".join(f"{k}={v}" for k, v in f.items()),
)
def test_key_result_fields_must_fit_its_mode(
    w: World, drafting: tuple[UUID, UUID], fields: dict[str, Any]
) -> None:
    _, obj = drafting
    args: dict[str, Any] = {"title": "K"}
    args.update(fields)
    with refused(w, InvalidCommand, obj):
        w.app.add_key_result(ADMIN, AddKeyResult(obj, **args))


@pytest.mark.parametrize("weight", [-1.0, -1e-9, *BAD_NUMBERS, True])
def test_bad_weights_are_refused_on_creation_and_in_set_weights(
    w: World, drafting: tuple[UUID, UUID], weight: Any
) -> None:
    _, obj = drafting
    with refused(w, InvalidCommand, obj):
        w.kr(obj, weight=weight)
    kr = w.kr(obj, weight=2)
    with refused(w, InvalidCommand, obj):
        w.app.set_weights(ADMIN, SetWeights(obj, {kr: weight}))
    assert w.obj(obj).key_result(kr).weight == 2.0


@pytest.mark.parametrize("bad", BAD_NUMBERS)
def test_nan_and_infinity_are_refused_everywhere(
    w: World, tracking: tuple[UUID, UUID], bad: float
) -> None:
    _, obj = tracking
    num = w.kr(obj, "numeric", start=0, target=10)
    pct = w.kr(obj, "percentage")
    attempts: list[Callable[[], Any]] = [
        lambda: w.kr(obj, "numeric", start=bad, target=1),
        lambda: w.kr(obj, "numeric", start=0, target=bad),
        lambda: w.app.edit_key_result(ADMIN, EditKeyResult(obj, num, {"target": bad})),
        lambda: w.app.edit_key_result(ADMIN, EditKeyResult(obj, num, {"start": bad})),
        lambda: w.check_in(obj, num, current=bad),
        lambda: w.check_in(obj, pct, percent=bad),
        lambda: w.check_in(obj, pct, percent=10, confidence=bad),
        lambda: w.app.link_issue(
            ADMIN, LinkIssue(obj, pct, tracker="github", issue_key="acme/app#9", estimate=bad)
        ),
    ]
    for attempt in attempts:
        with refused(w, InvalidCommand, obj):
            attempt()


def test_negative_percent_and_estimate_are_refused(w: World, tracking: tuple[UUID, UUID]) -> None:
    _, obj = tracking
    pct = w.kr(obj)
    with refused(w, InvalidCommand, obj):
        w.check_in(obj, pct, percent=-1)
    with refused(w, InvalidCommand, obj):
        w.app.link_issue(ADMIN, LinkIssue(obj, pct, tracker="github", issue_key="a#1", estimate=-1))


def test_percent_above_100_is_kept_but_progress_is_clamped(
    w: World, tracking: tuple[UUID, UUID]
) -> None:
    _, obj = tracking
    pct = w.kr(obj)
    w.check_in(obj, pct, percent=140)
    kr = w.obj(obj).key_result(pct)
    assert (kr.percent, kr.progress()) == (140.0, 1.0)


@pytest.mark.parametrize("index", [3, -1, 99, True, "0", 1.0])
def test_milestone_index_out_of_range_or_not_an_int(
    w: World, tracking: tuple[UUID, UUID], index: Any
) -> None:
    _, obj = tracking
    kr = w.kr(obj, "milestone", milestones=["a", "b", "c"])
    with refused(w, InvalidCommand, obj):
        w.check_in(obj, kr, milestones_done=[0, index])
    assert [m["done"] for m in w.obj(obj).key_result(kr).milestones] == [False] * 3


def test_milestone_check_in_sets_exactly_the_named_ones(
    w: World, tracking: tuple[UUID, UUID]
) -> None:
    _, obj = tracking
    kr = w.kr(obj, "milestone", milestones=["a", "b", "c", "d"])
    w.check_in(obj, kr, milestones_done=[2, 0, 2])
    assert [m["done"] for m in w.obj(obj).key_result(kr).milestones] == [True, False, True, False]
    assert w.obj(obj).key_result(kr).progress() == pytest.approx(0.5)
    w.check_in(obj, kr, milestones_done=[1])  # indices of ALL done so far: 0 and 2 undone
    assert [m["done"] for m in w.obj(obj).key_result(kr).milestones] == [False, True, False, False]


def test_milestone_key_result_without_milestones_refuses_any_index(
    w: World, tracking: tuple[UUID, UUID]
) -> None:
    _, obj = tracking
    kr = w.kr(obj, "milestone")
    with refused(w, InvalidCommand, obj):
        w.check_in(obj, kr, milestones_done=[0])
    w.check_in(obj, kr, milestones_done=[])
    assert w.obj(obj).key_result(kr).progress() == 0.0


@pytest.mark.parametrize(
    ("mode", "values"),
    [
        ("percentage", {}),
        ("percentage", {"current": 3.0}),
        ("percentage", {"percent": 3.0, "current": 3.0}),
        ("numeric", {}),
        ("numeric", {"percent": 30.0}),
        ("numeric", {"milestones_done": [0]}),
        ("milestone", {}),
        ("milestone", {"percent": 30.0}),
        ("issues", {"percent": 30.0}),
        ("issues", {"current": 1.0}),
        ("aligned", {"percent": 30.0}),
        ("aligned", {"milestones_done": []}),
    ],
)
def test_check_in_value_must_match_the_mode(
    w: World, tracking: tuple[UUID, UUID], mode: str, values: dict[str, Any]
) -> None:
    _, obj = tracking
    extra: dict[str, Any] = {}
    if mode == "numeric":
        extra = {"start": 0.0, "target": 10.0}
    if mode == "milestone":
        extra = {"milestones": ["a"]}
    kr = w.kr(obj, mode, **extra)
    with refused(w, InvalidCommand, obj):
        w.check_in(obj, kr, **values)
    assert not w.obj(obj).key_result(kr).checked_in


@pytest.mark.parametrize("mode", ["issues", "aligned"])
def test_status_only_check_in_for_derived_modes(
    w: World, tracking: tuple[UUID, UUID], mode: str
) -> None:
    _, obj = tracking
    kr = w.kr(obj, mode)
    w.check_in(obj, kr, status="at_risk", confidence=0.4, note="waiting on review")
    k = w.obj(obj).key_result(kr)
    assert (k.status, k.confidence, k.checked_in) == ("at_risk", 0.4, True)


@pytest.mark.parametrize("confidence", [-0.01, 1.01, 2.0])
def test_confidence_must_be_between_0_and_1(
    w: World, tracking: tuple[UUID, UUID], confidence: float
) -> None:
    _, obj = tracking
    kr = w.kr(obj)
    with refused(w, InvalidCommand, obj):
        w.check_in(obj, kr, percent=10, confidence=confidence)


@pytest.mark.parametrize("confidence", [0.0, 1.0, 0.5, None])
def test_confidence_bounds_are_inclusive(
    w: World, tracking: tuple[UUID, UUID], confidence: float | None
) -> None:
    _, obj = tracking
    kr = w.kr(obj)
    w.check_in(obj, kr, percent=10, confidence=confidence)
    assert w.obj(obj).key_result(kr).confidence == confidence


def test_unknown_check_in_status_and_unknown_key_result(
    w: World, tracking: tuple[UUID, UUID]
) -> None:
    _, obj = tracking
    kr = w.kr(obj)
    with refused(w, InvalidCommand, obj):
        w.check_in(obj, kr, status="normal", percent=10)
    with refused(w, NotFound, obj):
        w.check_in(obj, uuid4(), percent=10)


def test_edit_key_result_patch_rules(w: World, drafting: tuple[UUID, UUID]) -> None:
    _, obj = drafting
    pct = w.kr(obj, assignee_id="asa", participant_ids=["pat"])
    with refused(w, InvalidCommand, obj):
        w.app.edit_key_result(
            ADMIN, EditKeyResult(obj, pct, {"weight": 3})
        )  # weights go through set_weights
    with refused(w, InvalidCommand, obj):
        w.app.edit_key_result(ADMIN, EditKeyResult(obj, pct, {"target": 3.0}))  # numeric only
    with refused(w, InvalidCommand, obj):
        w.app.edit_key_result(ADMIN, EditKeyResult(obj, pct, {"title": " "}))
    with refused(w, NotFound, obj):
        w.app.edit_key_result(ADMIN, EditKeyResult(obj, uuid4(), {"title": "x"}))
    version = w.version(obj)
    w.app.edit_key_result(
        ADMIN, EditKeyResult(obj, pct, {"participant_ids": ["pat", "pia", "pat"]})
    )
    k = w.obj(obj).key_result(pct)
    assert (k.assignee_id, k.participant_ids) == ("asa", ["pat", "pia"])
    assert w.version(obj) == version + 1
    w.app.edit_key_result(
        ADMIN, EditKeyResult(obj, pct, {"assignee_id": "asa"})
    )  # unchanged: no event
    assert w.version(obj) == version + 1


# ==================================================== weights and formulas


def three_krs(w: World, obj: UUID, percents: tuple[float, ...], weights: tuple[float, ...]):
    krs = [w.kr(obj, weight=wt, title=f"K{i}") for i, wt in enumerate(weights)]
    for kr, pct in zip(krs, percents, strict=True):
        w.check_in(obj, kr, percent=pct)
    return krs


def test_weights_not_named_keep_theirs(w: World, tracking: tuple[UUID, UUID]) -> None:
    _, obj = tracking
    k0, k1, k2 = three_krs(w, obj, (100, 50, 0), (1, 2, 3))
    assert w.obj(obj).progress() == pytest.approx((100 + 100 + 0) / 600)
    w.app.set_weights(ADMIN, SetWeights(obj, {k0: 5.0}))
    o = w.obj(obj)
    assert [o.key_result(k).weight for k in (k0, k1, k2)] == [5.0, 2.0, 3.0]
    assert o.progress() == pytest.approx((5 * 1 + 2 * 0.5) / 10)
    last = w.events(obj)[-1]
    assert type(last).__name__ == "WeightsChanged"
    assert last.weights == {str(k0): 5.0}


def test_set_weights_with_unchanged_values_writes_nothing(
    w: World, tracking: tuple[UUID, UUID]
) -> None:
    _, obj = tracking
    k0, k1, _ = three_krs(w, obj, (0, 0, 0), (1, 2, 3))
    version = w.version(obj)
    w.app.set_weights(ADMIN, SetWeights(obj, {k0: 1, k1: 2.0}))
    assert w.version(obj) == version


def test_set_weights_on_unknown_key_result_changes_none(
    w: World, tracking: tuple[UUID, UUID]
) -> None:
    _, obj = tracking
    k0, _, _ = three_krs(w, obj, (0, 0, 0), (1, 2, 3))
    with refused(w, NotFound, obj):
        w.app.set_weights(ADMIN, SetWeights(obj, {k0: 9.0, uuid4(): 1.0}))
    assert w.obj(obj).key_result(k0).weight == 1.0


def test_all_zero_weights_give_the_plain_mean(w: World, tracking: tuple[UUID, UUID]) -> None:
    _, obj = tracking
    k0, k1, k2 = three_krs(w, obj, (20, 80, 50), (1, 1, 1))
    w.app.set_weights(ADMIN, SetWeights(obj, {k0: 0, k1: 0, k2: 0}))
    assert w.obj(obj).progress() == pytest.approx(0.5)
    w.app.set_weights(ADMIN, SetWeights(obj, {k1: 1}))  # one non-zero weight: only it counts
    assert w.obj(obj).progress() == pytest.approx(0.8)


def test_objective_without_key_results_has_zero_progress(
    w: World, tracking: tuple[UUID, UUID]
) -> None:
    _, obj = tracking
    o = w.obj(obj)
    assert (o.progress(), o.status(), o.achievement_rate()) == (0.0, "on_track", None)


def test_archived_key_result_is_out_of_every_formula(w: World, tracking: tuple[UUID, UUID]) -> None:
    cycle, obj = tracking
    done = w.kr(obj, title="done", weight=3)
    open_ = w.kr(obj, title="open")
    w.check_in(obj, done, status="behind", percent=100)
    w.check_in(obj, open_, status="at_risk", percent=20)
    o = w.obj(obj)
    assert (o.progress(), o.status()) == (pytest.approx((3 + 0.2) / 4), "behind")

    w.app.archive_key_result(ADMIN, ArchiveKeyResult(obj, done))
    o = w.obj(obj)
    assert o.key_result(done).archived
    assert (o.progress(), o.status()) == (pytest.approx(0.2), "at_risk")

    w.advance(cycle, Phase.RETROSPECTIVE)
    w.app.record_retrospective(
        ADMIN,
        RecordRetrospective(obj, scores={done: 1.0}, problems="", improvements="", next_focus=""),
    )
    assert w.obj(obj).achievement_rate() == pytest.approx(0.2)


def test_archived_key_result_refuses_changes(w: World, tracking: tuple[UUID, UUID]) -> None:
    _, obj = tracking
    kr = w.kr(obj)
    w.kr(obj, title="other")
    w.app.archive_key_result(ADMIN, ArchiveKeyResult(obj, kr))
    for attempt in (
        lambda: w.check_in(obj, kr, percent=10),
        lambda: w.app.set_weights(ADMIN, SetWeights(obj, {kr: 2.0})),
        lambda: w.app.edit_key_result(ADMIN, EditKeyResult(obj, kr, {"title": "back"})),
        lambda: w.app.archive_key_result(ADMIN, ArchiveKeyResult(obj, kr)),
        lambda: w.app.link_issue(ADMIN, LinkIssue(obj, kr, tracker="github", issue_key="a#1")),
    ):
        with refused(w, Conflict, obj):
            attempt()


def test_archived_objective_refuses_changes(w: World, tracking: tuple[UUID, UUID]) -> None:
    cycle, obj = tracking
    kr = w.kr(obj)
    w.app.link_issue(ADMIN, LinkIssue(obj, kr, tracker="github", issue_key="a#1"))
    parent = w.objective(cycle, level="organization", title="Parent")
    w.app.archive_objective(ADMIN, ArchiveObjective(obj))
    assert w.obj(obj).archived
    attempts: list[Callable[[], Any]] = [
        lambda: w.app.edit_objective(ADMIN, EditObjective(obj, title="again")),
        lambda: w.app.align_objective(ADMIN, AlignObjective(obj, to_objective_id=parent)),
        lambda: w.app.archive_objective(ADMIN, ArchiveObjective(obj)),
        lambda: w.kr(obj),
        lambda: w.app.edit_key_result(ADMIN, EditKeyResult(obj, kr, {"title": "x"})),
        lambda: w.app.archive_key_result(ADMIN, ArchiveKeyResult(obj, kr)),
        lambda: w.app.set_weights(ADMIN, SetWeights(obj, {kr: 4.0})),
        lambda: w.check_in(obj, kr, percent=10),
        lambda: w.app.link_issue(ADMIN, LinkIssue(obj, kr, tracker="github", issue_key="a#2")),
        lambda: w.app.unlink_issue(ADMIN, UnlinkIssue(obj, kr, tracker="github", issue_key="a#1")),
    ]
    for attempt in attempts:
        with refused(w, Conflict, obj):
            attempt()
    w.advance(cycle, Phase.RETROSPECTIVE)
    with refused(w, Conflict, obj):
        w.app.record_retrospective(
            ADMIN, RecordRetrospective(obj, scores={}, problems="", improvements="", next_focus="")
        )


def test_archived_objective_cannot_be_aligned_to(w: World, drafting: tuple[UUID, UUID]) -> None:
    cycle, obj = drafting
    parent = w.objective(cycle, level="organization")
    parent_kr = w.kr(parent)
    w.app.archive_objective(ADMIN, ArchiveObjective(parent))
    with refused(w, Conflict, obj):
        w.app.align_objective(ADMIN, AlignObjective(obj, to_objective_id=parent))
    with refused(w, Conflict, obj):
        w.app.align_objective(ADMIN, AlignObjective(obj, to_key_result_id=parent_kr))


def test_archived_key_result_cannot_be_aligned_to(w: World, drafting: tuple[UUID, UUID]) -> None:
    cycle, obj = drafting
    parent = w.objective(cycle, level="organization")
    parent_kr = w.kr(parent)
    w.kr(parent, title="live")
    w.app.archive_key_result(ADMIN, ArchiveKeyResult(parent, parent_kr))
    with refused(w, Conflict, obj):
        w.app.align_objective(ADMIN, AlignObjective(obj, to_key_result_id=parent_kr))


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        ([None, None], "on_track"),
        (["on_track", None], "on_track"),
        (["on_track", "at_risk"], "at_risk"),
        (["behind", "at_risk", "on_track"], "behind"),
        (["postponed", "at_risk"], "at_risk"),
        (["postponed", None], "postponed"),
        (["postponed", "postponed"], "postponed"),
        (["postponed", "on_track"], "on_track"),
    ],
)
def test_objective_status_from_latest_key_result_statuses(
    w: World, tracking: tuple[UUID, UUID], statuses: list[str | None], expected: str
) -> None:
    _, obj = tracking
    for i, status in enumerate(statuses):
        kr = w.kr(obj, title=f"K{i}")
        if status is not None:
            w.check_in(obj, kr, status="behind", percent=1)  # an older, worse status ...
            w.check_in(obj, kr, status=status, percent=2)  # ... is replaced by the latest
    assert w.obj(obj).status() == expected


def test_achievement_rate_falls_back_to_progress_for_missing_scores(
    w: World, tracking: tuple[UUID, UUID]
) -> None:
    cycle, obj = tracking
    scored = w.kr(obj, weight=1, title="scored")
    unscored = w.kr(obj, weight=3, title="unscored")
    w.check_in(obj, scored, percent=10)
    w.check_in(obj, unscored, percent=50)
    assert w.obj(obj).achievement_rate() is None  # no retrospective yet
    w.advance(cycle, Phase.RETROSPECTIVE)
    w.app.record_retrospective(
        ADMIN,
        RecordRetrospective(
            obj,
            scores={scored: 1.0},
            problems="scope creep",
            improvements="smaller KRs",
            next_focus="quality",
        ),
    )
    o = w.obj(obj)
    assert o.achievement_rate() == pytest.approx((1 * 1.0 + 3 * 0.5) / 4)
    assert o.retrospective == {
        "scores": {str(scored): 1.0},
        "problems": "scope creep",
        "improvements": "smaller KRs",
        "next_focus": "quality",
    }


def test_achievement_rate_with_zero_weights_is_the_mean_of_scores(
    w: World, tracking: tuple[UUID, UUID]
) -> None:
    cycle, obj = tracking
    a = w.kr(obj, weight=0, title="a")
    b = w.kr(obj, weight=0, title="b")
    w.advance(cycle, Phase.RETROSPECTIVE)
    w.app.record_retrospective(
        ADMIN,
        RecordRetrospective(
            obj, scores={a: 0.2, b: 0.6}, problems="", improvements="", next_focus=""
        ),
    )
    assert w.obj(obj).achievement_rate() == pytest.approx(0.4)


@pytest.mark.parametrize("score", [-0.1, 1.0001, 2.0, *BAD_NUMBERS])
def test_scores_outside_0_1_are_refused(
    w: World, tracking: tuple[UUID, UUID], score: float
) -> None:
    cycle, obj = tracking
    kr = w.kr(obj)
    other = w.kr(obj, title="other")
    w.advance(cycle, Phase.RETROSPECTIVE)
    with refused(w, InvalidCommand, obj):
        w.app.record_retrospective(
            ADMIN,
            RecordRetrospective(
                obj, scores={other: 0.5, kr: score}, problems="", improvements="", next_focus=""
            ),
        )
    assert w.obj(obj).retrospective is None


@pytest.mark.parametrize("score", [0.0, 1.0])
def test_score_bounds_are_inclusive(w: World, tracking: tuple[UUID, UUID], score: float) -> None:
    cycle, obj = tracking
    kr = w.kr(obj)
    w.advance(cycle, Phase.RETROSPECTIVE)
    w.app.record_retrospective(
        ADMIN,
        RecordRetrospective(obj, scores={kr: score}, problems="", improvements="", next_focus=""),
    )
    assert w.obj(obj).achievement_rate() == score


def test_score_for_unknown_key_result_is_not_found(w: World, tracking: tuple[UUID, UUID]) -> None:
    cycle, obj = tracking
    w.kr(obj)
    w.advance(cycle, Phase.RETROSPECTIVE)
    with refused(w, NotFound, obj):
        w.app.record_retrospective(
            ADMIN,
            RecordRetrospective(
                obj, scores={uuid4(): 0.5}, problems="", improvements="", next_focus=""
            ),
        )


# ================================================================== notes


def test_notes_record_topic_author_and_text(w: World, drafting: tuple[UUID, UUID]) -> None:
    _, obj = drafting
    w.app.add_note(member("mo"), AddNote(obj, topic="coaching", text="  pair on it "))
    # SPEC §9: a note lives in its NoteAdded event (history, audit), not in the state
    (note,) = [e for e in w.events(obj) if isinstance(e, Objective.NoteAdded)]
    assert (note.topic, note.actor, note.text) == ("coaching", "mo", "pair on it")
    assert not hasattr(w.obj(obj), "notes")
    with refused(w, InvalidCommand, obj):
        w.app.add_note(ADMIN, AddNote(obj, topic="gossip", text="x"))
    with refused(w, InvalidCommand, obj):
        w.app.add_note(ADMIN, AddNote(obj, topic="career", text="   "))


# ============================================================== alignment


@pytest.fixture
def chain(w: World) -> tuple[UUID, UUID, UUID, UUID]:
    """Cycle in drafting and three objectives A, B, C, each with a key result."""
    cycle = w.cycle(Phase.DRAFTING)
    team = w.team()
    a, b, c = (w.objective(cycle, team_id=team, title=t) for t in "ABC")
    for o in (a, b, c):
        w.kr(o, title=f"kr of {o}")
    return cycle, a, b, c


def kr_of(w: World, objective_id: UUID) -> UUID:
    return UUID(next(iter(w.obj(objective_id).key_results)))


def test_alignment_cycle_through_objectives_is_refused(
    w: World, chain: tuple[UUID, UUID, UUID, UUID]
) -> None:
    _, a, b, c = chain
    w.app.align_objective(ADMIN, AlignObjective(a, to_objective_id=b))
    w.app.align_objective(ADMIN, AlignObjective(b, to_objective_id=c))
    with refused(w, AlignmentCycle, a, b, c):
        w.app.align_objective(ADMIN, AlignObjective(c, to_objective_id=a))
    with refused(w, AlignmentCycle, c):
        w.app.align_objective(ADMIN, AlignObjective(c, to_key_result_id=kr_of(w, a)))
    assert w.obj(c).parent_id is None


def test_alignment_cycle_through_key_results_is_refused(
    w: World, chain: tuple[UUID, UUID, UUID, UUID]
) -> None:
    _, a, b, _ = chain
    w.app.align_objective(ADMIN, AlignObjective(a, to_key_result_id=kr_of(w, b)))
    assert w.obj(a).parent_id == b
    with refused(w, AlignmentCycle, a, b):
        w.app.align_objective(ADMIN, AlignObjective(b, to_objective_id=a))
    with refused(w, AlignmentCycle, a, b):
        w.app.align_objective(ADMIN, AlignObjective(b, to_key_result_id=kr_of(w, a)))


def test_mixed_alignment_chain_cycle_is_refused(
    w: World, chain: tuple[UUID, UUID, UUID, UUID]
) -> None:
    _, a, b, c = chain
    w.app.align_objective(ADMIN, AlignObjective(a, to_objective_id=b))  # A -> B
    w.app.align_objective(ADMIN, AlignObjective(b, to_key_result_id=kr_of(w, c)))  # B -> kr(C)
    with refused(w, AlignmentCycle, c):
        w.app.align_objective(ADMIN, AlignObjective(c, to_key_result_id=kr_of(w, a)))  # C -> kr(A)


@pytest.mark.parametrize("via", ["objective", "key_result"])
def test_objective_cannot_align_to_itself(
    w: World, chain: tuple[UUID, UUID, UUID, UUID], via: str
) -> None:
    _, a, _, _ = chain
    target = {"to_objective_id": a} if via == "objective" else {"to_key_result_id": kr_of(w, a)}
    with refused(w, (AlignmentCycle, InvalidCommand), a):  # type: ignore[arg-type]
        w.app.align_objective(ADMIN, AlignObjective(a, **target))


def test_realignment_and_unalignment_are_allowed(
    w: World, chain: tuple[UUID, UUID, UUID, UUID]
) -> None:
    _, a, b, c = chain
    w.app.align_objective(ADMIN, AlignObjective(a, to_objective_id=b))
    w.app.align_objective(ADMIN, AlignObjective(b, to_objective_id=c))
    w.app.align_objective(
        ADMIN, AlignObjective(a, to_key_result_id=kr_of(w, c))
    )  # move A under C's KR
    o = w.obj(a)
    assert (o.aligned_to_objective_id, o.aligned_to_key_result_id, o.parent_id) == (
        None,
        kr_of(w, c),
        c,
    )
    w.app.align_objective(ADMIN, AlignObjective(a))  # neither: unaligned
    o = w.obj(a)
    assert (o.aligned_to_objective_id, o.aligned_to_key_result_id, o.parent_id) == (
        None,
        None,
        None,
    )
    version = w.version(a)
    w.app.align_objective(ADMIN, AlignObjective(a))  # unchanged: no event
    assert w.version(a) == version


def test_align_to_both_objective_and_key_result_is_refused(
    w: World, chain: tuple[UUID, UUID, UUID, UUID]
) -> None:
    cycle, a, b, c = chain
    team = w.obj(a).owner_team_id
    with refused(w, InvalidCommand, a):
        w.app.align_objective(
            ADMIN, AlignObjective(a, to_objective_id=b, to_key_result_id=kr_of(w, c))
        )
    with refused(w, InvalidCommand):
        w.objective(
            cycle,
            team_id=team,
            level="organization",
            aligned_to_objective_id=b,
            aligned_to_key_result_id=kr_of(w, c),
        )


def test_draft_aligned_to_key_result_sets_the_tree_parent(
    w: World, chain: tuple[UUID, UUID, UUID, UUID]
) -> None:
    cycle, a, _, _ = chain
    child = w.objective(cycle, owner_user_id="olly", aligned_to_key_result_id=kr_of(w, a))
    o = w.obj(child)
    assert (o.aligned_to_key_result_id, o.parent_id) == (kr_of(w, a), a)


def test_alignment_across_organizations_is_not_found(
    w: World, chain: tuple[UUID, UUID, UUID, UUID]
) -> None:
    _, a, b, _ = chain
    other = World(w.app, admin=OTHER_ADMIN)
    other_cycle = other.cycle(Phase.DRAFTING)
    foreign = other.objective(other_cycle)
    foreign_kr = other.kr(foreign)
    with refused(w, NotFound, a, foreign):
        w.app.align_objective(ADMIN, AlignObjective(a, to_objective_id=foreign))
    with refused(w, NotFound, a, foreign):
        w.app.align_objective(ADMIN, AlignObjective(a, to_key_result_id=foreign_kr))
    with refused(w, NotFound, a):
        w.app.align_objective(ADMIN, AlignObjective(a, to_key_result_id=uuid4()))
    with refused(w, NotFound, foreign):
        other.app.draft_objective(
            OTHER_ADMIN,
            DraftObjective(
                cycle_id=other_cycle,
                title="x",
                level="individual",
                owner_user_id="x",
                aligned_to_objective_id=b,
            ),
        )
    # and the other org's admin cannot re-align our objectives either
    with refused(w, NotFound, a):
        w.app.align_objective(OTHER_ADMIN, AlignObjective(a, to_objective_id=foreign))


def test_alignment_across_cycles_is_refused(w: World, chain: tuple[UUID, UUID, UUID, UUID]) -> None:
    _, a, _, _ = chain
    next_cycle = w.cycle(Phase.DRAFTING, name="Q2")
    elsewhere = w.objective(next_cycle, level="organization")
    elsewhere_kr = w.kr(elsewhere)
    with refused(w, InvalidCommand, a):
        w.app.align_objective(ADMIN, AlignObjective(a, to_objective_id=elsewhere))
    with refused(w, InvalidCommand, a):
        w.app.align_objective(ADMIN, AlignObjective(a, to_key_result_id=elsewhere_kr))
    with refused(w, InvalidCommand):
        w.objective(next_cycle, owner_user_id="olly", aligned_to_objective_id=a)


# ========================================================= If-Match, Written


def test_expected_version_gives_if_match_semantics(w: World, tracking: tuple[UUID, UUID]) -> None:
    _, obj = tracking
    kr = w.kr(obj)
    version = w.version(obj)
    with refused(w, VersionMismatch, obj):
        w.app.check_in(
            ADMIN, CheckIn(obj, kr, percent=10, status="on_track", expected_version=version - 1)
        )
    with refused(w, VersionMismatch, obj):
        w.app.add_key_result(
            ADMIN, AddKeyResult(obj, title="x", mode="percentage", expected_version=1)
        )
    with refused(w, VersionMismatch, obj):
        w.app.link_issue(
            ADMIN,
            LinkIssue(obj, kr, tracker="github", issue_key="a#1", expected_version=version + 1),
        )
    written = w.app.check_in(
        ADMIN, CheckIn(obj, kr, percent=10, status="on_track", expected_version=version)
    )
    assert written.version == version + 1
    assert written.position == w.position()


def test_written_positions_increase(w: World, tracking: tuple[UUID, UUID]) -> None:
    _, obj = tracking
    kr = w.kr(obj)
    positions = [
        w.app.check_in(ADMIN, CheckIn(obj, kr, percent=p, status="on_track")).position
        for p in (1, 2, 3)
    ]
    assert positions == sorted(set(positions))
    assert positions[-1] == w.position()


# ======================================================== events and audit


def test_every_event_carries_the_acting_user(w: World) -> None:
    """SPEC §2: every event records the acting user (``actor``) and the time."""
    cycle = w.cycle(Phase.LAUNCH)
    w.app.advance_cycle_phase(ADMIN, AdvanceCyclePhase(cycle, "drafting"))
    team = w.team(managers=["mia"])
    mia, asa, mo = member("mia"), member("asa"), member("mo")
    app = w.app
    obj = app.draft_objective(
        mia, DraftObjective(cycle_id=cycle, title="T", level="team", owner_team_id=team)
    ).id
    parent = w.objective(cycle, team_id=team, level="organization")
    kr = w.kr(obj, assignee_id="asa", actor=mia)
    kr2 = w.kr(obj, "numeric", start=0, target=4, actor=mia)
    app.edit_objective(mia, EditObjective(obj, description="why"))
    app.align_objective(mia, AlignObjective(obj, to_objective_id=parent))
    app.edit_key_result(mia, EditKeyResult(obj, kr2, {"unit": "pcs"}))
    app.set_weights(mia, SetWeights(obj, {kr2: 2.0}))
    app.link_issue(asa, LinkIssue(obj, kr, tracker="github", issue_key="a#1"))
    app.link_issue(asa, LinkIssue(obj, kr, tracker="github", issue_key="a#2"))
    app.unlink_issue(asa, UnlinkIssue(obj, kr, tracker="github", issue_key="a#2"))
    app.add_note(mo, AddNote(obj, topic="progress", text="hi"))
    app.advance_cycle_phase(ADMIN, AdvanceCyclePhase(cycle, "tracking"))
    app.check_in(asa, CheckIn(obj, kr, percent=40, status="on_track"))
    app.report_issue_event(ADMIN, report("ev-1", "done", issue_key="a#1"))
    app.archive_key_result(mia, ArchiveKeyResult(obj, kr2))
    app.advance_cycle_phase(ADMIN, AdvanceCyclePhase(cycle, "retrospective"))
    app.record_retrospective(
        mia, RecordRetrospective(obj, scores={}, problems="", improvements="", next_focus="")
    )

    expected_actor = {
        "Drafted": "mia",
        "KeyResultAdded": "mia",
        "Edited": "mia",
        "Realigned": "mia",
        "KeyResultEdited": "mia",
        "WeightsChanged": "mia",
        "IssueLinked": "asa",
        "IssueUnlinked": "asa",
        "NoteAdded": "mo",
        "KeyResultCheckedIn": "asa",
        "IssueStatusChanged": "ada",
        "KeyResultArchived": "mia",
        "RetrospectiveRecorded": "mia",
    }
    events = w.events(obj)
    assert {type(e).__name__ for e in events} == set(expected_actor)
    for e in events:
        assert e.actor == expected_actor[type(e).__name__], type(e).__name__
        assert e.timestamp.tzinfo is not None
    for aggregate_id in (cycle, team, parent):
        for e in w.events(aggregate_id):
            assert e.actor == "ada", type(e).__name__
    assert w.obj(obj).key_result(kr).issues["github:a#1"]["status"] == "done"
    issue_events = w.events(issue_id("acme", "github", "a#1"))
    assert [type(e).__name__ for e in issue_events] == ["Registered", "Linked", "StatusReported"]
    assert [e.actor for e in issue_events] == ["asa", "asa", "ada"]


def test_key_result_locator_event_carries_the_actor(w: World) -> None:
    cycle = w.cycle(Phase.DRAFTING)
    obj = w.objective(cycle)
    kr = w.kr(obj)
    (registered,) = w.events(kr)
    assert registered.actor == "ada"


def test_issue_status_events_carry_the_issue_event_id(
    w: World, tracking: tuple[UUID, UUID]
) -> None:
    _, obj = tracking
    kr = w.kr(obj, "issues")
    w.app.link_issue(ADMIN, LinkIssue(obj, kr, tracker="github", issue_key="acme/app#1"))
    w.app.report_issue_event(ADMIN, report("gh-delivery-7f3a", "in_progress"))
    w.app.report_issue_event(ADMIN, report("gh-delivery-8b4c", "done", minutes=5))
    changes = [e for e in w.events(obj) if type(e).__name__ == "IssueStatusChanged"]
    assert [(e.event_id, e.status, e.key_result_id) for e in changes] == [
        ("gh-delivery-7f3a", "in_progress", kr),
        ("gh-delivery-8b4c", "done", kr),
    ]


def test_past_versions_are_reconstructed_from_the_store(
    w: World, tracking: tuple[UUID, UUID]
) -> None:
    _, obj = tracking
    kr = w.kr(obj)
    for percent in (10, 40, 70):
        w.check_in(obj, kr, percent=percent)
    now = w.version(obj)
    for back, percent in enumerate((70, 40, 10)):
        past = w.app.repository.get(obj, version=now - back)
        assert past.key_result(kr).percent == percent
    assert w.app.repository.get(obj, version=2).key_result(kr).checked_in is False


def test_snapshots_give_the_same_state_as_replaying_every_event(
    w: World, tracking: tuple[UUID, UUID]
) -> None:
    """Objectives are snapshotted every 100 events; a snapshot must not change the state."""
    cycle, obj = tracking
    pct = w.kr(obj, assignee_id="asa", participant_ids=["pat"])
    ms = w.kr(obj, "milestone", milestones=["a", "b"], weight=2)
    w.app.link_issue(ADMIN, LinkIssue(obj, pct, tracker="github", issue_key="a#1", estimate=2))
    for i in range(110):
        w.check_in(obj, pct, percent=i, confidence=0.5)
    w.check_in(obj, ms, milestones_done=[1], status="at_risk")
    assert w.app.snapshots is not None
    assert list(w.app.snapshots.get(obj)), "no snapshot was taken"
    w.advance(cycle, Phase.RETROSPECTIVE)
    w.app.record_retrospective(
        ADMIN,
        RecordRetrospective(obj, scores={ms: 0.25}, problems="p", improvements="i", next_focus="n"),
    )
    loaded = w.obj(obj)
    replayed = project_aggregate(None, w.app.events.get(obj))
    assert isinstance(replayed, Objective)
    assert loaded.version == replayed.version
    assert loaded.key_results == replayed.key_results
    assert (loaded.progress(), loaded.status(), loaded.achievement_rate()) == (
        replayed.progress(),
        replayed.status(),
        replayed.achievement_rate(),
    )
    for name in ("cycle_id", "owner_team_id", "retrospective", "visibility"):
        assert getattr(loaded, name) == getattr(replayed, name), name
