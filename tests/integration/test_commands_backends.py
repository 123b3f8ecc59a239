"""The same write-side scenarios over every event store: in-memory, SQLite, PostgreSQL.

Each scenario ends in a summary of plain values that must be identical (and
equal to the hand-computed expectation) on every store; the SQLite and
PostgreSQL runs also re-read everything through a second application on the
same store, which proves every event (and snapshot) survives its transcoding.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from commands.application import OkrApplication
from commands.existence import existing_ids
from commands.issues import IssueCache
from commands.messages import (
    AddNote,
    AdvanceCyclePhase,
    AlignObjective,
    ArchiveKeyResult,
    CheckIn,
    DraftObjective,
    EditKeyResult,
    LinkIssue,
    RecordRetrospective,
    SetWeights,
)
from domain.errors import PhaseRuleViolation, VersionMismatch
from domain.issue import issue_id
from domain.objective import Objective
from domain.values import Phase
from entrypoints.settings import Settings
from tests.builders import ADMIN, MEMORY_ENV, World, member, report

Opener = Callable[..., OkrApplication]


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Opener]]:
    """The store's name and a function that opens another application on it."""
    if request.param == "memory":
        env = dict(MEMORY_ENV)
    elif request.param == "sqlite":
        env = Settings(data_dir=tmp_path, database_url=None).eventsourcing_env()
    else:
        pg_url = request.getfixturevalue("pg_url")
        env = Settings(database_url=pg_url, data_dir=tmp_path).eventsourcing_env()
    opened: list[OkrApplication] = []

    def open_app(**extra: str) -> OkrApplication:
        app = OkrApplication(env={**env, **extra})
        opened.append(app)
        return app

    try:
        yield request.param, open_app
    finally:
        for app in opened:
            app.close()


def kr_summary(kr: Any) -> dict[str, Any]:
    return {
        "title": kr.title,
        "weight": kr.weight,
        "archived": kr.archived,
        "status": kr.status,
        "current": kr.current,
        "percent": kr.percent,
        "done": [m["done"] for m in kr.milestones],
        "issues": {ref: (i["status"], i["estimate"]) for ref, i in sorted(kr.issues.items())},
        "progress": round(kr.progress(), 9),
    }


def summary(app: OkrApplication, ids: dict[str, UUID]) -> dict[str, Any]:
    w = World(app)
    o = w.obj(ids["obj"])
    individual = w.obj(ids["individual"])
    issue = w.get(issue_id("acme", "github", "a#2"))
    return {
        "phase": w.get(ids["cycle"]).phase.value,
        "cycle_dates": (w.get(ids["cycle"]).start_date, w.get(ids["cycle"]).end_date),
        "team_members": sorted(w.get(ids["team"]).members),
        "version": o.version,
        "events": [type(e).__name__ for e in w.events(ids["obj"])],
        "actors": sorted({e.actor for e in w.events(ids["obj"])}),
        "progress": round(o.progress(), 9),
        "status": o.status(),
        "achievement_rate": round(o.achievement_rate() or -1, 9),
        "retrospective": o.retrospective,
        # SPEC §9: notes are in their events, not in the objective's state
        "notes": [
            (e.topic, e.actor, e.text)
            for e in w.events(ids["obj"])
            if isinstance(e, Objective.NoteAdded)
        ],
        "parent": o.parent_id == ids["parent"],
        "individual_parent": (
            individual.parent_id == ids["parent"],
            individual.aligned_to_key_result_id == ids["k_al"],
        ),
        "krs": {name: kr_summary(o.key_result(ids[name])) for name in KR_NAMES},
        "issue_a2": (
            issue.status,
            sorted(issue.applied_event_ids),
            sorted((str(a), str(b)) for a, b in issue.links)
            == [(str(ids["obj"]), str(ids["k_iss"]))],
        ),
    }


KR_NAMES = ("k_pct", "k_num", "k_ms", "k_iss", "k_old")


