"""Tenant isolation and private objectives over HTTP.

Another organization's ids answer 404 on every endpoint, reads and writes
alike, and nothing of the other organization shows in any answer. Private
objectives are invisible (404, absent from tree, dashboard, review, issue
links) to members who may not see them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from entrypoints.bootstrap import Runtime
from tests.e2e.test_api_support import Api, Headers, assert_error

SECRET = "Acme confidential"


@pytest.fixture
def api(runtime: Runtime) -> Iterator[Api]:
    with TestClient(create_app(runtime)) as client:
        yield Api(client, runtime)


@dataclass
class Acme:
    admin: Headers
    ivy: Headers
    leo: Headers
    team: str
    cycle: str
    public: str
    public_kr: str
    private: str
    private_kr: str


def build_acme(api: Api) -> Acme:
    """Acme: a team, a tracking cycle, a public team objective and Ivy's private one,
    both working on the issue acme/app#1."""
    admin, ivy, leo = api.token("ada", "admin"), api.token("ivy"), api.token("leo")
    today = datetime.now(UTC).date()
    cycle = api.post(
        "/cycles",
        admin,
        {
            "name": f"{SECRET} cycle",
            "start_date": (today - timedelta(days=10)).isoformat(),
            "end_date": (today + timedelta(days=80)).isoformat(),
            "cadence": "quarter",
        },
        201,
    )["id"]
    api.post(f"/cycles/{cycle}/phase", admin, {"phase": "drafting"}, 200)
    team = api.post("/teams", admin, {"name": f"{SECRET} team"}, 201)["id"]
    api.post(f"/teams/{team}/members", admin, {"user_id": "leo", "role": "member"}, 200)
    public = api.post(
        "/objectives",
        admin,
        {
            "cycle_id": cycle,
            "title": f"{SECRET} public objective",
            "level": "team",
            "owner_team_id": team,
        },
        201,
    )["id"]
    public_kr = api.post(
        f"/objectives/{public}/key-results",
        admin,
        {"title": f"{SECRET} KR", "mode": "aligned"},
        201,
    )["key_result_id"]
    private = api.post(
        "/objectives",
        ivy,
        {
            "cycle_id": cycle,
            "title": "Ivy's private plan",
            "level": "individual",
            "visibility": "private",
            "aligned_to_key_result_id": public_kr,
        },
        201,
    )["id"]
    private_kr = api.post(
        f"/objectives/{private}/key-results",
        ivy,
        {"title": "Ivy's private KR", "mode": "issues"},
        201,
    )["key_result_id"]
    api.post(f"/cycles/{cycle}/phase", admin, {"phase": "tracking"}, 200)
    for objective, kr, who in ((public, public_kr, admin), (private, private_kr, ivy)):
        api.post(
            f"/objectives/{objective}/key-results/{kr}/issues",
            who,
            {"tracker": "github", "issue_key": "acme/app#1", "estimate": 2},
            200,
        )
    api.post(
        "/issue-events",
        admin,
        {
            "event_id": "acme-1",
            "tracker": "github",
            "issue_key": "acme/app#1",
            "status": "in_progress",
            "occurred_at": "2026-11-24T10:00:00Z",
            "title": f"{SECRET} issue",
        },
        200,
    )
    api.post(f"/objectives/{private}/notes", ivy, {"topic": "career", "text": "private note"}, 200)
    return Acme(admin, ivy, leo, team, cycle, public, public_kr, private, private_kr)


