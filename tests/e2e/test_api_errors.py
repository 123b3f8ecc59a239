"""Bad input answers a clear 4xx as {"error": {"code", "message"}}, never a 500.

Malformed bodies (not JSON, wrong types, unknown fields, NaN and huge numbers,
empty or unstorable strings), bad If-Match, bad min_position, bad version and
as_of, bad path ids, missing tokens, and values the domain refuses.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from entrypoints.bootstrap import Runtime
from tests.e2e.test_api_support import Api, Headers, assert_error


@pytest.fixture
def api(runtime: Runtime) -> Iterator[Api]:
    with TestClient(create_app(runtime)) as client:
        yield Api(client, runtime)


@dataclass
class Scene:
    admin: Headers
    team: str
    cycle: str
    objective: str
    percentage: str
    milestone: str
    numeric: str


def build_scene(api: Api) -> Scene:
    admin = api.token("ada", "admin")
    team = api.post("/teams", admin, {"name": "Platform"}, 201)["id"]
    cycle = api.post(
        "/cycles",
        admin,
        {"name": "Q", "start_date": "2026-10-01", "end_date": "2026-12-31", "cadence": "quarter"},
        201,
    )["id"]
    api.post(f"/cycles/{cycle}/phase", admin, {"phase": "drafting"}, 200)
    api.post(f"/cycles/{cycle}/phase", admin, {"phase": "tracking"}, 200)
    objective = api.post(
        "/objectives",
        admin,
        {"cycle_id": cycle, "title": "O", "level": "team", "owner_team_id": team},
        201,
    )["id"]

    def kr(body: dict[str, Any]) -> str:
        return str(
            api.post(f"/objectives/{objective}/key-results", admin, body, 201)["key_result_id"]
        )

    return Scene(
        admin=admin,
        team=team,
        cycle=cycle,
        objective=objective,
        percentage=kr({"title": "P", "mode": "percentage"}),
        milestone=kr({"title": "M", "mode": "milestone", "milestones": ["a", "b"]}),
        numeric=kr({"title": "N", "mode": "numeric", "start": 0, "target": 10}),
    )


def write_endpoints(s: Scene) -> list[tuple[str, str, dict[str, Any]]]:
    """Every write with a JSON body, and a valid body for it."""
    o = f"/objectives/{s.objective}"
    kr = f"{o}/key-results/{s.percentage}"
    return [
        ("POST", "/teams", {"name": "T"}),
        ("POST", f"/teams/{s.team}/members", {"user_id": "u", "role": "member"}),
        (
            "POST",
            "/cycles",
            {
                "name": "C",
                "start_date": "2027-01-01",
                "end_date": "2027-02-01",
                "cadence": "custom",
            },
        ),
        ("POST", f"/cycles/{s.cycle}/phase", {"phase": "retrospective"}),
        (
            "POST",
            "/objectives",
            {"cycle_id": s.cycle, "title": "T", "level": "team", "owner_team_id": s.team},
        ),
        ("PATCH", o, {"title": "T"}),
        ("PUT", f"{o}/alignment", {}),
        ("POST", f"{o}/key-results", {"title": "K", "mode": "percentage"}),
        ("PATCH", kr, {"title": "K"}),
        ("PUT", f"{o}/weights", {"weights": {s.percentage: 1}}),
        ("POST", f"{kr}/check-ins", {"percent": 5, "status": "on_track"}),
        ("POST", f"{kr}/issues", {"tracker": "github", "issue_key": "a#1"}),
        ("POST", f"{o}/notes", {"topic": "progress", "text": "t"}),
        ("PUT", f"{o}/retrospective", {"problems": "p"}),
        (
            "POST",
            "/issue-events",
            {
                "event_id": "e",
                "tracker": "github",
                "issue_key": "a#1",
                "status": "done",
                "occurred_at": "2026-11-24T10:00:00Z",
            },
        ),
    ]


def raw(api: Api, method: str, path: str, who: Headers, content: bytes) -> Any:
    return api.client.request(
        method,
        f"/v1{path}",
        content=content,
        headers={**who, "Content-Type": "application/json"},
    )


def test_malformed_bodies(api: Api) -> None:
    s = build_scene(api)
    for method, path, body in write_endpoints(s):
        where = f"{method} {path}"
        for content in (b"{nope", b'{"a": 1', b"\xff\xfe\x00", b"[" * 50_000 + b"]" * 50_000):
            response = raw(api, method, path, s.admin, content)
            assert response.status_code == 400, f"{where} {content[:10]!r}: {response.text}"
            assert_error(response, 400, "bad_request")
        for content in (b"null", b"[]", b'"text"', b"0", b"true", b"NaN"):
            response = raw(api, method, path, s.admin, content)
            assert response.status_code == 422, f"{where} {content!r}: {response.text}"
            assert_error(response, 422, "validation_error")
        # No body at all.
        response = api.client.request(method, f"/v1{path}", headers=s.admin)
        assert_error(response, 422, "validation_error")
        # Unknown fields are refused, with the valid body otherwise intact.
        response = api.call(method, path, s.admin, json={**body, "surprise": 1})
        assert_error(response, 422, "validation_error")
        assert "surprise" in response.json()["error"]["message"]
        # Every string field: wrong type, unstorable text.
        for field, value in body.items():
            if isinstance(value, str):
                for bad in (3, ["x"], {"x": 1}, "a\x00b", "\ud800"):
                    content = json.dumps({**body, field: bad}).encode()  # \ud800 escaped
                    response = raw(api, method, path, s.admin, content)
                    assert response.status_code == 422, f"{where} {field}={bad!r}: {response.text}"


def test_wrong_values_and_numbers(api: Api) -> None:
    s = build_scene(api)
    o = f"/objectives/{s.objective}"
    pct = f"{o}/key-results/{s.percentage}/check-ins"
    mil = f"{o}/key-results/{s.milestone}/check-ins"
    num = f"{o}/key-results/{s.numeric}/check-ins"
    draft = {"cycle_id": s.cycle, "title": "T", "level": "team", "owner_team_id": s.team}
    cases: list[tuple[str, str, Any]] = [
        # Types and vocabularies.
        ("POST", "/teams", {"name": ""}),
        ("POST", "/teams", {"name": "   "}),
        ("POST", "/teams", {"name": "x" * 501}),
        ("POST", "/teams", {"name": "T", "parent_id": "not-a-uuid"}),
        ("POST", f"/teams/{s.team}/members", {"user_id": "", "role": "member"}),
        ("POST", f"/teams/{s.team}/members", {"user_id": "u", "role": "boss"}),
        ("POST", "/objectives", {**draft, "level": "galaxy"}),
        ("POST", "/objectives", {**draft, "visibility": "secret"}),
        ("POST", "/objectives", {**draft, "cycle_id": 42}),
        ("POST", "/objectives", {**draft, "owner_team_id": None}),
        ("POST", "/objectives", {**draft, "owner_user_id": "bob"}),
        ("POST", "/objectives", {**draft, "title": ""}),
        (
            "POST",
            "/objectives",
            {
                **draft,
                "aligned_to_objective_id": s.objective,
                "aligned_to_key_result_id": s.numeric,
            },
        ),
        ("PATCH", o, {"title": None}),
        ("PATCH", o, {"visibility": None}),
        ("PATCH", o, {"title": ""}),
        ("PATCH", o, {"description": "x" * 10_001}),
        ("POST", f"{o}/key-results", {"title": "K", "mode": "vibes"}),
        ("POST", f"{o}/key-results", {"title": "K", "mode": "percentage", "weight": -1}),
        ("POST", f"{o}/key-results", {"title": "K", "mode": "percentage", "weight": "2"}),
        ("POST", f"{o}/key-results", {"title": "K", "mode": "percentage", "weight": True}),
        ("POST", f"{o}/key-results", {"title": "K", "mode": "percentage", "target": 3}),
        ("POST", f"{o}/key-results", {"title": "K", "mode": "percentage", "milestones": ["a"]}),
        ("POST", f"{o}/key-results", {"title": "K", "mode": "milestone", "milestones": [""]}),
        ("POST", f"{o}/key-results", {"title": "K", "mode": "numeric", "start": 5, "target": 5}),
        ("POST", f"{o}/key-results", {"title": "K", "mode": "numeric", "participant_ids": [""]}),
        ("PATCH", f"{o}/key-results/{s.numeric}", {"target": 0}),
        ("PATCH", f"{o}/key-results/{s.numeric}", {"start": None}),
        ("PATCH", f"{o}/key-results/{s.percentage}", {"target": 4}),
        ("PATCH", f"{o}/key-results/{s.percentage}", {"weight": 4}),
        ("PUT", f"{o}/weights", {"weights": {"not-a-uuid": 1}}),
        ("PUT", f"{o}/weights", {"weights": {s.percentage: -0.5}}),
        ("PUT", f"{o}/weights", {"weights": []}),
        # Check-ins: the value the mode needs, in range.
        (
            "POST",
            pct,
            {"percent": 5, "status": "fine"},
        ),
        ("POST", pct, {"percent": -5, "status": "on_track"}),
        ("POST", pct, {"status": "on_track"}),
        ("POST", pct, {"current": 5, "status": "on_track"}),
        ("POST", pct, {"percent": 5, "status": "on_track", "confidence": 1.5}),
        ("POST", pct, {"percent": "5", "status": "on_track"}),
        ("POST", mil, {"milestones_done": [2], "status": "on_track"}),
        ("POST", mil, {"milestones_done": [-1], "status": "on_track"}),
        ("POST", mil, {"milestones_done": [True], "status": "on_track"}),
        ("POST", mil, {"milestones_done": ["0"], "status": "on_track"}),
        ("POST", mil, {"milestones_done": [10**30], "status": "on_track"}),
        ("POST", num, {"current": "1", "status": "on_track"}),
        # Issues.
        ("POST", f"{o}/key-results/{s.percentage}/issues", {"tracker": "GitHub", "issue_key": "1"}),
        ("POST", f"{o}/key-results/{s.percentage}/issues", {"tracker": "github", "issue_key": ""}),
        (
            "POST",
            f"{o}/key-results/{s.percentage}/issues",
            {"tracker": "github", "issue_key": "1", "estimate": -2},
        ),
        ("POST", f"{o}/notes", {"topic": "gossip", "text": "t"}),
        ("POST", f"{o}/notes", {"topic": "progress", "text": ""}),
        ("PUT", f"{o}/retrospective", {"scores": {s.percentage: 1.5}}),
    ]
    for method, path, body in cases:
        response = api.call(method, path, s.admin, json=body)
        assert response.status_code == 422, f"{method} {path} {body}: {response.text}"
        assert_error(response, 422)
    for constant in (b"NaN", b"Infinity", b"-Infinity", b"1e400", b"1" + b"0" * 400):
        for path, template in (
            (f"{o}/key-results", b'{"title": "K", "mode": "percentage", "weight": %s}'),
            (pct, b'{"percent": %s, "status": "on_track"}'),
            (num, b'{"current": %s, "status": "on_track"}'),
            (f"{o}/weights", b'{"weights": {"' + s.percentage.encode() + b'": %s}}'),
            (f"{o}/retrospective", b'{"scores": {"' + s.percentage.encode() + b'": %s}}'),
        ):
            method = "PUT" if path.endswith(("weights", "retrospective")) else "POST"
            response = raw(api, method, path, s.admin, template % constant)
            assert_error(response, 422, "validation_error")

    # Huge but finite numbers are numbers: they work, and read back finite.
    huge = api.post(
        f"{o}/key-results",
        s.admin,
        {"title": "Huge", "mode": "numeric", "start": -1e308, "target": 1e308, "weight": 1e308},
        201,
    )["key_result_id"]
    api.post(
        f"{o}/key-results/{huge}/check-ins", s.admin, {"current": 1e308, "status": "behind"}, 200
    )
    api.post(pct, s.admin, {"percent": 1e308, "status": "on_track"}, 200)
    doc = api.get(o, s.admin)
    assert 0.0 <= doc["progress"] <= 1.0
    huge_kr = next(kr for kr in doc["key_results"] if kr["id"] == huge)
    assert huge_kr["progress"] == 1.0 and huge_kr["weight"] == 1e308

    # Aligned to itself: its own ancestor.
    itself = api.call("PUT", f"{o}/alignment", s.admin, json={"objective_id": s.objective})
    assert_error(itself, 409, "alignment_cycle")

    # Unknown ids inside the objective.
    unknown = "00000000-0000-4000-8000-000000000000"
    assert_error(api.call("PUT", f"{o}/weights", s.admin, json={"weights": {unknown: 1}}), 404)
    assert_error(
        api.call(
            "POST", f"{o}/key-results/{unknown}/check-ins", s.admin, json={"status": "on_track"}
        ),
        404,
    )
    assert_error(api.call("PUT", f"{o}/alignment", s.admin, json={"key_result_id": unknown}), 404)


def test_issue_events_are_validated_like_the_consumer_does(api: Api) -> None:
    s = build_scene(api)
    valid = {
        "event_id": "e-1",
        "tracker": "github",
        "issue_key": "acme/app#1",
        "status": "done",
        "occurred_at": "2026-11-24T10:00:00Z",
    }
    assert api.post("/issue-events", s.admin, valid, 200)["applied"] is True
    bad: list[dict[str, Any]] = [
        {k: v for k, v in valid.items() if k != "event_id"},
        {**valid, "event_id": ""},
        {**valid, "event_id": "   "},
        {**valid, "event_id": "x" * 201},
        {**valid, "tracker": "Git Hub"},
        {**valid, "issue_key": ""},
        {**valid, "status": "closed"},
        {**valid, "occurred_at": "2026-11-24T10:00:00"},  # no time zone
        {**valid, "occurred_at": "yesterday"},
        {**valid, "occurred_at": 1732442400},
        {**valid, "estimate": "3"},
        {**valid, "estimate": -1},
        {**valid, "estimate": True},
        {**valid, "title": "a\x00b"},
        {**valid, "unknown": 1},
    ]
    for body in bad:
        assert_error(api.call("POST", "/issue-events", s.admin, json=body), 422, "validation_error")
    assert_error(raw(api, "POST", "/issue-events", s.admin, b"{nope"), 400, "bad_request")
    for content in (b"", b"[]"):
        assert_error(raw(api, "POST", "/issue-events", s.admin, content), 422)
    nan = b'{"event_id": "e-2", "tracker": "github", "issue_key": "a", "status": "done",'
    nan += b' "occurred_at": "2026-11-24T10:00:00Z", "estimate": NaN}'
    assert_error(raw(api, "POST", "/issue-events", s.admin, nan), 422)


def test_headers_queries_and_paths(api: Api) -> None:
    s = build_scene(api)
    o = f"/objectives/{s.objective}"

    # Authentication.
    assert_error(api.client.get(f"/v1{o}"), 401, "unauthorized")
    assert_error(api.client.get(f"/v1{o}", headers={"Authorization": "Bearer nope"}), 401)
    assert_error(api.client.get(f"/v1{o}", headers={"Authorization": "Basic eDp5"}), 401)

    # If-Match: bare or quoted numbers only.
    for if_match in ("abc", 'W/"x"', "-1", "1.5", "1" * 19, '"1", "2"'):
        response = api.call(
            "PATCH", o, s.admin, json={"title": "T"}, headers={"If-Match": if_match}
        )
        assert_error(response, 400, "bad_request")
    stale = api.call("PATCH", o, s.admin, json={"title": "T2"}, headers={"If-Match": "999"})
    assert_error(stale, 412, "version_mismatch")
    current = api.get(o, s.admin)["version"]
    for form in ("{}", '"{}"', 'W/"{}"', ' "{}" '):
        if_match = form.format(current)
        written = api.call(
            "PATCH", o, s.admin, json={"description": if_match}, headers={"If-Match": if_match}
        )
        assert written.status_code == 200, (if_match, written.text)
        assert written.json()["version"] == current + 1
        current += 1
    assert api.get(o, s.admin)["description"] == f' "{current - 1}" '

    # min_position: a non-negative position the log has reached.
    for bad in ("-1", "abc", "1.5", str(2**70), "99999999"):
        response = api.client.get(f"/v1{o}", params={"min_position": bad}, headers=s.admin)
        assert_error(response, 422, "validation_error")

    # Time travel: version or as_of, not both, and well-formed.
    for params in (
        {"version": "0"},
        {"version": "-3"},
        {"version": "x"},
        {"version": str(2**40)},
        {"as_of": "yesterday"},
        {"as_of": "2026-13-01T00:00:00Z"},
        {"as_of": "9999-12-31T23:59:59-05:00"},
        {"as_of": "0001-01-01T00:00:00+05:00"},
        {"version": "1", "as_of": "2026-11-24T10:00:00Z"},
    ):
        response = api.client.get(f"/v1{o}", params=params, headers=s.admin)
        assert_error(response, 422, "validation_error")
    # SPEC §9: as_of lies within 1970-01-01..2199-12-31; the bounds themselves are fine
    # times: before the objective, and now.
    for far in ("0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z"):
        assert_error(api.call("GET", o, s.admin, params={"as_of": far}), 422, "validation_error")
    api.get(o, s.admin, expect=404, as_of="1970-01-01T00:00:00Z")
    assert api.get(o, s.admin, as_of="2199-12-31T23:59:59Z")["version"] == current

    # Path ids must be UUIDs; queries must be well-formed.
    for path in (
        "/objectives/nope",
        "/objectives/nope/history",
        f"{o}/key-results/nope/check-ins",
        "/teams/nope",
        "/cycles/nope/tree",
    ):
        response = api.client.request(
            "POST" if path.endswith("check-ins") else "GET",
            f"/v1{path}",
            json={"status": "on_track"},
            headers=s.admin,
        )
        assert_error(response, 422, "validation_error")
    assert_error(
        api.client.get(f"/v1/cycles/{s.cycle}/tree", params={"team_id": "x"}, headers=s.admin), 422
    )
    for params in ({}, {"tracker": "github"}, {"tracker": "GH", "issue_key": "1"}):
        assert_error(api.client.get("/v1/issues", params=params, headers=s.admin), 422)
    assert_error(
        api.client.get(
            "/v1/issues", params={"tracker": "github", "issue_key": "a\x00"}, headers=s.admin
        ),
        422,
    )
    assert_error(
        api.client.delete(f"/v1{o}/key-results/{s.percentage}/issues", headers=s.admin), 422
    )
    missing = api.call(
        "DELETE",
        f"{o}/key-results/{s.percentage}/issues",
        s.admin,
        params={"tracker": "github", "issue_key": "never-linked"},
    )
    assert_error(missing, 404)
    assert_error(
        api.call("GET", "/issues", s.admin, params={"tracker": "x", "issue_key": "1"}), 404
    )
    assert_error(api.client.get("/v1/nowhere", headers=s.admin), 404)
    assert_error(api.client.put("/v1/teams", headers=s.admin), 405)


def test_openapi_documents_every_route(api: Api) -> None:
    spec = api.client.get("/openapi.json").json()
    paths = spec["paths"]
    for path, methods in {
        "/v1/teams": {"get", "post"},
        "/v1/teams/{team_id}": {"get"},
        "/v1/teams/{team_id}/members": {"post"},
        "/v1/cycles/{cycle_id}/tree": {"get"},
        "/v1/cycles/{cycle_id}/review": {"get"},
        "/v1/cycles/{cycle_id}/dashboard": {"get"},
        "/v1/objectives": {"post"},
        "/v1/objectives/{objective_id}": {"get", "patch"},
        "/v1/objectives/{objective_id}/alignment": {"put"},
        "/v1/objectives/{objective_id}/archive": {"post"},
        "/v1/objectives/{objective_id}/history": {"get"},
        "/v1/objectives/{objective_id}/progress-history": {"get"},
        "/v1/objectives/{objective_id}/key-results": {"post"},
        "/v1/objectives/{objective_id}/key-results/{key_result_id}": {"patch"},
        "/v1/objectives/{objective_id}/key-results/{key_result_id}/archive": {"post"},
        "/v1/objectives/{objective_id}/weights": {"put"},
        "/v1/objectives/{objective_id}/key-results/{key_result_id}/check-ins": {"post"},
        "/v1/objectives/{objective_id}/key-results/{key_result_id}/issues": {"post", "delete"},
        "/v1/objectives/{objective_id}/notes": {"post"},
        "/v1/objectives/{objective_id}/retrospective": {"put"},
        "/v1/issues": {"get"},
        "/v1/issue-events": {"post"},
    }.items():
        assert methods <= set(paths[path]), path
        for method in methods:
            operation = paths[path][method]
            assert "404" in operation["responses"] and "422" in operation["responses"], path
            if method != "get":
                assert {"400", "403", "409", "412"} <= set(operation["responses"]), path
                if method in {"post", "put", "patch"} and not path.endswith("archive"):
                    assert "requestBody" in operation, (method, path)
    event = paths["/v1/issue-events"]["post"]["requestBody"]["content"]["application/json"]
    assert set(event["schema"]["properties"]) >= {"event_id", "tracker", "issue_key", "status"}
    read = spec["components"]["schemas"]["ObjectiveOut"]["properties"]
    assert {"expected_progress", "key_results", "retrospective", "version"} <= set(read)
