"""Who may write what (SPEC §7 "who may"): every write endpoint for every kind of caller.

Each cell runs against fresh aggregates (set up through the application, not
HTTP, to keep the matrix fast), so one caller's success can't change the next
caller's answer. Expected: 2xx, 403 (may see, may not do), 404 (may not see:
another organization).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from commands.actor import Actor
from commands.messages import (
    AddKeyResult,
    AdvanceCyclePhase,
    DraftObjective,
    FormTeam,
    LinkIssue,
    PlanCycle,
    SetTeamMember,
)
from domain.values import TokenRole
from entrypoints.bootstrap import Runtime
from tests.e2e.test_api_support import Api, Headers

ROLES = (
    "admin",
    "owner",  # the owner user of an individual objective
    "manager",  # a manager of the owner team of a team objective
    "assignee",
    "participant",
    "member",  # a plain member of the owner team
    "integration",
    "other_admin",  # an admin of another organization
)
USERS = {
    "admin": ("acme", "ada", "admin"),
    "owner": ("acme", "olive", "member"),
    "manager": ("acme", "mia", "member"),
    "assignee": ("acme", "asa", "member"),
    "participant": ("acme", "pat", "member"),
    "member": ("acme", "mo", "member"),
    "integration": ("acme", "ci", "integration"),
    "other_admin": ("globex", "eve", "admin"),
}
ADMIN = Actor("acme", "ada", TokenRole.ADMIN)
_counter = itertools.count()


@pytest.fixture
def api(runtime: Runtime) -> Iterator[Api]:
    with TestClient(create_app(runtime)) as client:
        yield Api(client, runtime)


@dataclass
class World:
    """The shared scene: a team, a tracking cycle, an objective to align to."""

    runtime: Runtime
    team: UUID
    tracking: UUID
    retrospective: UUID
    parent: UUID
    # Per role, an objective in the retrospective cycle (drafted while it could be).
    retro_targets: dict[str, tuple[UUID, UUID]]

    @property
    def app(self) -> Any:
        return self.runtime.app

    def target(self, role: str, cycle: UUID | None = None) -> tuple[UUID, UUID]:
        """A fresh objective for ``role`` (individual of the owner, else team), with a KR
        assigned to asa, pat participating, and one linked issue."""
        if role == "owner":
            written = self.app.draft_objective(
                ADMIN,
                DraftObjective(
                    cycle_id=cycle or self.tracking,
                    title="Olive's objective",
                    level="individual",
                    owner_user_id="olive",
                ),
            )
        else:
            written = self.app.draft_objective(
                ADMIN,
                DraftObjective(
                    cycle_id=cycle or self.tracking,
                    title="Team objective",
                    level="team",
                    owner_team_id=self.team,
                ),
            )
        kr = self.app.add_key_result(
            ADMIN,
            AddKeyResult(
                written.id,
                title="KR",
                mode="percentage",
                assignee_id="asa",
                participant_ids=["pat"],
            ),
        ).key_result_id
        if cycle is None:
            self.app.link_issue(
                ADMIN, LinkIssue(written.id, kr, tracker="github", issue_key="acme/app#1")
            )
        return written.id, kr


def build_world(runtime: Runtime) -> World:
    app = runtime.app
    team = app.form_team(ADMIN, FormTeam(name="Platform", parent_id=None)).id
    for user, role in (("mia", "manager"), ("mo", "member"), ("asa", "member"), ("pat", "member")):
        app.set_team_member(ADMIN, SetTeamMember(team, user_id=user, role=role))

    def cycle(name: str) -> UUID:
        return app.plan_cycle(
            ADMIN,
            PlanCycle(
                name=name,
                start_date=date(2026, 10, 1),
                end_date=date(2026, 12, 31),
                cadence="quarter",
            ),
        ).id

    tracking = cycle("tracking")
    app.advance_cycle_phase(ADMIN, AdvanceCyclePhase(tracking, "drafting"))
    app.advance_cycle_phase(ADMIN, AdvanceCyclePhase(tracking, "tracking"))
    parent = app.draft_objective(
        ADMIN,
        DraftObjective(cycle_id=tracking, title="Org", level="organization", owner_team_id=team),
    ).id
    retrospective = cycle("retro")
    app.advance_cycle_phase(ADMIN, AdvanceCyclePhase(retrospective, "drafting"))
    world = World(runtime, team, tracking, retrospective, parent, {})
    world.retro_targets = {role: world.target(role, retrospective) for role in ROLES}
    app.advance_cycle_phase(ADMIN, AdvanceCyclePhase(retrospective, "tracking"))
    app.advance_cycle_phase(ADMIN, AdvanceCyclePhase(retrospective, "retrospective"))
    return world


EDITORS = {"admin", "owner", "manager"}
WORKERS = EDITORS | {"assignee", "participant"}
EVERYONE = set(ROLES) - {"integration", "other_admin"}


def expect(ok: int, allowed: set[str], *, other: int = 404) -> dict[str, int]:
    """``ok`` for the allowed roles, 404 for another organization, 403 for the rest."""
    return {
        role: ok if role in allowed else other if role == "other_admin" else 403 for role in ROLES
    }


Request = tuple[str, str, Any, dict[str, Any] | None]  # method, path, body, query
Case = Callable[[World, str], Request]


def n() -> int:
    return next(_counter)


def objective_case(method: str, suffix: str, body: Any = None) -> Case:
    def build(world: World, role: str) -> Request:
        objective, kr = world.target(role)
        path = f"/objectives/{objective}{suffix}".replace("{kr}", str(kr))
        payload = body(kr) if callable(body) else body
        return method, path, payload, None

    return build


def draft(level: str) -> Case:
    def build(world: World, role: str) -> Request:
        body: dict[str, Any] = {"cycle_id": str(world.tracking), "title": f"New {n()}"}
        if level == "individual":
            body.update(level="individual", owner_user_id="olive")
        else:
            body.update(level=level, owner_team_id=str(world.team))
        return "POST", "/objectives", body, None

    return build


def unlink(world: World, role: str) -> Request:
    objective, kr = world.target(role)
    query = {"tracker": "github", "issue_key": "acme/app#1"}
    return "DELETE", f"/objectives/{objective}/key-results/{kr}/issues", None, query


def retrospective(world: World, role: str) -> Request:
    objective, _ = world.retro_targets[role]
    body = {"problems": "p", "improvements": "i", "next_focus": "f"}
    return "PUT", f"/objectives/{objective}/retrospective", body, None


def advance(world: World, role: str) -> Request:
    cycle = world.app.plan_cycle(
        ADMIN,
        PlanCycle(
            name="c", start_date=date(2027, 1, 1), end_date=date(2027, 3, 31), cadence="quarter"
        ),
    ).id
    return "POST", f"/cycles/{cycle}/phase", {"phase": "drafting"}, None


def issue_event(world: World, role: str) -> Request:
    body = {
        "event_id": f"e-{n()}",
        "tracker": "github",
        "issue_key": "acme/app#1",
        "status": "done",
        "occurred_at": "2026-11-24T10:00:00Z",
    }
    return "POST", "/issue-events", body, None


CYCLE = {"name": "Q", "start_date": "2027-01-01", "end_date": "2027-03-31", "cadence": "quarter"}

MATRIX: dict[str, tuple[Case, dict[str, int]]] = {
    "POST /teams": (
        lambda w, r: ("POST", "/teams", {"name": "Sub", "parent_id": str(w.team)}, None),
        expect(201, {"admin"}),
    ),
    "POST /teams/{id}/members": (
        lambda w, r: (
            "POST",
            f"/teams/{w.team}/members",
            {"user_id": f"new-{n()}", "role": "member"},
            None,
        ),
        expect(200, {"admin", "manager"}),
    ),
    "POST /cycles": (
        lambda w, r: ("POST", "/cycles", CYCLE, None),
        expect(201, {"admin", "other_admin"}),
    ),
    "POST /cycles/{id}/phase": (advance, expect(200, {"admin"})),
    "POST /objectives (organization)": (draft("organization"), expect(201, {"admin"})),
    "POST /objectives (team)": (draft("team"), expect(201, {"admin", "manager"})),
    "POST /objectives (individual, for olive)": (
        draft("individual"),
        expect(201, {"admin", "owner"}),
    ),
    "PATCH /objectives/{id}": (
        objective_case("PATCH", "", {"title": "Renamed"}),
        expect(200, EDITORS),
    ),
    "PUT /objectives/{id}/alignment": (
        lambda w, r: objective_case("PUT", "/alignment", {"objective_id": str(w.parent)})(w, r),
        expect(200, EDITORS),
    ),
    "POST /objectives/{id}/archive": (objective_case("POST", "/archive"), expect(200, EDITORS)),
    "POST /objectives/{id}/key-results": (
        objective_case("POST", "/key-results", {"title": "More", "mode": "milestone"}),
        expect(201, EDITORS),
    ),
    "PATCH /objectives/{id}/key-results/{kr}": (
        objective_case("PATCH", "/key-results/{kr}", {"title": "Renamed", "assignee_id": "asa"}),
        expect(200, EDITORS),
    ),
    "POST /objectives/{id}/key-results/{kr}/archive": (
        objective_case("POST", "/key-results/{kr}/archive"),
        expect(200, EDITORS),
    ),
    "PUT /objectives/{id}/weights": (
        objective_case("PUT", "/weights", lambda kr: {"weights": {str(kr): 2.5}}),
        expect(200, EDITORS),
    ),
    "POST /objectives/{id}/key-results/{kr}/check-ins": (
        objective_case("POST", "/key-results/{kr}/check-ins", {"percent": 10, "status": "at_risk"}),
        expect(200, WORKERS),
    ),
    "POST /objectives/{id}/key-results/{kr}/issues": (
        objective_case(
            "POST", "/key-results/{kr}/issues", {"tracker": "jira", "issue_key": "OKR-1"}
        ),
        expect(200, WORKERS),
    ),
    "DELETE /objectives/{id}/key-results/{kr}/issues": (unlink, expect(200, WORKERS)),
    "POST /objectives/{id}/notes": (
        objective_case("POST", "/notes", {"topic": "progress", "text": "going well"}),
        expect(200, EVERYONE),
    ),
    "PUT /objectives/{id}/retrospective": (retrospective, expect(200, EDITORS)),
    "POST /issue-events": (issue_event, expect(200, {"admin", "integration", "other_admin"})),
}


def test_every_write_endpoint_for_every_caller(api: Api) -> None:
    world = build_world(api.runtime)
    tokens: dict[str, Headers] = {
        role: api.token(user, kind, org) for role, (org, user, kind) in USERS.items()
    }
    wrong: list[str] = []
    for (name, (case, expected)), role in itertools.product(MATRIX.items(), ROLES):
        method, path, body, query = case(world, role)
        response = api.call(method, path, tokens[role], json=body, params=query)
        if response.status_code != expected[role]:
            wrong.append(
                f"{name} as {role}: expected {expected[role]}, got {response.status_code}"
                f" {response.text[:120]}"
            )
        elif response.status_code >= 400:
            assert set(response.json()["error"]) == {"code", "message"}
    assert not wrong, "\n".join(wrong)


def test_private_objectives_answer_404_to_those_who_may_not_see_them(api: Api) -> None:
    """A plain member must not learn that a private objective exists: 404, never 403."""
    world = build_world(api.runtime)
    app = world.app
    private = app.draft_objective(
        ADMIN,
        DraftObjective(
            cycle_id=world.tracking,
            title="Secret",
            level="team",
            owner_team_id=world.team,
            visibility="private",
        ),
    ).id
    kr = app.add_key_result(
        ADMIN, AddKeyResult(private, title="KR", mode="percentage", assignee_id="asa")
    ).key_result_id
    member = api.token("mo")
    manager = api.token("mia")
    assignee = api.token("asa")
    writes: list[tuple[str, str, Any]] = [
        ("PATCH", f"/objectives/{private}", {"title": "x"}),
        ("PUT", f"/objectives/{private}/alignment", {}),
        ("POST", f"/objectives/{private}/archive", None),
        ("POST", f"/objectives/{private}/key-results", {"title": "x", "mode": "percentage"}),
        ("PATCH", f"/objectives/{private}/key-results/{kr}", {"title": "x"}),
        ("POST", f"/objectives/{private}/key-results/{kr}/archive", None),
        ("PUT", f"/objectives/{private}/weights", {"weights": {str(kr): 1}}),
        (
            "POST",
            f"/objectives/{private}/key-results/{kr}/check-ins",
            {"percent": 1, "status": "on_track"},
        ),
        (
            "POST",
            f"/objectives/{private}/key-results/{kr}/issues",
            {"tracker": "github", "issue_key": "a#1"},
        ),
        ("POST", f"/objectives/{private}/notes", {"topic": "career", "text": "x"}),
        ("PUT", f"/objectives/{private}/retrospective", {}),
        (
            "POST",
            "/objectives",
            {
                "cycle_id": str(world.tracking),
                "title": "Mine",
                "level": "individual",
                "aligned_to_objective_id": str(private),
            },
        ),
    ]
    for method, path, body in writes:
        response = api.call(method, path, member, json=body)
        assert response.status_code == 404, f"{method} {path}: {response.text}"
        assert "Secret" not in response.text
    unlinked = api.call(
        "DELETE",
        f"/objectives/{private}/key-results/{kr}/issues",
        member,
        params={"tracker": "github", "issue_key": "a#1"},
    )
    assert unlinked.status_code == 404
    # Those who may see it: the owner team's manager edits, the assignee checks in.
    api.patch(f"/objectives/{private}", manager, {"description": "ok"}, 200)
    api.post(
        f"/objectives/{private}/key-results/{kr}/check-ins",
        assignee,
        {"percent": 5, "status": "on_track"},
        200,
    )
    api.patch(f"/objectives/{private}", assignee, {"description": "no"}, 403)
