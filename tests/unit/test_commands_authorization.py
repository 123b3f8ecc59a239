"""Who may run which write command (SPEC §7 "who may"; commands/authorization.py).

One table: every write command x every kind of caller (x visibility where the
command targets an objective), with the expected outcome. A refused command
must write nothing at all (the log position does not move).

The callers, relative to the objective a command targets:

- ``admin``: an admin token of the organization;
- ``owner_user``: the owner of an individual objective (the command targets
  *their* objective; everyone else targets a team objective);
- ``manager``: a manager of the owner team;
- ``assignee`` / ``participant``: of the key result the command touches;
- ``member``: a plain member of the organization (and of the owner team);
- ``other_org``: an *admin* of another organization whose user id is the same
  as our manager's: neither role nor user id may leak across tenants;
- ``integration``: an integration token (issue feeds).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

import pytest

from commands.actor import Actor
from commands.issue_event import IssueEvent
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
from domain.errors import NotFound, PermissionDenied, VersionMismatch
from domain.values import Phase, TokenRole
from tests.builders import ADMIN, INTEGRATION, OTHER_ORG, World, member, memory_app, report

CALLERS: dict[str, Actor] = {
    "admin": ADMIN,
    "owner_user": member("olly"),
    "manager": member("mia"),
    "assignee": member("asa"),
    "participant": member("pat"),
    "member": member("mo"),
    "other_org": Actor(OTHER_ORG, "mia", TokenRole.ADMIN),
    "integration": INTEGRATION,
}

OK = "ok"
Outcome = Any  # OK or an exception class


@dataclass
class Ctx:
    w: World
    cycle: UUID
    team: UUID
    obj: UUID  # the objective the caller acts on
    kr: UUID  # its key result with assignee "asa" and participant "pat"
    kr2: UUID
    parent: UUID  # a public organization objective to align to


def build(caller: str, visibility: str, phase: Phase) -> Ctx:
    w = World(memory_app())
    cycle = w.cycle(Phase.DRAFTING)
    team = w.team(managers=["mia"], members=["mo"])
    parent = w.objective(cycle, team_id=team, level="organization", title="Company")
    team_obj = w.objective(cycle, team_id=team, visibility=visibility, title="Team's")
    own_obj = w.objective(cycle, owner_user_id="olly", visibility=visibility, title="Olly's")
    krs: dict[UUID, tuple[UUID, UUID]] = {}
    for obj in (team_obj, own_obj):
        kr = w.kr(obj, assignee_id="asa", participant_ids=["pat"])
        krs[obj] = (kr, w.kr(obj, title="second"))
        w.app.link_issue(ADMIN, LinkIssue(obj, kr, tracker="github", issue_key=f"linked-{obj}"))
    w.advance(cycle, phase)
    obj = own_obj if caller == "owner_user" else team_obj
    return Ctx(w, cycle, team, obj, krs[obj][0], krs[obj][1], parent)


Command = Callable[[Actor, Ctx], Any]


def _draft(level: str, owner: Callable[[Actor], str | None] = lambda a: None) -> Command:
    def run(a: Actor, c: Ctx) -> Any:
        return c.w.app.draft_objective(
            a,
            DraftObjective(
                cycle_id=c.cycle,
                title="New",
                level=level,
                owner_team_id=None if level == "individual" else c.team,
                owner_user_id=owner(a),
            ),
        )

    return run


GLOBAL_COMMANDS: dict[str, Command] = {
    "plan_cycle": lambda a, c: c.w.app.plan_cycle(
        a,
        PlanCycle(
            name="Q2", start_date=date(2027, 4, 1), end_date=date(2027, 6, 30), cadence="quarter"
        ),
    ),
    "advance_cycle_phase": lambda a, c: c.w.app.advance_cycle_phase(
        a, AdvanceCyclePhase(c.cycle, "retrospective")
    ),
    "form_team": lambda a, c: c.w.app.form_team(a, FormTeam(name="Sub", parent_id=c.team)),
    "set_team_member": lambda a, c: c.w.app.set_team_member(
        a, SetTeamMember(c.team, user_id="newbie", role="member")
    ),
    "draft_objective[organization]": _draft("organization"),
    "draft_objective[team]": _draft("team"),
    "draft_objective[individual of olly]": _draft("individual", lambda a: "olly"),
    "draft_objective[individual of self]": _draft("individual", lambda a: a.user_id),
    "report_issue_event": lambda a, c: c.w.app.report_issue_event(a, report("ev-1", "done")),
}

OBJECTIVE_COMMANDS: dict[str, tuple[str, Command]] = {
    "edit_objective": (
        "editors",
        lambda a, c: c.w.app.edit_objective(a, EditObjective(c.obj, title="Renamed")),
    ),
    "align_objective": (
        "editors",
        lambda a, c: c.w.app.align_objective(a, AlignObjective(c.obj, to_objective_id=c.parent)),
    ),
    "archive_objective": (
        "editors",
        lambda a, c: c.w.app.archive_objective(a, ArchiveObjective(c.obj)),
    ),
    "add_key_result": (
        "editors",
        lambda a, c: c.w.app.add_key_result(a, AddKeyResult(c.obj, title="K3", mode="percentage")),
    ),
    "edit_key_result": (
        "editors",
        lambda a, c: c.w.app.edit_key_result(
            a, EditKeyResult(c.obj, c.kr, {"title": "Renamed KR"})
        ),
    ),
    "archive_key_result": (
        "editors",
        lambda a, c: c.w.app.archive_key_result(a, ArchiveKeyResult(c.obj, c.kr2)),
    ),
    "set_weights": ("editors", lambda a, c: c.w.app.set_weights(a, SetWeights(c.obj, {c.kr: 2.0}))),
    "record_retrospective": (
        "editors",
        lambda a, c: c.w.app.record_retrospective(
            a,
            RecordRetrospective(
                c.obj, scores={c.kr: 0.5}, problems="p", improvements="i", next_focus="n"
            ),
        ),
    ),
    "check_in": (
        "workers",
        lambda a, c: c.w.app.check_in(a, CheckIn(c.obj, c.kr, percent=60, status="on_track")),
    ),
    "link_issue": (
        "workers",
        lambda a, c: c.w.app.link_issue(
            a, LinkIssue(c.obj, c.kr, tracker="github", issue_key="new#1")
        ),
    ),
    "unlink_issue": (
        "workers",
        lambda a, c: c.w.app.unlink_issue(
            a, UnlinkIssue(c.obj, c.kr, tracker="github", issue_key=f"linked-{c.obj}")
        ),
    ),
    "add_note": (
        "viewers",
        lambda a, c: c.w.app.add_note(a, AddNote(c.obj, topic="progress", text="noted")),
    ),
}

EDITORS = {"admin", "owner_user", "manager"}
WORKERS = EDITORS | {"assignee", "participant"}
PRIVATE_VIEWERS = WORKERS


def expected_global(command: str, caller: str) -> Outcome:
    allowed: dict[str, set[str]] = {
        "plan_cycle": {"admin", "other_org"},  # other_org plans in its own organization
        "advance_cycle_phase": {"admin"},
        "form_team": {"admin"},
        "set_team_member": {"admin", "manager"},
        "draft_objective[organization]": {"admin"},
        "draft_objective[team]": {"admin", "manager"},
        "draft_objective[individual of olly]": {"admin", "owner_user"},
        # Anyone in the organization may draft their own individual objective; an
        # integration token only feeds issue events.
        "draft_objective[individual of self]": set(CALLERS) - {"other_org", "integration"},
        "report_issue_event": {"admin", "integration", "other_org"},  # other_org: its own issue
    }
    if caller in allowed[command]:
        return OK
    if caller == "other_org":
        return NotFound  # our cycle, team, ... do not exist for them
    return PermissionDenied


def expected_objective(rule: str, caller: str, visibility: str) -> Outcome:
    if caller == "other_org":
        return NotFound
    if visibility == "private" and caller not in PRIVATE_VIEWERS:
        return NotFound  # must not learn that it exists
    people = set(CALLERS) - {"integration"}  # integration tokens only feed issue events
    allowed = {"editors": EDITORS, "workers": WORKERS, "viewers": people}[rule]
    return OK if caller in allowed else PermissionDenied


def _cases() -> list[Any]:
    cases = []
    for command in GLOBAL_COMMANDS:
        for caller in CALLERS:
            outcome = expected_global(command, caller)
            cases.append(pytest.param(command, caller, "public", outcome, id=f"{command}-{caller}"))
    for command, (rule, _) in OBJECTIVE_COMMANDS.items():
        for visibility in ("public", "private"):
            for caller in CALLERS:
                outcome = expected_objective(rule, caller, visibility)
                cases.append(
                    pytest.param(
                        command,
                        caller,
                        visibility,
                        outcome,
                        id=f"{command}-{visibility}-{caller}",
                    )
                )
    return cases


@pytest.mark.parametrize(("command", "caller", "visibility", "outcome"), _cases())
def test_who_may(command: str, caller: str, visibility: str, outcome: Outcome) -> None:
    phase = Phase.RETROSPECTIVE if command == "record_retrospective" else Phase.TRACKING
    ctx = build(caller, visibility, phase)
    run = GLOBAL_COMMANDS.get(command) or OBJECTIVE_COMMANDS[command][1]
    actor = CALLERS[caller]
    before = ctx.w.position()
    if outcome is OK:
        run(actor, ctx)
        assert ctx.w.position() > before, "an allowed command wrote nothing"
    else:
        with pytest.raises(outcome):
            run(actor, ctx)
        assert ctx.w.position() == before, "a refused command wrote events"


def test_table_covers_every_write_command() -> None:
    """A new public method of the command classes must be added to the table."""
    from commands.application import OkrApplication

    names = {c.split("[")[0] for c in GLOBAL_COMMANDS} | set(OBJECTIVE_COMMANDS)
    names |= {"apply_issue_events"}  # tested on its own below
    reads_and_machinery = {"record", "create", "change", "retrying", "check_version"}
    reads_and_machinery |= {"load", "find", "team_managers", "register_transcodings"}
    reads_and_machinery |= {"construct_repository"}
    public = {
        name
        for klass in OkrApplication.__mro__
        if klass.__module__.startswith("commands.")
        for name, value in vars(klass).items()
        if callable(value) and not name.startswith("_")
    }
    assert public - reads_and_machinery == names


# ------------------------------------------------------- beyond the table


def test_members_manager_role_elsewhere_gives_no_rights_here() -> None:
    """Managing some other team does not make you an editor of this team's objective."""
    ctx = build("member", "public", Phase.TRACKING)
    ctx.w.team(name="Elsewhere", managers=["mo"])
    with pytest.raises(PermissionDenied):
        ctx.w.app.edit_objective(member("mo"), EditObjective(ctx.obj, title="Mine now"))