def test_another_organizations_ids_answer_404_everywhere(api: Api) -> None:
    acme = build_acme(api)
    eve = api.token("eve", "admin", org="globex")
    # Globex has a cycle and objective of its own, to try cross-tenant links from.
    own_cycle = api.post(
        "/cycles",
        eve,
        {"name": "G", "start_date": "2026-10-01", "end_date": "2026-12-31", "cadence": "quarter"},
        201,
    )["id"]
    api.post(f"/cycles/{own_cycle}/phase", eve, {"phase": "drafting"}, 200)
    own_team = api.post("/teams", eve, {"name": "G team"}, 201)["id"]
    own = api.post(
        "/objectives",
        eve,
        {"cycle_id": own_cycle, "title": "G", "level": "team", "owner_team_id": own_team},
        201,
    )["id"]
    before = api.get(f"/objectives/{acme.public}", acme.admin)

    a = acme
    as_of = datetime.now(UTC).isoformat()
    reads: list[tuple[str, dict[str, Any]]] = [
        (f"/teams/{a.team}", {}),
        (f"/cycles/{a.cycle}", {}),
        (f"/cycles/{a.cycle}/tree", {}),
        (f"/cycles/{a.cycle}/review", {}),
        (f"/cycles/{a.cycle}/dashboard", {}),
        (f"/cycles/{own_cycle}/tree", {"team_id": a.team}),
        (f"/cycles/{own_cycle}/dashboard", {"team_id": a.team}),
        (f"/objectives/{a.public}", {}),
        (f"/objectives/{a.public}", {"version": 1}),
        (f"/objectives/{a.public}", {"as_of": as_of}),
        (f"/objectives/{a.public}/history", {}),
        (f"/objectives/{a.public}/progress-history", {}),
        (f"/objectives/{a.private}", {}),
        ("/issues", {"tracker": "github", "issue_key": "acme/app#1"}),
    ]
    for path, params in reads:
        response = api.call("GET", path, eve, params=params)
        assert_error(response, 404, "not_found")
        assert SECRET not in response.text

    assert api.get("/teams", eve)["teams"] == [
        {"id": own_team, "name": "G team", "parent_id": None, "version": 1, "members": []}
    ]
    assert [c["id"] for c in api.get("/cycles", eve)["cycles"]] == [own_cycle]
    for view in ("tree", "review", "dashboard"):
        assert SECRET not in api.call("GET", f"/cycles/{own_cycle}/{view}", eve).text

    kr = f"/objectives/{a.public}/key-results/{a.public_kr}"
    writes: list[tuple[str, str, Any, dict[str, Any] | None]] = [
        ("POST", "/teams", {"name": "x", "parent_id": a.team}, None),
        ("POST", f"/teams/{a.team}/members", {"user_id": "eve", "role": "manager"}, None),
        ("POST", f"/cycles/{a.cycle}/phase", {"phase": "retrospective"}, None),
        ("POST", "/objectives", {"cycle_id": a.cycle, "title": "x", "level": "individual"}, None),
        (
            "POST",
            "/objectives",
            {"cycle_id": own_cycle, "title": "x", "level": "team", "owner_team_id": a.team},
            None,
        ),
        (
            "POST",
            "/objectives",
            {
                "cycle_id": own_cycle,
                "title": "x",
                "level": "individual",
                "owner_user_id": "eve",
                "aligned_to_objective_id": a.public,
            },
            None,
        ),
        (
            "POST",
            "/objectives",
            {
                "cycle_id": own_cycle,
                "title": "x",
                "level": "individual",
                "owner_user_id": "eve",
                "aligned_to_key_result_id": a.public_kr,
            },
            None,
        ),
        ("PUT", f"/objectives/{own}/alignment", {"objective_id": a.public}, None),
        ("PUT", f"/objectives/{own}/alignment", {"key_result_id": a.public_kr}, None),
        ("PATCH", f"/objectives/{a.public}", {"title": "pwned"}, None),
        ("PUT", f"/objectives/{a.public}/alignment", {}, None),
        ("POST", f"/objectives/{a.public}/archive", None, None),
        ("POST", f"/objectives/{a.public}/key-results", {"title": "x", "mode": "issues"}, None),
        ("PATCH", kr, {"title": "x"}, None),
        ("POST", f"{kr}/archive", None, None),
        ("PUT", f"/objectives/{a.public}/weights", {"weights": {a.public_kr: 0}}, None),
        ("POST", f"{kr}/check-ins", {"status": "behind"}, None),
        ("POST", f"{kr}/issues", {"tracker": "github", "issue_key": "acme/app#2"}, None),
        ("DELETE", f"{kr}/issues", None, {"tracker": "github", "issue_key": "acme/app#1"}),
        ("POST", f"/objectives/{a.public}/notes", {"topic": "progress", "text": "x"}, None),
        ("PUT", f"/objectives/{a.public}/retrospective", {}, None),
    ]
    for method, path, body, query in writes:
        response = api.call(method, path, eve, json=body, params=query)
        assert_error(response, 404, "not_found")
        assert SECRET not in response.text

    # An issue event from Globex about "the same" issue is Globex's own issue.
    event = {
        "event_id": "globex-1",
        "tracker": "github",
        "issue_key": "acme/app#1",
        "status": "done",
        "occurred_at": "2026-11-25T10:00:00Z",
    }
    api.post("/issue-events", eve, event, 200)
    assert api.get("/issues", eve, tracker="github", issue_key="acme/app#1")["key_results"] == []
    assert api.get("/issues", a.admin, tracker="github", issue_key="acme/app#1")["status"] == (
        "in_progress"
    )
    after = api.get(f"/objectives/{a.public}", a.admin)
    pace = "expected_progress"  # moves with the clock
    assert {**after, pace: None} == {**before, pace: None}