def full_cycle_walk(app: OkrApplication) -> dict[str, UUID]:
    """Drafting to closed with every kind of write; returns the ids used."""
    w = World(app)
    ids: dict[str, UUID] = {}
    ids["cycle"] = cycle = w.cycle(Phase.LAUNCH, start=date(2027, 1, 1), end=date(2027, 3, 31))
    w.advance(cycle, Phase.DRAFTING)
    ids["team"] = team = w.team(managers=["mia"], members=["mo"])
    mia = member("mia")
    ids["parent"] = parent = w.objective(cycle, team_id=team, level="organization", title="P")
    ids["k_al"] = k_al = w.kr(parent, "aligned")
    ids["obj"] = obj = app.draft_objective(
        mia, DraftObjective(cycle_id=cycle, title="O", level="team", owner_team_id=team)
    ).id
    ids["individual"] = app.draft_objective(
        member("olly"),
        DraftObjective(
            cycle_id=cycle,
            title="Mine",
            level="individual",
            aligned_to_key_result_id=k_al,
        ),
    ).id
    app.align_objective(mia, AlignObjective(obj, to_objective_id=parent))
    ids["k_pct"] = w.kr(obj, weight=2, title="pct", actor=mia)
    ids["k_num"] = w.kr(obj, "numeric", start=100, target=50, unit="ms", actor=mia)
    ids["k_ms"] = w.kr(obj, "milestone", milestones=["a", "b", "c", "d"], actor=mia)
    ids["k_iss"] = w.kr(obj, "issues", title="iss", assignee_id="asa", actor=mia)
    ids["k_old"] = w.kr(obj, title="old", actor=mia)
    app.edit_key_result(mia, EditKeyResult(obj, ids["k_num"], {"title": "latency"}))
    asa = member("asa")
    app.link_issue(asa, LinkIssue(obj, ids["k_iss"], tracker="github", issue_key="a#1", estimate=1))
    app.link_issue(asa, LinkIssue(obj, ids["k_iss"], tracker="github", issue_key="a#2", estimate=3))
    app.set_weights(mia, SetWeights(obj, {ids["k_old"]: 0.0}))
    # drafting: recorded on the issue, the KR does not move
    app.report_issue_event(ADMIN, report("ev-0", "in_progress", issue_key="a#1"))
    app.add_note(member("mo"), AddNote(obj, topic="goal_setting", text="agreed"))

    w.advance(cycle, Phase.TRACKING)
    app.check_in(mia, CheckIn(obj, ids["k_pct"], percent=40, status="on_track"))
    app.check_in(mia, CheckIn(obj, ids["k_pct"], percent=70, status="at_risk", confidence=0.6))
    app.check_in(mia, CheckIn(obj, ids["k_num"], current=75, status="behind"))
    app.check_in(mia, CheckIn(obj, ids["k_ms"], milestones_done=[0, 2], status="on_track"))
    app.check_in(mia, CheckIn(obj, ids["k_old"], percent=100, status="behind"))
    app.archive_key_result(mia, ArchiveKeyResult(obj, ids["k_old"]))
    app.apply_issue_events(
        ADMIN,
        [
            report("ev-1", "done", issue_key="a#1", minutes=1),
            report("ev-2", "in_progress", issue_key="a#2", minutes=2),
            report("ev-1", "done", issue_key="a#1", minutes=1),  # duplicate
            report("ev-3", "cancelled", issue_key="a#2", minutes=0),  # older: recorded only
        ],
    )
    # an issue nobody linked yet, linked afterwards: picks up its status and estimate
    app.report_issue_event(ADMIN, report("ev-a3", "done", issue_key="a#3", minutes=3, estimate=2))
    app.link_issue(asa, LinkIssue(obj, ids["k_iss"], tracker="github", issue_key="a#3"))

    w.advance(cycle, Phase.RETROSPECTIVE)
    app.report_issue_event(ADMIN, report("ev-4", "done", issue_key="a#2", minutes=4))  # late
    app.record_retrospective(
        mia,
        RecordRetrospective(
            obj,
            scores={ids["k_pct"]: 0.8},
            problems="estimates",
            improvements="smaller KRs",
            next_focus="latency",
        ),
    )
    w.advance(cycle, Phase.CLOSED)
    app.report_issue_event(ADMIN, report("ev-5", "todo", issue_key="a#2", minutes=5))
    return ids