def test_team_manager_of_one_team_cannot_set_members_of_another() -> None:
    ctx = build("manager", "public", Phase.TRACKING)
    other = ctx.w.team(name="Other", managers=["zed"])
    with pytest.raises(PermissionDenied):
        ctx.w.app.set_team_member(
            member("mia"), SetTeamMember(other, user_id="mia", role="manager")
        )
    ctx.w.app.set_team_member(member("mia"), SetTeamMember(ctx.team, user_id="mo", role="manager"))
    assert ctx.w.get(ctx.team).is_manager("mo")


def test_demoted_manager_loses_editor_rights() -> None:
    ctx = build("manager", "public", Phase.TRACKING)
    ctx.w.app.set_team_member(ADMIN, SetTeamMember(ctx.team, user_id="mia", role="member"))
    with pytest.raises(PermissionDenied):
        ctx.w.app.edit_objective(member("mia"), EditObjective(ctx.obj, title="Renamed"))


def test_new_participant_may_check_in_and_see_the_private_objective() -> None:
    ctx = build("member", "private", Phase.TRACKING)
    with pytest.raises(NotFound):
        ctx.w.app.check_in(member("mo"), CheckIn(ctx.obj, ctx.kr, percent=1, status="on_track"))
    ctx.w.app.edit_key_result(ADMIN, EditKeyResult(ctx.obj, ctx.kr2, {"participant_ids": ["mo"]}))
    ctx.w.app.check_in(member("mo"), CheckIn(ctx.obj, ctx.kr2, percent=1, status="on_track"))
    # a participant of one KR is not a worker on another KR of the same objective
    with pytest.raises(PermissionDenied):
        ctx.w.app.check_in(member("mo"), CheckIn(ctx.obj, ctx.kr, percent=1, status="on_track"))


