"""SPEC §9 anonymous health: positions (global across organizations) only for admins,
and no error message reveals the log's end."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from entrypoints.bootstrap import Runtime
from tests.e2e.test_api_support import Api, assert_error


@pytest.fixture
def api(runtime: Runtime) -> Iterator[Api]:
    with TestClient(create_app(runtime)) as client:
        yield Api(client, runtime)


def test_health_without_an_admin_token_answers_only_status_and_mode(api: Api) -> None:
    admin = api.token("ada", "admin")
    api.post("/teams", admin, {"name": "Platform"}, 201)
    mode = "embedded" if api.runtime.settings.embedded else "postgres"
    for who in (
        {},
        api.token("max", "member"),
        api.token("bot", "integration"),
        {"Authorization": "Bearer okr_not-a-token"},
        {"Authorization": "Bearer "},
        {"Authorization": "Basic YTpi"},
    ):
        answer = api.client.get("/v1/health", headers=who)
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"status": "ok", "mode": mode}, who


def test_an_admin_also_sees_the_positions(api: Api) -> None:
    admin = api.token("ada", "admin")
    written = api.post("/teams", admin, {"name": "Platform"}, 201)["position"]
    answer = api.client.get("/v1/health", headers=admin)
    assert answer.status_code == 200
    body = answer.json()
    assert set(body) == {
        "status",
        "mode",
        "position",
        "read_models",
        "generations",
        "alignment_cycles",
        "parked",
        "parked_elsewhere",
    }
    assert body["alignment_cycles"] == [] and body["parked"] == []
    assert body["parked_elsewhere"] == 0
    assert body["status"] == "ok" and body["position"] >= written
    assert set(body["read_models"]) >= {"cycles", "teams", "objectives", "issue_links"}
    served = body["generations"]["objectives"]
    assert served["version"] == 1 and served["partitions"] == 1
    assert served["building"] is False and served["generation"] >= 1


def test_a_degraded_status_is_still_told_to_anyone(api: Api) -> None:
    # The follower clears its error after each good batch (once a second): stop it,
    # so the failure set here is the one health reports.
    api.runtime.follower.stop()
    api.runtime.follower.error = RuntimeError("a batch keeps failing")
    try:
        answer = api.client.get("/v1/health")
        assert answer.json()["status"] == "degraded"
        assert set(answer.json()) == {"status", "mode"}
    finally:
        api.runtime.follower.error = None


def test_min_position_beyond_the_log_does_not_say_where_the_log_ends(api: Api) -> None:
    admin = api.token("ada", "admin")
    for name in ("A", "B", "C"):
        api.post("/teams", admin, {"name": name}, 201)
    end = api.runtime.app.recorder.max_notification_id()
    asked = 10**15
    answer = api.client.get("/v1/teams", params={"min_position": asked}, headers=admin)
    assert_error(answer, 422, "validation_error")
    numbers = re.findall(r"\d+", answer.json()["error"]["message"])
    assert numbers == [str(asked)], f"the message names another number (log end {end})"


def test_an_anonymous_min_position_is_refused_for_the_token_first(api: Api) -> None:
    admin = api.token("ada", "admin")
    api.post("/teams", admin, {"name": "A"}, 201)
    for asked in (1, 10**15):
        answer = api.client.get("/v1/teams", params={"min_position": asked})
        assert_error(answer, 401, "unauthorized")