EXPECTED_EVENTS = [
    "Drafted",
    "Realigned",
    *["KeyResultAdded"] * 5,
    "KeyResultEdited",
    "IssueLinked",
    "IssueLinked",
    "WeightsChanged",
    "NoteAdded",
    *["KeyResultCheckedIn"] * 5,
    "KeyResultArchived",
    "IssueStatusChanged",  # ev-1 a#1 done
    "IssueStatusChanged",  # ev-2 a#2 in_progress
    "IssueLinked",  # a#3, already done
    "IssueStatusChanged",  # ev-4 a#2 done (retrospective)
    "RetrospectiveRecorded",
]

EXPECTED: dict[str, Any] = {
    "phase": "closed",
    "cycle_dates": (date(2027, 1, 1), date(2027, 3, 31)),
    "team_members": ["mia", "mo"],
    "version": len(EXPECTED_EVENTS),
    "events": EXPECTED_EVENTS,
    "actors": ["ada", "asa", "mia", "mo"],
    # weights pct 2 (0.7), num 1 (0.5), ms 1 (0.5), iss 1 (6/6); old archived
    "progress": round((2 * 0.7 + 0.5 + 0.5 + 1.0) / 5, 9),
    "status": "behind",
    "achievement_rate": round((2 * 0.8 + 0.5 + 0.5 + 1.0) / 5, 9),
    "retrospective": {
        "scores": {},  # filled in per run (KR ids differ)
        "problems": "estimates",
        "improvements": "smaller KRs",
        "next_focus": "latency",
    },
    "notes": [("goal_setting", "mo", "agreed")],
    "parent": True,
    "individual_parent": (True, True),
    "krs": {
        "k_pct": {
            "title": "pct",
            "weight": 2.0,
            "archived": False,
            "status": "at_risk",
            "current": None,
            "percent": 70.0,
            "done": [],
            "issues": {},
            "progress": 0.7,
        },
        "k_num": {
            "title": "latency",
            "weight": 1.0,
            "archived": False,
            "status": "behind",
            "current": 75.0,
            "percent": None,
            "done": [],
            "issues": {},
            "progress": 0.5,
        },
        "k_ms": {
            "title": "KR",
            "weight": 1.0,
            "archived": False,
            "status": "on_track",
            "current": None,
            "percent": None,
            "done": [True, False, True, False],
            "issues": {},
            "progress": 0.5,
        },
        "k_iss": {
            "title": "iss",
            "weight": 1.0,
            "archived": False,
            "status": None,
            "current": None,
            "percent": None,
            "done": [],
            "issues": {
                "github:a#1": ("done", 1.0),
                "github:a#2": ("done", 3.0),
                "github:a#3": ("done", 2.0),
            },
            "progress": 1.0,
        },
        "k_old": {
            "title": "old",
            "weight": 0.0,
            "archived": True,
            "status": "behind",
            "current": None,
            "percent": 100.0,
            "done": [],
            "issues": {},
            "progress": 1.0,
        },
    },
    "issue_a2": ("todo", ["ev-2", "ev-3", "ev-4", "ev-5"], True),
}


def test_full_cycle_walk_ends_in_the_same_state_on_every_store(
    store: tuple[str, Opener],
) -> None:
    name, open_app = store
    app = open_app()
    ids = full_cycle_walk(app)
    expected = dict(EXPECTED)
    expected["retrospective"] = {**EXPECTED["retrospective"], "scores": {str(ids["k_pct"]): 0.8}}
    assert summary(app, ids) == expected
    # closed: every command refused, nothing written
    w = World(app)
    before = w.position()
    with pytest.raises(PhaseRuleViolation):
        app.add_note(ADMIN, AddNote(ids["obj"], topic="progress", text="too late"))
    with pytest.raises(PhaseRuleViolation):
        app.check_in(ADMIN, CheckIn(ids["obj"], ids["k_pct"], percent=1, status="on_track"))
    with pytest.raises(PhaseRuleViolation):
        app.advance_cycle_phase(ADMIN, AdvanceCyclePhase(ids["cycle"], "closed"))
    assert w.position() == before
    if name != "memory":
        # a second application on the same store reads the very same state
        assert summary(open_app(), ids) == expected


