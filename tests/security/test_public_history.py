"""Attacks on ``/history`` in the public event shape (SPEC §11), on both backends.

- Another organization's objective id, or an id of this organization that is
  not an objective (a cycle, a team, a key result), answers 404 in the error
  shape and no event of it.
- A personal note (``career``, ``appraisal``) is absent for a reader without
  rights to it, and everything else they read is what its rightful readers
  read: the same ids, positions and data (ids and positions are not computed
  per reader).
- ``limit`` at and past its bounds, foreign, forged and past-the-end cursors:
  422 or an empty last page, never a 500, and a page boundary changes no event.
- The same request twice at once answers the same events.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from entrypoints.bootstrap import Runtime
from tests.e2e.test_api_support import Api, Headers, assert_error

CAREER = "IVY-CAREER-MARKER-7f3a"


@pytest.fixture
def api(runtime: Runtime) -> Iterator[Api]:
    with TestClient(create_app(runtime)) as client:
        yield Api(client, runtime)


@dataclass
class Org:
    admin: Headers
    ivy: Headers  # owner of the individual objective
    zoe: Headers  # a member of the organization, in no team
    bot: Headers  # an integration token
    cycle: str
    team: str
    objective: str  # Ivy's public individual objective
    kr: str


def build(api: Api, org: str = "acme") -> Org:
    admin = api.token("ada", "admin", org=org)
    ivy, zoe = api.token("ivy", org=org), api.token("zoe", org=org)
    bot = api.token("bot", "integration", org=org)
    today = datetime.now(UTC).date()
    cycle = api.post(
        "/cycles",
        admin,
        {
            "name": "Q",
            "start_date": (today - timedelta(days=10)).isoformat(),
            "end_date": (today + timedelta(days=80)).isoformat(),
            "cadence": "quarter",
        },
        201,
    )["id"]
    api.post(f"/cycles/{cycle}/phase", admin, {"phase": "drafting"}, 200)
    team = api.post("/teams", admin, {"name": "Platform"}, 201)["id"]
    objective = api.post(
        "/objectives",
        ivy,
        {"cycle_id": cycle, "title": "Ivy's goal", "level": "individual"},
        201,
    )["id"]
    kr = api.post(
        f"/objectives/{objective}/key-results", ivy, {"title": "Ship", "mode": "percentage"}, 201
    )["key_result_id"]
    api.post(f"/cycles/{cycle}/phase", admin, {"phase": "tracking"}, 200)
    api.post(
        f"/objectives/{objective}/key-results/{kr}/check-ins",
        ivy,
        {"percent": 20, "status": "on_track", "note": "first"},
        200,
    )
    api.post(f"/objectives/{objective}/notes", ivy, {"topic": "career", "text": CAREER}, 200)
    api.post(f"/objectives/{objective}/notes", zoe, {"topic": "progress", "text": "hi"}, 200)
    api.post(
        f"/objectives/{objective}/key-results/{kr}/check-ins",
        ivy,
        {"percent": 30, "status": "on_track"},
        200,
    )
    return Org(admin, ivy, zoe, bot, cycle, team, objective, kr)


def _history(api: Api, who: Headers, objective: str, **params: Any) -> list[dict[str, Any]]:
    page = api.get(f"/objectives/{objective}/history", who, limit=500, **params)
    assert page["next_cursor"] is None
    events: list[dict[str, Any]] = page["events"]
    return events


def b64(document: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(document).encode()).decode().rstrip("=")


def test_another_organizations_objective_answers_404_and_no_event(api: Api) -> None:
    acme = build(api)
    globex = build(api, org="globex")
    mine = _history(api, acme.admin, acme.objective)
    for who in (globex.admin, globex.ivy, globex.bot):
        response = api.call("GET", f"/objectives/{acme.objective}/history", who)
        assert_error(response, 404)
        for event in mine:
            assert event["id"] not in response.text
        assert CAREER not in response.text
    # An acme cursor on globex's own objective belongs to another list.
    cursor = api.get(f"/objectives/{acme.objective}/history", acme.admin, limit=1)["next_cursor"]
    response = api.call(
        "GET", f"/objectives/{globex.objective}/history", globex.admin, params={"cursor": cursor}
    )
    assert_error(response, 422, "validation_error")


def test_ids_of_other_aggregates_are_not_objectives(api: Api) -> None:
    org = build(api)
    for other in (org.cycle, org.team, org.kr):
        response = api.call("GET", f"/objectives/{other}/history", org.admin)
        assert_error(response, 404)
    response = api.call("GET", "/objectives/not-a-uuid/history", org.admin)
    assert response.status_code == 422


def test_a_personal_note_is_absent_for_readers_without_rights_and_nothing_else_changes(
    api: Api,
) -> None:
    org = build(api)
    full = _history(api, org.ivy, org.objective)
    assert _history(api, org.admin, org.objective) == full
    career = [e for e in full if e["type"] == "NoteAdded" and e["data"]["topic"] == "career"]
    assert len(career) == 1 and career[0]["data"]["text"] == CAREER
    for who in (org.zoe, org.bot):
        response = api.call(
            "GET", f"/objectives/{org.objective}/history", who, params={"limit": 500}
        )
        assert response.status_code == 200
        assert CAREER not in response.text
        assert career[0]["id"] not in response.text
        assert [e for e in full if e is not career[0]] == response.json()["events"]
        # Paged one at a time, the same.
        walked: list[dict[str, Any]] = []
        cursor = None
        while True:
            params: dict[str, Any] = {"limit": 1}
            if cursor is not None:
                params["cursor"] = cursor
            page = api.get(f"/objectives/{org.objective}/history", who, **params)
            walked.extend(page["events"])
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert walked == response.json()["events"]


def test_limits_and_cursors_at_and_past_their_bounds(api: Api) -> None:
    org = build(api)
    path = f"/objectives/{org.objective}/history"
    whole = _history(api, org.admin, org.objective)
    for limit in (1, 500):
        page = api.get(path, org.admin, limit=limit)
        assert page["events"] == whole[:limit]
    for limit in (0, -1, 501, 2**63, "x"):
        assert_error(api.call("GET", path, org.admin, params={"limit": limit}), 422)
    top = 2**63 - 1
    for after in ([top], [len(whole)]):
        page = api.get(
            path, org.admin, cursor=b64({"k": "history", "s": org.objective, "a": after})
        )
        assert page == {"events": [], "next_cursor": None}
    # A cursor naming a position (not a version) resumes by version: no event is
    # skipped or repeated, nothing is revealed.
    position = whole[1]["position"]
    page = api.get(path, org.admin, cursor=b64({"k": "history", "s": org.objective, "a": [2]}))
    assert page["events"] == whole[2:]
    page = api.get(
        path, org.admin, cursor=b64({"k": "history", "s": org.objective, "a": [position]})
    )
    assert page["events"] == whole[position:]
    for forged in (
        b64({"k": "history", "s": org.objective, "a": [-1]}),
        b64({"k": "history", "s": org.objective, "a": [2**64]}),
        b64({"k": "history", "s": org.objective, "a": [1, 2]}),
        b64({"k": "progress-history", "s": org.objective, "a": [1]}),
        b64({"k": "history", "s": org.cycle, "a": [1]}),
        "x" * 513,
        "%%%",
    ):
        response = api.call("GET", path, org.admin, params={"cursor": forged})
        assert_error(response, 422, "validation_error")


def test_the_same_request_twice_at_once_answers_the_same(api: Api) -> None:
    org = build(api)
    path = f"/v1/objectives/{org.objective}/history"

    def read(_: int) -> Any:
        response = api.client.get(path, headers=org.zoe, params={"limit": 500})
        assert response.status_code == 200, response.text
        return response.json()

    with ThreadPoolExecutor(max_workers=2) as pool:
        first, second = pool.map(read, range(2))
    assert first == second
    assert first["events"] and CAREER not in json.dumps(first)
