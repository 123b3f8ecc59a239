"""Issue-status ingestion on the write side (SPEC §4): idempotency, ordering, phases.

In-memory store. ``report_issue_event`` / ``apply_issue_events`` record the
report on the Issue aggregate and move the linked key results in the same save.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import pytest

from commands.application import OkrApplication
from commands.issue_event import IssueEvent
from commands.issues import IssueCache
from commands.messages import ArchiveObjective, LinkIssue, UnlinkIssue
from domain.errors import InvalidCommand
from domain.issue import issue_id
from domain.values import Phase
from tests.builders import (
    ADMIN,
    INTEGRATION,
    MEMORY_ENV,
    OTHER_ADMIN,
    World,
    memory_app,
    report,
)

KEY = "acme/app#1"
REF = f"github:{KEY}"


@pytest.fixture
def app() -> OkrApplication:
    return memory_app()


@pytest.fixture
def w(app: OkrApplication) -> World:
    return World(app)


def setup_linked(
    w: World, phase: Phase = Phase.TRACKING, keys: tuple[str, ...] = (KEY,)
) -> tuple[UUID, UUID, UUID]:
    """An issues-mode KR with ``keys`` linked during drafting, then the cycle moved on."""
    cycle = w.cycle(Phase.DRAFTING)
    obj = w.objective(cycle)
    kr = w.kr(obj, "issues")
    for key in keys:
        w.app.link_issue(ADMIN, LinkIssue(obj, kr, tracker="github", issue_key=key))
    w.advance(cycle, phase)
    return cycle, obj, kr


def linked(w: World, obj: UUID, kr: UUID, key: str = KEY) -> dict[str, object]:
    return dict(w.obj(obj).key_result(kr).issues[f"github:{key}"])


def issue(w: World, key: str = KEY, org: str = "acme"):
    return w.get(issue_id(org, "github", key))


def test_event_moves_the_linked_key_result(w: World) -> None:
    _, obj, kr = setup_linked(w, keys=(KEY, "acme/app#2"))
    outcome = w.app.report_issue_event(INTEGRATION, report("ev-1", "done"))
    assert (outcome.duplicate, outcome.applied, outcome.moved_objectives) == (False, True, [obj])
    assert outcome.issue_id == issue_id("acme", "github", KEY)
    assert outcome.position == w.position()
    assert outcome.version == w.version(outcome.issue_id)
    assert linked(w, obj, kr)["status"] == "done"
    assert w.obj(obj).progress() == pytest.approx(0.5)
    assert issue(w).status == "done"


def test_duplicate_event_id_changes_nothing(w: World) -> None:
    _, obj, kr = setup_linked(w)
    w.app.report_issue_event(INTEGRATION, report("ev-1", "in_progress"))
    before = (w.position(), w.version(obj), w.version(issue(w).id))
    # the same delivery again, even claiming another status and a later time
    again = w.app.report_issue_event(INTEGRATION, report("ev-1", "done", minutes=60))
    assert (again.duplicate, again.applied, again.moved_objectives) == (True, False, [])
    assert (w.position(), w.version(obj), w.version(issue(w).id)) == before
    assert linked(w, obj, kr)["status"] == "in_progress"
    assert issue(w).status == "in_progress"


def test_older_event_is_recorded_but_does_not_overwrite_a_newer_status(w: World) -> None:
    _, obj, kr = setup_linked(w)
    w.app.report_issue_event(INTEGRATION, report("ev-new", "done", minutes=10))
    obj_version = w.version(obj)
    late = w.app.report_issue_event(INTEGRATION, report("ev-old", "in_progress", minutes=5))
    assert (late.duplicate, late.applied, late.moved_objectives) == (False, False, [])
    assert issue(w).status == "done"
    assert linked(w, obj, kr)["status"] == "done"
    assert w.version(obj) == obj_version
    reported = [e for e in w.events(issue(w).id) if type(e).__name__ == "StatusReported"]
    assert [(e.event_id, e.status, e.applied) for e in reported] == [
        ("ev-new", "done", True),
        ("ev-old", "in_progress", False),
    ]
    # recorded means remembered: delivering the old one again is a duplicate
    assert w.app.report_issue_event(INTEGRATION, report("ev-old", "todo", minutes=5)).duplicate


def test_event_at_the_same_instant_is_not_older(w: World) -> None:
    _, obj, kr = setup_linked(w)
    w.app.report_issue_event(INTEGRATION, report("ev-1", "in_progress", minutes=10))
    same = w.app.report_issue_event(INTEGRATION, report("ev-2", "done", minutes=10))
    assert same.applied
    assert linked(w, obj, kr)["status"] == "done"


def test_cancelled_issues_are_excluded_from_issues_progress(w: World) -> None:
    keys = ("a#1", "a#2", "a#3")
    _, obj, kr = setup_linked(w, keys=keys)
    w.app.apply_issue_events(
        INTEGRATION,
        [
            report("e1", "done", issue_key="a#1", estimate=1),
            report("e2", "todo", issue_key="a#2", estimate=2),
            report("e3", "cancelled", issue_key="a#3", estimate=3),
        ],
    )
    assert w.obj(obj).key_result(kr).progress() == pytest.approx(1 / 3)
    w.app.report_issue_event(INTEGRATION, report("e4", "cancelled", issue_key="a#2", minutes=1))
    assert w.obj(obj).key_result(kr).progress() == pytest.approx(1.0)
    w.app.report_issue_event(INTEGRATION, report("e5", "cancelled", issue_key="a#1", minutes=1))
    assert w.obj(obj).key_result(kr).progress() == 0.0  # nothing left to do: 0, not NaN


def test_report_estimate_updates_the_linked_estimate(w: World) -> None:
    _, obj, kr = setup_linked(w, keys=("a#1", "a#2"))
    w.app.report_issue_event(INTEGRATION, report("e1", "done", issue_key="a#1", estimate=3))
    assert linked(w, obj, kr, "a#1")["estimate"] == 3.0
    assert w.obj(obj).progress() == pytest.approx(3 / 4)
    # a later report without an estimate keeps the known one
    w.app.report_issue_event(INTEGRATION, report("e2", "todo", issue_key="a#1", minutes=1))
    assert linked(w, obj, kr, "a#1")["estimate"] == 3.0


def test_a_cleared_estimate_falls_back_to_the_one_given_when_linking(w: World) -> None:
    """SPEC §16. Seen failing before issue 16: a cleared estimate (None) kept 3."""
    cycle = w.cycle(Phase.DRAFTING)
    obj = w.objective(cycle)
    kr = w.kr(obj, "issues")
    w.app.link_issue(ADMIN, LinkIssue(obj, kr, tracker="github", issue_key="a#1", estimate=5))
    w.app.link_issue(ADMIN, LinkIssue(obj, kr, tracker="github", issue_key="a#2"))
    w.advance(cycle, Phase.TRACKING)
    for key, minutes in (("a#1", 0), ("a#2", 0)):
        w.app.report_issue_event(
            INTEGRATION, report(f"set-{key}", "todo", issue_key=key, estimate=3, minutes=minutes)
        )
    assert linked(w, obj, kr, "a#1")["estimate"] == linked(w, obj, kr, "a#2")["estimate"] == 3.0
    # Said nothing: both keep 3. Cleared: back to the link's 5, and to none (counts 1).
    for key in ("a#1", "a#2"):
        w.app.report_issue_event(
            INTEGRATION, report(f"keep-{key}", "todo", issue_key=key, minutes=1)
        )
    assert linked(w, obj, kr, "a#1")["estimate"] == 3.0
    for key in ("a#1", "a#2"):
        w.app.report_issue_event(
            INTEGRATION, report(f"clear-{key}", "done", issue_key=key, estimate=None, minutes=2)
        )
    assert linked(w, obj, kr, "a#1")["estimate"] == 5.0
    assert linked(w, obj, kr, "a#2")["estimate"] is None
    assert w.obj(obj).progress() == pytest.approx(1.0)
    assert issue(w, "a#1").estimate is None  # the issue itself no longer has one
    # A reload from the stored events gives the same state (the upcast path included).
    assert dict(w.get(obj).key_result(kr).issues["github:a#1"])["estimate"] == 5.0


def test_event_for_unlinked_issue_is_recorded_and_a_later_link_picks_it_up(w: World) -> None:
    cycle = w.cycle(Phase.TRACKING)
    before = w.position()
    outcome = w.app.report_issue_event(
        INTEGRATION, report("ev-1", "done", issue_key="a#7", estimate=5)
    )
    assert (outcome.applied, outcome.moved_objectives) == (True, [])
    assert w.position() > before  # recorded
    assert (issue(w, "a#7").status, set(issue(w, "a#7").links)) == ("done", set())

    team = w.team()
    obj = w.objective(cycle, team_id=team)
    kr = w.kr(obj, "issues")
    todo = w.kr(obj, "issues", title="other")
    w.app.link_issue(ADMIN, LinkIssue(obj, kr, tracker="github", issue_key="a#7"))
    w.app.link_issue(
        ADMIN, LinkIssue(obj, todo, tracker="github", issue_key="a#8")
    )  # never reported
    assert linked(w, obj, kr, "a#7")["status"] == "done"
    assert linked(w, obj, kr, "a#7")["estimate"] == 5.0
    assert linked(w, obj, todo, "a#8")["status"] is None
    assert w.obj(obj).key_result(kr).progress() == 1.0
    assert w.obj(obj).key_result(todo).progress() == 0.0
    assert set(issue(w, "a#7").links) == {(obj, kr)}


def test_unlinked_issue_no_longer_moves_the_key_result(w: World) -> None:
    _, obj, kr = setup_linked(w, keys=(KEY, "a#2"))
    w.app.unlink_issue(ADMIN, UnlinkIssue(obj, kr, tracker="github", issue_key=KEY))
    assert set(issue(w).links) == set()
    version = w.version(obj)
    outcome = w.app.report_issue_event(INTEGRATION, report("ev-1", "done"))
    assert outcome.moved_objectives == []
    assert w.version(obj) == version
    assert REF not in w.obj(obj).key_result(kr).issues


@pytest.mark.parametrize(
    ("phase", "moves"),
    [
        (Phase.DRAFTING, False),
        (Phase.TRACKING, True),
        (Phase.RETROSPECTIVE, True),
        (Phase.CLOSED, False),
    ],
)
def test_issue_events_move_key_results_only_in_tracking_and_retrospective(
    w: World, phase: Phase, moves: bool
) -> None:
    _, obj, kr = setup_linked(w, phase=phase)
    version = w.version(obj)
    outcome = w.app.report_issue_event(INTEGRATION, report("ev-1", "done"))
    assert issue(w).status == "done"  # the issue itself always records the report
    assert outcome.applied
    assert outcome.moved_objectives == ([obj] if moves else [])
    assert w.version(obj) == version + (1 if moves else 0)
    assert linked(w, obj, kr)["status"] == ("done" if moves else None)
    assert w.obj(obj).progress() == (1.0 if moves else 0.0)


def test_archived_objective_is_not_moved(w: World) -> None:
    _, obj, kr = setup_linked(w)
    w.app.archive_objective(ADMIN, ArchiveObjective(obj))
    version = w.version(obj)
    outcome = w.app.report_issue_event(INTEGRATION, report("ev-1", "done"))
    assert outcome.moved_objectives == []
    assert w.version(obj) == version
    assert linked(w, obj, kr)["status"] is None


def test_issue_linked_to_several_key_results_moves_them_all_in_one_save(w: World) -> None:
    cycle = w.cycle(Phase.DRAFTING)
    team = w.team()
    first = w.objective(cycle, team_id=team, title="first")
    second = w.objective(cycle, team_id=team, title="second")
    krs = [(first, w.kr(first, "issues")), (first, w.kr(first, "issues", title="b"))]
    krs.append((second, w.kr(second, "issues")))
    for obj, kr in krs:
        w.app.link_issue(ADMIN, LinkIssue(obj, kr, tracker="github", issue_key=KEY))
    w.advance(cycle, Phase.TRACKING)
    outcome = w.app.report_issue_event(INTEGRATION, report("ev-1", "done"))
    assert sorted(outcome.moved_objectives) == sorted([first, second])
    for obj, kr in krs:
        assert linked(w, obj, kr)["status"] == "done"
    assert [type(e).__name__ for e in w.events(first)][-2:] == ["IssueStatusChanged"] * 2
    assert [type(e).__name__ for e in w.events(second)][-1:] == ["IssueStatusChanged"]
    assert outcome.position == w.position()


def test_percentage_key_result_records_the_issue_but_keeps_its_progress(w: World) -> None:
    cycle = w.cycle(Phase.DRAFTING)
    obj = w.objective(cycle)
    kr = w.kr(obj, "percentage")
    w.app.link_issue(ADMIN, LinkIssue(obj, kr, tracker="github", issue_key=KEY))
    w.advance(cycle, Phase.TRACKING)
    w.check_in(obj, kr, percent=30)
    w.app.report_issue_event(INTEGRATION, report("ev-1", "done"))
    assert linked(w, obj, kr)["status"] == "done"
    assert w.obj(obj).progress() == pytest.approx(0.3)


def test_same_status_again_is_recorded_on_the_issue_only(w: World) -> None:
    _, obj, _ = setup_linked(w)
    w.app.report_issue_event(INTEGRATION, report("ev-1", "done"))
    version = w.version(obj)
    outcome = w.app.report_issue_event(INTEGRATION, report("ev-2", "done", minutes=1))
    assert (outcome.applied, outcome.moved_objectives) == (True, [])
    assert w.version(obj) == version
    assert set(issue(w).applied_event_ids) == {"ev-1", "ev-2"}


def test_batch_with_duplicates_inside_the_same_batch(w: World) -> None:
    _, obj, kr = setup_linked(w, keys=(KEY, "a#2"))
    outcomes = w.app.apply_issue_events(
        INTEGRATION,
        [
            report("ev-1", "in_progress", minutes=1),
            report("ev-2", "done", minutes=2),
            report("ev-1", "todo", minutes=3),  # duplicate of the first
            report("ev-3", "done", issue_key="a#2", minutes=1),
            report("ev-2", "done", minutes=2),  # duplicate of the second
            report("ev-4", "todo", minutes=0),  # older than ev-2: recorded only
        ],
    )
    assert [o.duplicate for o in outcomes] == [False, False, True, False, True, False]
    assert [o.applied for o in outcomes] == [True, True, False, True, False, False]
    assert len({o.position for o in outcomes}) == 1  # one save
    assert outcomes[0].position == w.position()
    reported = [e for e in w.events(issue(w).id) if type(e).__name__ == "StatusReported"]
    assert [(e.event_id, e.applied) for e in reported] == [
        ("ev-1", True),
        ("ev-2", True),
        ("ev-4", False),
    ]
    changes = [e for e in w.events(obj) if type(e).__name__ == "IssueStatusChanged"]
    assert [(e.event_id, e.issue_key, e.status) for e in changes] == [
        ("ev-1", KEY, "in_progress"),
        ("ev-2", KEY, "done"),
        ("ev-3", "a#2", "done"),
    ]
    assert linked(w, obj, kr)["status"] == "done"
    assert w.obj(obj).progress() == 1.0
    # the whole batch again: every report is a duplicate and nothing is written
    before = w.position()
    again = w.app.apply_issue_events(
        INTEGRATION, [report("ev-2", "todo"), report("ev-3", "todo", issue_key="a#2")]
    )
    assert [o.duplicate for o in again] == [True, True]
    assert w.position() == before


@pytest.mark.parametrize(
    "bad",
    [
        IssueEvent("", "github", KEY, "done", report("x", "done").occurred_at),
        IssueEvent("e", "", KEY, "done", report("x", "done").occurred_at),
        IssueEvent("e", "github", "", "done", report("x", "done").occurred_at),
        IssueEvent("e", "github", KEY, "closed", report("x", "done").occurred_at),
        IssueEvent("e", "github", KEY, "done", datetime(2027, 1, 1, 12, 0)),  # naive
        IssueEvent("e", "github", KEY, "done", report("x", "done").occurred_at, estimate=-1),
        IssueEvent(
            "e", "github", KEY, "done", report("x", "done").occurred_at, estimate=float("nan")
        ),
    ],
    ids=["event_id", "tracker", "issue_key", "status", "naive-time", "negative", "nan"],
)
def test_invalid_report_refuses_the_whole_batch(w: World, bad: IssueEvent) -> None:
    setup_linked(w)
    before = w.position()
    with pytest.raises(InvalidCommand):
        w.app.apply_issue_events(INTEGRATION, [report("ok-1", "done"), bad])
    assert w.position() == before
    assert w.app.apply_issue_events(INTEGRATION, []) == []


def test_same_issue_key_in_another_organization_is_another_issue(w: World) -> None:
    _, obj, kr = setup_linked(w)
    version = w.version(obj)
    outcome = w.app.report_issue_event(OTHER_ADMIN, report("ev-1", "done"))
    assert outcome.issue_id == issue_id("globex", "github", KEY) != issue_id("acme", "github", KEY)
    assert outcome.moved_objectives == []
    assert w.version(obj) == version
    assert linked(w, obj, kr)["status"] is None
    # and the same event_id is not a duplicate across organizations
    assert not w.app.report_issue_event(ADMIN, report("ev-1", "done")).duplicate
    assert linked(w, obj, kr)["status"] == "done"


# --------------------------------------------------------- issue snapshots


def snapshotting_world(interval: int = 2) -> World:
    """Issues (and objectives) snapshotted every ``interval`` events (OKR_SNAPSHOT_INTERVAL)."""
    env = {**MEMORY_ENV, "OKR_SNAPSHOT_INTERVAL": str(interval)}
    return World(OkrApplication(env=env))


def test_issue_rules_hold_across_issue_snapshots() -> None:
    w = snapshotting_world()
    _, obj, kr = setup_linked(w)
    for i, status in enumerate(["todo", "in_progress", "todo", "in_progress", "todo"]):
        w.app.report_issue_event(INTEGRATION, report(f"ev-{i}", status, minutes=10 + i))
    key = issue(w).id
    assert w.app.snapshots is not None and list(w.app.snapshots.get(key)), "no issue snapshot"
    # rebuilt from a snapshot: idempotency, ordering and links still hold
    before = w.position()
    assert w.app.report_issue_event(INTEGRATION, report("ev-0", "done", minutes=99)).duplicate
    assert not w.app.report_issue_event(INTEGRATION, report("late", "done", minutes=1)).applied
    assert linked(w, obj, kr)["status"] == "todo"
    assert w.position() == before + 1  # only the late report was recorded
    assert set(issue(w).links) == {(obj, kr)}
    moved = w.app.report_issue_event(INTEGRATION, report("ev-9", "done", minutes=50))
    assert moved.moved_objectives == [obj]
    assert linked(w, obj, kr)["status"] == "done"


def test_link_after_an_issue_snapshot_picks_up_its_status() -> None:
    w = snapshotting_world()
    cycle = w.cycle(Phase.TRACKING)
    obj = w.objective(cycle)
    kr = w.kr(obj, "issues")
    for i in range(3):
        w.app.report_issue_event(INTEGRATION, report(f"ev-{i}", "done", issue_key="a#7", minutes=i))
    assert w.app.snapshots is not None
    assert list(w.app.snapshots.get(issue_id("acme", "github", "a#7")))
    w.app.link_issue(ADMIN, LinkIssue(obj, kr, tracker="github", issue_key="a#7"))
    assert linked(w, obj, kr, "a#7")["status"] == "done"


def test_an_ingesting_cache_never_applies_a_stale_issue(w: World) -> None:
    """The consumer's IssueCache skips reloads; a link made meanwhile elsewhere still counts."""
    _, obj, kr = setup_linked(w)
    cache = IssueCache()
    w.app.apply_issue_events(INTEGRATION, [report("ev-1", "in_progress")], cache)
    assert cache.get(issue_id("acme", "github", KEY)) is not None
    # Meanwhile, over the API, the same issue is linked to a second KR (the cache misses it).
    second = w.kr(obj, "issues")
    cycle = w.obj(obj).cycle_id
    w.advance(cycle, Phase.TRACKING)
    w.app.link_issue(ADMIN, LinkIssue(obj, second, tracker="github", issue_key=KEY))
    w.app.apply_issue_events(INTEGRATION, [report("ev-2", "done", minutes=1)], cache)
    assert linked(w, obj, kr)["status"] == "done"
    assert linked(w, obj, second)["status"] == "done", "the stale cached issue was retried"
    assert set(issue(w).links) == {(obj, kr), (obj, second)}