def test_snapshotted_objective_reads_back_identically(store: tuple[str, Opener]) -> None:
    name, open_app = store
    app = open_app()
    w = World(app)
    cycle = w.cycle(Phase.DRAFTING)
    obj = w.objective(cycle, visibility="private")
    pct = w.kr(obj, assignee_id="asa", participant_ids=["pat"])
    ms = w.kr(obj, "milestone", milestones=["a", "b"])
    app.link_issue(ADMIN, LinkIssue(obj, pct, tracker="github", issue_key="a#1", estimate=2))
    w.advance(cycle, Phase.TRACKING)
    for i in range(101):
        w.check_in(obj, pct, percent=i, confidence=0.5, note=f"n{i}")
    w.check_in(obj, ms, milestones_done=[1], status="at_risk")
    assert app.snapshots is not None and list(app.snapshots.get(obj))
    apps = [app] if name == "memory" else [app, open_app()]
    for reader in apps:
        o = World(reader).obj(obj)
        assert o.version == 1 + 2 + 1 + 102  # drafted, 2 KRs, link, 102 check-ins
        assert o.key_result(pct).percent == 100.0
        assert o.key_result(pct).issues["github:a#1"]["estimate"] == 2.0
        assert o.key_result(pct).participant_ids == ["pat"]
        assert [m["done"] for m in o.key_result(ms).milestones] == [False, True]
        assert o.visibility == "private"
        assert o.status() == "at_risk"
        assert o.progress() == pytest.approx((1.0 + 0.5) / 2)


def test_if_match_on_every_store(store: tuple[str, Opener]) -> None:
    _, open_app = store
    app = open_app()
    w = World(app)
    cycle = w.cycle(Phase.TRACKING)
    obj = w.objective(cycle)
    kr = w.kr(obj)
    version = w.version(obj)
    app.check_in(ADMIN, CheckIn(obj, kr, percent=5, status="on_track", expected_version=version))
    before = w.position()
    with pytest.raises(VersionMismatch):
        app.check_in(
            ADMIN, CheckIn(obj, kr, percent=9, status="on_track", expected_version=version)
        )
    assert w.position() == before
    assert w.obj(obj).key_result(kr).percent == 5.0


def test_issue_snapshots_keep_idempotency_and_links_on_every_store(
    store: tuple[str, Opener],
) -> None:
    """Issues are snapshotted too (here every 2 events); the rules must survive it."""
    name, open_app = store
    app = open_app(OKR_SNAPSHOT_INTERVAL="2")
    w = World(app)
    cycle = w.cycle(Phase.DRAFTING)
    obj = w.objective(cycle)
    kr = w.kr(obj, "issues")
    app.link_issue(ADMIN, LinkIssue(obj, kr, tracker="github", issue_key="a#1", estimate=2))
    app.link_issue(ADMIN, LinkIssue(obj, kr, tracker="github", issue_key="a#2"))
    w.advance(cycle, Phase.TRACKING)
    for i in range(5):
        app.report_issue_event(ADMIN, report(f"ev-{i}", "in_progress", issue_key="a#1", minutes=i))
    key = issue_id("acme", "github", "a#1")
    assert app.snapshots is not None and list(app.snapshots.get(key))
    readers = [app] if name == "memory" else [app, open_app(OKR_SNAPSHOT_INTERVAL="2")]
    for reader in readers:
        assert reader.report_issue_event(ADMIN, report("ev-0", "done", issue_key="a#1")).duplicate
    late = app.report_issue_event(ADMIN, report("late", "done", issue_key="a#1", minutes=-1))
    assert not late.applied
    moved = app.report_issue_event(ADMIN, report("ev-9", "done", issue_key="a#1", minutes=9))
    assert moved.moved_objectives == [obj]
    for reader in readers:
        issue = World(reader).get(key)
        assert (str(issue.status), sorted(issue.applied_event_ids)) == (
            "done",
            ["ev-0", "ev-1", "ev-2", "ev-3", "ev-4", "ev-9", "late"],
        )
        assert [tuple(map(str, link)) for link in issue.links] == [(str(obj), str(kr))]
        o = World(reader).obj(obj)
        assert o.key_result(kr).issues["github:a#1"]["status"] == "done"
        assert o.progress() == pytest.approx(2 / 3)


