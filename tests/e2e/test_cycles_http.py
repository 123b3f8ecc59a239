"""The walking skeleton over HTTP: plan a cycle, read it back, move its phase."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from entrypoints.bootstrap import Runtime


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime)) as c:
        yield c


def auth(
    runtime: Runtime, org: str = "acme", user: str = "ada", role: str = "admin"
) -> dict[str, str]:
    _, token = runtime.tokens.create(org, user, role)
    return {"Authorization": f"Bearer {token}"}


CYCLE = {
    "name": "2027 Q1",
    "start_date": "2027-01-01",
    "end_date": "2027-03-31",
    "cadence": "quarter",
}


def test_cycle_created_over_http_reads_back(client: TestClient, runtime: Runtime) -> None:
    admin = auth(runtime)
    created = client.post("/v1/cycles", json=CYCLE, headers=admin)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["version"] == 1 and body["position"] >= 1

    read = client.get(
        f"/v1/cycles/{body['id']}", params={"min_position": body["position"]}, headers=admin
    )
    assert read.status_code == 200, read.text
    assert read.json() == {
        "id": body["id"],
        "name": "2027 Q1",
        "start_date": "2027-01-01",
        "end_date": "2027-03-31",
        "cadence": "quarter",
        "phase": "launch",
        "version": 1,
    }

    moved = client.post(f"/v1/cycles/{body['id']}/phase", json={"phase": "drafting"}, headers=admin)
    assert moved.status_code == 200, moved.text
    assert moved.json()["version"] == 2
    listed = client.get(
        "/v1/cycles", params={"min_position": moved.json()["position"]}, headers=admin
    )
    assert [c["phase"] for c in listed.json()["cycles"]] == ["drafting"]


def test_phase_moves_forward_only_and_if_match_is_checked(
    client: TestClient, runtime: Runtime
) -> None:
    admin = auth(runtime)
    cycle_id = client.post("/v1/cycles", json=CYCLE, headers=admin).json()["id"]
    skipped = client.post(f"/v1/cycles/{cycle_id}/phase", json={"phase": "tracking"}, headers=admin)
    assert skipped.status_code == 409
    assert skipped.json()["error"]["code"] == "phase_rule"
    stale = client.post(
        f"/v1/cycles/{cycle_id}/phase",
        json={"phase": "drafting"},
        headers={**admin, "If-Match": '"7"'},
    )
    assert stale.status_code == 412
    ok = client.post(
        f"/v1/cycles/{cycle_id}/phase",
        json={"phase": "drafting"},
        headers={**admin, "If-Match": "1"},
    )
    assert ok.status_code == 200


def test_errors_are_clear_and_never_500(client: TestClient, runtime: Runtime) -> None:
    admin = auth(runtime)
    assert client.get("/v1/cycles").status_code == 401
    assert client.get("/v1/cycles", headers={"Authorization": "Bearer nope"}).status_code == 401
    bad_dates = client.post("/v1/cycles", json={**CYCLE, "end_date": "2026-12-01"}, headers=admin)
    assert bad_dates.status_code == 422
    assert "start_date" in bad_dates.json()["error"]["message"]
    not_json = client.post(
        "/v1/cycles", content=b"{nope", headers={**admin, "Content-Type": "application/json"}
    )
    assert not_json.status_code == 400
    assert client.post("/v1/cycles", json={"name": 3}, headers=admin).status_code == 422
    member = auth(runtime, user="bob", role="member")
    assert client.post("/v1/cycles", json=CYCLE, headers=member).status_code == 403
    assert client.get("/v1/cycles/not-a-uuid", headers=admin).status_code == 422


def test_other_organizations_cycles_do_not_exist(client: TestClient, runtime: Runtime) -> None:
    acme = auth(runtime)
    globex = auth(runtime, org="globex", user="hank")
    created = client.post("/v1/cycles", json=CYCLE, headers=acme).json()
    cycle_id, position = created["id"], created["position"]
    assert (
        client.get(
            f"/v1/cycles/{cycle_id}", params={"min_position": position}, headers=globex
        ).status_code
        == 404
    )
    assert client.get("/v1/cycles", headers=globex).json() == {"cycles": [], "next_cursor": None}
    moved = client.post(f"/v1/cycles/{cycle_id}/phase", json={"phase": "drafting"}, headers=globex)
    assert moved.status_code == 404