def test_admin_of_another_org_reporting_the_same_issue_key_touches_only_its_own() -> None:
    ctx = build("other_org", "public", Phase.TRACKING)
    key = f"linked-{ctx.obj}"
    outcome = ctx.w.app.report_issue_event(
        CALLERS["other_org"],
        IssueEvent("ev-x", "github", key, "done", report("x", "done").occurred_at),
    )
    assert outcome.moved_objectives == []
    assert ctx.w.obj(ctx.obj).key_result(ctx.kr).issues[f"github:{key}"]["status"] is None


@pytest.mark.parametrize(
    "caller",
    [
        "admin",
        "integration",
        "owner_user",
        "manager",
        "assignee",
        "member",
    ],
)
def test_batch_issue_reports_need_an_issue_feed_token(caller: str) -> None:
    ctx = build(caller, "public", Phase.TRACKING)
    before = ctx.w.position()
    key = f"linked-{ctx.obj}"
    reports = [IssueEvent("ev-1", "github", key, "done", report("x", "done").occurred_at)]
    if caller in ("admin", "integration"):
        ctx.w.app.apply_issue_events(CALLERS[caller], reports)
        assert ctx.w.position() > before
    else:
        with pytest.raises(PermissionDenied):
            ctx.w.app.apply_issue_events(CALLERS[caller], reports)
        assert ctx.w.position() == before


