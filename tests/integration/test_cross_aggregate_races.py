"""Rules that span aggregates hold under concurrency (SPEC §10), on SQLite and PostgreSQL.

Each test forces one interleaving with ``OkrApplication.before_save`` (called
after a command's checks, just before its events are inserted): two
applications on one store stand for two API workers. Without the assertion of
what a command read (commands/reads.py), every one of these writes a state the
rules forbid: a loop of aligned objectives, or a write after the phase change
that forbids it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from commands.application import OkrApplication
from commands.issue_event import IssueEvent
from commands.messages import (
    AdvanceCyclePhase,
    AlignObjective,
    ArchiveObjective,
    CheckIn,
    DraftObjective,
    EditKeyResult,
    LinkIssue,
)
from domain.alignment import alignment_cycles
from domain.cycle import Cycle
from domain.errors import (
    AlignmentCycle,
    AlignmentTooDeep,
    Conflict,
    DomainError,
    PhaseRuleViolation,
)
from domain.objective import Objective
from domain.values import Phase
from entrypoints.settings import Settings
from tests.builders import ADMIN, INTEGRATION, World

WAIT = 60  # seconds: only a hung test ever waits this long

Opener = Callable[..., OkrApplication]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def open_app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    """Opens another application (another "worker") on one store of each backend."""
    if request.param == "sqlite":
        env = Settings(data_dir=tmp_path, database_url=None).eventsourcing_env()
    else:
        url = request.getfixturevalue("pg_url")
        env = Settings(database_url=url, data_dir=tmp_path).eventsourcing_env()
    opened: list[OkrApplication] = []

    def opener(**extra: str) -> OkrApplication:
        app = OkrApplication(env={**env, **extra})
        opened.append(app)
        return app

    try:
        yield opener
    finally:
        for app in opened:
            app.close()


def first_save_only(pause: Callable[[], object]) -> Callable[[], None]:
    """A ``before_save`` hook pausing the first save only (a retry goes straight on)."""
    calls = 0

    def hook() -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            pause()

    return hook


def in_thread(work: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    """Run ``work`` in a thread; the list gets its result or the error it raised."""
    outcome: list[Any] = []

    def body() -> None:
        try:
            outcome.append(work())
        except BaseException as error:  # examined by the test
            outcome.append(error)

    thread = threading.Thread(target=body)
    thread.start()
    return thread, outcome


def joined(thread: threading.Thread, outcome: list[Any]) -> Any:
    thread.join(WAIT)
    assert not thread.is_alive(), "a command hung"
    return outcome[0]


def log(app: OkrApplication) -> list[tuple[int, UUID, str]]:
    """The whole event log in order: (position, aggregate id, event topic)."""
    notes = app.recorder.select_notifications(start=1, limit=100_000)
    return [(int(n.id), UUID(str(n.originator_id)), n.topic) for n in notes]


def parents(app: OkrApplication, ids: list[UUID]) -> dict[UUID, UUID | None]:
    found: dict[UUID, UUID | None] = {}
    for objective_id in ids:
        objective = app.repository.get(objective_id)
        assert isinstance(objective, Objective)
        found[objective_id] = objective.parent_id
    return found


# ---------------------------------------------------------------- alignment loops


@pytest.mark.parametrize("loop", [2, 3], ids=["two", "three"])
def test_two_realignments_that_together_close_a_loop(open_app: Opener, loop: int) -> None:
    """Both past their checks before either saves: exactly one is saved, the other
    answers AlignmentCycle, and the stored alignments hold no loop.

    two: X under Y and Y under X. three: X already under Y; then Y under Z and
    Z under X at once.
    """
    first, second = open_app(), open_app()
    w = World(first)
    cycle = w.cycle(Phase.DRAFTING)
    team = w.team()
    x, y, z = (w.objective(cycle, team_id=team, title=t) for t in ("X", "Y", "Z"))
    if loop == 2:
        moves = [AlignObjective(x, to_objective_id=y), AlignObjective(y, to_objective_id=x)]
    else:
        first.align_objective(ADMIN, AlignObjective(x, to_objective_id=y))
        moves = [AlignObjective(y, to_objective_id=z), AlignObjective(z, to_objective_id=x)]
    both_checked = threading.Barrier(2, timeout=WAIT)
    for app in (first, second):
        app.before_save = first_save_only(both_checked.wait)

    racing = [
        in_thread(lambda app=app, move=move: app.align_objective(ADMIN, move))  # type: ignore[misc]
        for app, move in zip((first, second), moves, strict=True)
    ]
    outcomes = [joined(thread, outcome) for thread, outcome in racing]

    refused = [o for o in outcomes if isinstance(o, BaseException)]
    assert len(refused) == 1, outcomes
    assert isinstance(refused[0], AlignmentCycle), refused[0]
    reader = open_app()
    assert alignment_cycles(parents(reader, [x, y, z])) == set()


def test_joining_below_an_objective_that_moves_down_meanwhile_is_too_deep(
    open_app: Opener,
) -> None:
    """Depth limit 3: A (with D below it) moves under B while C joins below D. Each
    alone makes a chain of 3; together B-A-D-C is 4. C is past its check when A's
    move is saved: C runs again, walks up D-A-B and is refused."""
    first, second = open_app(OKR_MAX_ALIGNMENT_DEPTH="3"), open_app(OKR_MAX_ALIGNMENT_DEPTH="3")
    w = World(first)
    cycle = w.cycle(Phase.DRAFTING)
    team = w.team()
    a, b, c = (w.objective(cycle, team_id=team, title=t) for t in ("A", "B", "C"))
    d = w.objective(cycle, team_id=team, title="D", aligned_to_objective_id=a)
    checked, moved = threading.Event(), threading.Event()

    def pause() -> None:
        checked.set()
        assert moved.wait(WAIT)

    first.before_save = first_save_only(pause)
    thread, outcome = in_thread(
        lambda: first.align_objective(ADMIN, AlignObjective(c, to_objective_id=d))
    )
    assert checked.wait(WAIT)
    second.align_objective(ADMIN, AlignObjective(a, to_objective_id=b))
    moved.set()

    assert isinstance(joined(thread, outcome), AlignmentTooDeep)
    assert parents(open_app(), [a, b, c, d]) == {a: b, b: None, c: None, d: a}


def test_aligning_below_an_objective_archived_meanwhile_is_refused(open_app: Opener) -> None:
    """X is past its checks to go below Y when Y is archived: X runs again and is
    refused (an archived objective takes no new alignment)."""
    first, second = open_app(), open_app()
    w = World(first)
    cycle = w.cycle(Phase.DRAFTING)
    team = w.team()
    x, y = (w.objective(cycle, team_id=team, title=t) for t in ("X", "Y"))
    checked, archived = threading.Event(), threading.Event()

    def pause() -> None:
        checked.set()
        assert archived.wait(WAIT)

    first.before_save = first_save_only(pause)
    thread, outcome = in_thread(
        lambda: first.align_objective(ADMIN, AlignObjective(x, to_objective_id=y))
    )
    assert checked.wait(WAIT)
    second.archive_objective(ADMIN, ArchiveObjective(y))
    archived.set()

    refused = joined(thread, outcome)
    assert isinstance(refused, Conflict) and "archived" in refused.message, refused
    assert parents(open_app(), [x])[x] is None


def test_check_ins_above_do_not_send_a_realignment_round_again(open_app: Opener) -> None:
    """Only a re-alignment of an objective above changes the alignment walk: a check-in
    on the new parent between the check and the save costs the re-alignment nothing
    (it is saved at its first attempt), so busy objectives above cannot starve it."""
    first, second = open_app(), open_app()
    w = World(first)
    cycle = w.cycle(Phase.TRACKING)
    team = w.team()
    x, y = (w.objective(cycle, team_id=team, title=t) for t in ("X", "Y"))
    kr = w.kr(y)
    saves = 0
    checked, checked_in = threading.Event(), threading.Event()

    def pause() -> None:
        nonlocal saves
        saves += 1
        if saves == 1:
            checked.set()
            assert checked_in.wait(WAIT)

    first.before_save = pause
    thread, outcome = in_thread(
        lambda: first.align_objective(ADMIN, AlignObjective(x, to_objective_id=y))
    )
    assert checked.wait(WAIT)
    second.check_in(ADMIN, CheckIn(y, kr, status="on_track", percent=30))
    checked_in.set()

    assert not isinstance(joined(thread, outcome), BaseException)
    assert saves == 1
    assert parents(open_app(), [x])[x] == y


# --------------------------------------------------------------- phase changes


def tracking_objective(w: World) -> tuple[UUID, UUID, UUID]:
    """A cycle in tracking with one objective and one key result."""
    cycle = w.cycle(Phase.TRACKING)
    objective = w.objective(cycle)
    return cycle, objective, w.kr(objective)


def phase_gated(
    name: str, w: World, cycle: UUID, objective: UUID, kr: UUID
) -> Callable[[OkrApplication], object]:
    """The gated commands of the test below, each as one call on an application."""
    if name == "check_in":
        return lambda app: app.check_in(
            ADMIN, CheckIn(objective, kr, status="on_track", percent=40)
        )
    if name == "edit_key_result":
        return lambda app: app.edit_key_result(
            ADMIN, EditKeyResult(objective, kr, changes={"title": "Renamed"})
        )
    if name == "draft_objective":
        team = w.team(name="Late")
        return lambda app: app.draft_objective(
            ADMIN,
            DraftObjective(
                cycle_id=cycle,
                title="Late one",
                level="team",
                owner_team_id=team,
                aligned_to_objective_id=objective,
            ),
        )
    assert name == "link_issue"
    return lambda app: app.link_issue(
        ADMIN, LinkIssue(objective, kr, tracker="github", issue_key="acme/app#9")
    )


@pytest.mark.parametrize(
    "command", ["check_in", "edit_key_result", "draft_objective", "link_issue"]
)
def test_a_gated_command_past_its_check_while_the_cycle_moves_on_is_refused(
    open_app: Opener, command: str
) -> None:
    """The command has passed its phase check when the cycle moves to retrospective:
    it is refused by the new phase, and nothing of it follows the phase change."""
    worker, admin_worker = open_app(), open_app()
    w = World(worker)
    cycle, objective, kr = tracking_objective(w)
    run = phase_gated(command, w, cycle, objective, kr)
    checked, moved_on = threading.Event(), threading.Event()

    def pause() -> None:
        checked.set()
        assert moved_on.wait(WAIT)

    worker.before_save = first_save_only(pause)
    thread, outcome = in_thread(lambda: run(worker))
    assert checked.wait(WAIT)
    phase = admin_worker.advance_cycle_phase(
        ADMIN, AdvanceCyclePhase(cycle, Phase.RETROSPECTIVE.value)
    )
    moved_on.set()
    result = joined(thread, outcome)

    assert isinstance(result, PhaseRuleViolation), result
    after = [entry for entry in log(admin_worker) if entry[0] > phase.position]
    assert after == [], after


def test_an_issue_event_past_its_check_while_the_cycle_closes_moves_no_key_result(
    open_app: Opener,
) -> None:
    """Issue progress is allowed in retrospective, not once closed: an event applied
    concurrently with closing records the issue's status but moves no key result
    after the close."""
    worker, admin_worker = open_app(), open_app()
    w = World(worker)
    cycle, objective, kr = tracking_objective(w)
    worker.link_issue(ADMIN, LinkIssue(objective, kr, tracker="github", issue_key="acme/app#1"))
    w.advance(cycle, Phase.RETROSPECTIVE)
    checked, moved_on = threading.Event(), threading.Event()

    def pause() -> None:
        checked.set()
        assert moved_on.wait(WAIT)

    worker.before_save = first_save_only(pause)
    event = IssueEvent(
        event_id="e1",
        tracker="github",
        issue_key="acme/app#1",
        status="done",
        occurred_at=datetime.now(UTC) - timedelta(minutes=1),
    )
    thread, outcome = in_thread(lambda: worker.report_issue_event(INTEGRATION, event))
    assert checked.wait(WAIT)
    closed = admin_worker.advance_cycle_phase(ADMIN, AdvanceCyclePhase(cycle, Phase.CLOSED.value))
    moved_on.set()
    result = joined(thread, outcome)

    assert not isinstance(result, BaseException), result
    assert result.moved_objectives == []
    moved_after = [e for e in log(admin_worker) if e[0] > closed.position and e[1] == objective]
    assert moved_after == []
    cycle_now = admin_worker.repository.get(cycle)
    assert isinstance(cycle_now, Cycle) and cycle_now.phase is Phase.CLOSED


def test_a_command_not_racing_anything_saves_at_its_first_attempt(open_app: Opener) -> None:
    """The assertion costs no retry when nothing it read has moved (a check-in's cycle)."""
    worker = open_app()
    w = World(worker)
    _, objective, kr = tracking_objective(w)
    saves = 0

    def count() -> None:
        nonlocal saves
        saves += 1

    worker.before_save = count
    worker.check_in(ADMIN, CheckIn(objective, kr, status="on_track", percent=10))
    assert saves == 1


def test_domain_errors_are_not_swallowed_by_the_retry(open_app: Opener) -> None:
    """A refused command is refused at once, racing or not."""
    worker = open_app()
    w = World(worker)
    cycle, objective, kr = tracking_objective(w)
    w.advance(cycle, Phase.RETROSPECTIVE)
    with pytest.raises(DomainError):
        worker.check_in(ADMIN, CheckIn(objective, kr, status="on_track", percent=10))