def test_existing_ids_answers_for_many_aggregates_at_once_on_every_store(
    store: tuple[str, Opener],
) -> None:
    _, open_app = store
    app = open_app()
    w = World(app)
    cycle = w.cycle(Phase.DRAFTING)
    obj = w.objective(cycle)
    stored = {cycle, obj}
    missing = {issue_id("acme", "github", f"none#{i}") for i in range(700)}
    assert existing_ids(app.recorder, stored | missing) == stored
    assert existing_ids(app.recorder, missing) == set()
    assert existing_ids(app.recorder, set()) == set()


def linked_objective(w: World, *issue_keys: str) -> tuple[UUID, UUID, UUID]:
    """A drafting cycle's objective whose ``issues`` KR links each key: (cycle, obj, kr)."""
    cycle = w.cycle(Phase.DRAFTING)
    obj = w.objective(cycle)
    kr = w.kr(obj, "issues")
    for key in issue_keys:
        w.app.link_issue(ADMIN, LinkIssue(obj, kr, tracker="github", issue_key=key))
    return cycle, obj, kr


def test_a_batch_of_new_and_existing_issues_keeps_every_link_on_every_store(
    store: tuple[str, Opener],
) -> None:
    """New issues skip the lookup; an issue that exists (a link) must still be loaded."""
    _, open_app = store
    app = open_app()
    w = World(app)
    cycle, obj, _ = linked_objective(w, "a#1", "a#2")
    w.advance(cycle, Phase.TRACKING)
    cache = IssueCache()
    batch = [report(f"new-{i}", "in_progress", issue_key=f"n#{i}") for i in range(5)]
    batch += [report("ev-1", "done", issue_key="a#1"), report("ev-2", "done", issue_key="a#2")]
    outcomes = app.apply_issue_events(ADMIN, batch, cache)
    assert [o.applied for o in outcomes] == [True] * 7
    assert outcomes[-1].moved_objectives == [obj]
    assert World(app).obj(obj).progress() == pytest.approx(1.0)
    again = app.apply_issue_events(ADMIN, batch, IssueCache())
    assert all(o.duplicate for o in again)
    new = World(app).get(issue_id("acme", "github", "n#3"))
    assert (new.version, str(new.status)) == (2, "in_progress")


def test_the_ingestion_cache_reuses_current_objectives_and_reloads_moved_ones(
    store: tuple[str, Opener], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An objective checked in on over the API meanwhile is reloaded, its check-in kept."""
    _, open_app = store
    app = open_app()
    w = World(app)
    cycle, obj, issues_kr = linked_objective(w, "a#1")
    percent_kr = w.kr(obj)
    w.advance(cycle, Phase.TRACKING)
    loads: list[UUID] = []
    find = app.find

    def counting(actor: Any, aggregate_id: UUID, cls: Any) -> Any:
        if cls is Objective:
            loads.append(aggregate_id)
        return find(actor, aggregate_id, cls)

    monkeypatch.setattr(app, "find", counting)
    saves: list[int] = []
    record = app.record

    def recording(*aggregates: Any) -> int:
        saves.append(len(aggregates))
        return record(*aggregates)

    monkeypatch.setattr(app, "record", recording)
    cache = IssueCache()
    app.apply_issue_events(ADMIN, [report("e1", "in_progress", issue_key="a#1")], cache)
    app.apply_issue_events(ADMIN, [report("e2", "done", issue_key="a#1", minutes=1)], cache)
    assert loads == [obj]  # the second batch used the objective it had saved
    app.check_in(ADMIN, CheckIn(obj, percent_kr, status="on_track", percent=50))
    assert loads == [obj, obj]  # (the check-in's own load)
    saves.clear()
    moved = app.apply_issue_events(
        ADMIN, [report("e3", "in_progress", issue_key="a#1", minutes=2)], cache
    )
    assert loads == [obj, obj, obj]  # it moved: loaded again, not saved over
    assert saves == [2], "one save (issue and objective), no clash and retry"
    assert moved[0].moved_objectives == [obj]
    o = World(app).obj(obj)
    assert o.key_result(percent_kr).percent == 50.0
    assert o.key_result(issues_kr).issues["github:a#1"]["status"] == "in_progress"