def test_private_objectives_are_invisible_to_those_who_may_not_see_them(api: Api) -> None:
    a = build_acme(api)
    for params in ({}, {"version": 1}, {"as_of": datetime.now(UTC).isoformat()}):
        assert_error(api.call("GET", f"/objectives/{a.private}", a.leo, params=params), 404)
    for suffix in ("history", "progress-history"):
        response = api.call("GET", f"/objectives/{a.private}/{suffix}", a.leo)
        assert_error(response, 404)
        assert "private" not in response.text

    # Ivy and the admin see it; Leo sees the public objective without it.
    assert api.get(f"/objectives/{a.private}", a.ivy)["title"] == "Ivy's private plan"
    notes = api.get(f"/objectives/{a.private}/history", a.admin)["events"]
    assert notes[-1]["data"]["text"] == "private note"

    def tree_ids(who: Headers) -> set[str]:
        found: set[str] = set()

        def walk(nodes: list[dict[str, Any]]) -> None:
            for node in nodes:
                found.add(node["id"])
                walk(node["children"])

        walk(api.get(f"/cycles/{a.cycle}/tree", who)["objectives"])
        return found

    assert tree_ids(a.ivy) == {a.public, a.private}
    assert tree_ids(a.leo) == {a.public}

    def dashboard(who: Headers) -> dict[str, Any]:
        return dict(api.get(f"/cycles/{a.cycle}/dashboard", who))

    assert dashboard(a.admin)["objective_count"] == 2
    leo_board = dashboard(a.leo)
    assert leo_board["objective_count"] == 1
    assert {s["objective_id"] for s in leo_board["stale_key_results"]} == {a.public}

    def reviewed(who: Headers) -> set[str]:
        return {w["objective_id"] for w in api.get(f"/cycles/{a.cycle}/review", who)["warnings"]}

    assert a.private in reviewed(a.ivy)
    assert a.private not in reviewed(a.leo)

    def links(who: Headers) -> list[dict[str, str]]:
        issue = api.get("/issues", who, tracker="github", issue_key="acme/app#1")
        return list(issue["key_results"])

    assert {link["objective_id"] for link in links(a.ivy)} == {a.public, a.private}
    assert links(a.leo) == [{"objective_id": a.public, "key_result_id": a.public_kr}]

    # The owner team's manager sees a private team objective; other members don't.
    mia = api.token("mia")
    api.post(f"/teams/{a.team}/members", a.admin, {"user_id": "mia", "role": "manager"}, 200)
    hidden = api.post(
        "/objectives",
        a.admin,
        {
            "cycle_id": a.cycle,
            "title": "Team secret",
            "level": "team",
            "owner_team_id": a.team,
            "visibility": "private",
        },
        201,
    )["id"]
    assert api.get(f"/objectives/{hidden}", mia)["title"] == "Team secret"
    assert_error(api.call("GET", f"/objectives/{hidden}", a.leo), 404)
    assert hidden in tree_ids(mia) and hidden not in tree_ids(a.leo)
    # Made public, it shows to everyone.
    api.patch(f"/objectives/{hidden}", mia, {"visibility": "public"}, 200)
    assert hidden in tree_ids(a.leo)