@pytest.mark.parametrize("command", ["edit_objective", "add_key_result", "link_issue"])
def test_stale_if_match_on_invisible_objective_is_not_found(command: str) -> None:
    ctx = build("member", "private", Phase.TRACKING)
    mo = member("mo")
    attempts: dict[str, Callable[[], Any]] = {
        "edit_objective": lambda: ctx.w.app.edit_objective(
            mo, EditObjective(ctx.obj, title="x", expected_version=1)
        ),
        "add_key_result": lambda: ctx.w.app.add_key_result(
            mo, AddKeyResult(ctx.obj, title="x", mode="percentage", expected_version=1)
        ),
        "link_issue": lambda: ctx.w.app.link_issue(
            mo, LinkIssue(ctx.obj, ctx.kr, tracker="github", issue_key="x", expected_version=1)
        ),
    }
    try:
        attempts[command]()
    except VersionMismatch as leak:
        pytest.fail(f"leaked: {leak}")
    except NotFound:
        pass


@pytest.mark.parametrize("via", ["objective", "key_result", "draft"])
def test_aligning_to_an_invisible_private_objective_is_not_found(via: str) -> None:
    ctx = build("member", "private", Phase.DRAFTING)
    mo = member("mo")
    mine = ctx.w.app.draft_objective(
        mo, DraftObjective(cycle_id=ctx.cycle, title="Mine", level="individual")
    ).id
    before = ctx.w.position()
    with pytest.raises(NotFound):
        if via == "objective":
            ctx.w.app.align_objective(mo, AlignObjective(mine, to_objective_id=ctx.obj))
        elif via == "key_result":
            ctx.w.app.align_objective(mo, AlignObjective(mine, to_key_result_id=ctx.kr))
        else:
            ctx.w.app.draft_objective(
                mo,
                DraftObjective(
                    cycle_id=ctx.cycle,
                    title="Also mine",
                    level="individual",
                    aligned_to_key_result_id=ctx.kr,
                ),
            )
    assert ctx.w.position() == before


@pytest.mark.parametrize(
    ("caller", "visibility", "loads_team"),
    [
        ("assignee", "public", False),
        ("participant", "public", False),
        ("admin", "private", False),
        ("assignee", "private", True),  # may they see it? a manager could: the team is asked
        ("manager", "public", True),
        ("member", "public", True),
    ],
)
def test_a_check_in_loads_the_owner_team_only_when_a_rule_needs_it(
    caller: str, visibility: str, loads_team: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The KR's own people on a public objective need no look at the team's managers."""
    ctx = build(caller, visibility, Phase.TRACKING)
    app = ctx.w.app
    asked: list[UUID | None] = []
    real = app.team_managers

    def counting(actor: Actor, team_id: UUID | None) -> frozenset[str]:
        asked.append(team_id)
        return real(actor, team_id)

    monkeypatch.setattr(app, "team_managers", counting)
    try:
        app.check_in(CALLERS[caller], CheckIn(ctx.obj, ctx.kr, status="on_track", percent=10))
    except PermissionDenied:
        assert caller == "member"
    assert bool(asked) is loads_team