def test_an_ingesting_cache_forgets_a_batch_that_failed(
    w: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup_linked(w)
    cache = IssueCache()
    w.app.apply_issue_events(INTEGRATION, [report("ev-1", "in_progress")], cache)

    def outage(*_: object) -> int:
        raise ConnectionError("database went away")

    with monkeypatch.context() as patch:
        patch.setattr(w.app, "record", outage)
        with pytest.raises(ConnectionError):
            w.app.apply_issue_events(INTEGRATION, [report("ev-2", "done", minutes=1)], cache)
    assert cache.get(issue_id("acme", "github", KEY)) is None, "unsaved changes were cached"
    # Delivered again after the outage: applied once, not taken for a duplicate.
    (outcome,) = w.app.apply_issue_events(INTEGRATION, [report("ev-2", "done", minutes=1)], cache)
    assert outcome.applied and not outcome.duplicate
    assert issue(w).status == "done"


def test_the_ingestion_cache_forgets_the_least_recently_used_first() -> None:
    app = memory_app()
    w = World(app)
    cycle = w.cycle(Phase.DRAFTING)
    first, second = w.objective(cycle), w.objective(cycle)
    cache = IssueCache(size=2, objectives=1)
    outcomes = app.apply_issue_events(
        ADMIN, [report(f"e{i}", "todo", issue_key=f"k#{i}") for i in range(3)], cache
    )
    kept = [cache.get(o.issue_id) is not None for o in outcomes]
    assert kept == [False, True, True]
    cache.put_objective(w.obj(first))
    cache.put_objective(w.obj(second))
    assert (cache.objective(first), cache.objective(second) is not None) == (None, True)
    cache.clear()
    assert cache.objective(second) is None and cache.get(outcomes[2].issue_id) is None
