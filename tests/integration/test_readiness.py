"""SPEC §14 readiness: ``GET /v1/health/ready`` is 200 only while the event store
answers and every read model is within ``OKR_READY_MAX_LAG`` seconds.

A read model's lag is the age of the oldest event it has not applied: with
the projections stopped, a write makes the API unready once that write is
older than the limit, and the answer names the read models, nothing of the
organization's.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from entrypoints.bootstrap import Runtime, build_runtime
from entrypoints.settings import Settings
from tests.conftest import PG_ADMIN_URL
from tests.e2e.test_api_support import Api, assert_error

MAX_LAG = 1.0


@pytest.fixture
def api(backend: Settings) -> Iterator[Api]:
    runtime = build_runtime(backend.model_copy(update={"ready_max_lag": MAX_LAG}))
    runtime.start_following()
    try:
        with TestClient(create_app(runtime)) as client:
            yield Api(client, runtime)
    finally:
        runtime.close()


def wait_for_status(api: Api, status: int, seconds: float = 30.0) -> dict[str, object]:
    deadline = time.monotonic() + seconds
    while True:
        answer = api.client.get("/v1/health/ready")
        if answer.status_code == status or time.monotonic() > deadline:
            assert answer.status_code == status, answer.text
            body: dict[str, object] = answer.json()
            return body
        time.sleep(0.2)


def test_ready_on_an_empty_log_and_when_caught_up(api: Api) -> None:
    assert api.client.get("/v1/health/ready").json() == {"status": "ready"}
    admin = api.token("ada", "admin", org="org-ready-4d2")
    api.post("/teams", admin, {"name": "Platform"}, 201)
    assert api.runtime.wait_for(api.position)
    answer = api.client.get("/v1/health/ready")  # no token: a load balancer sends none
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"status": "ready"}


def test_unready_once_an_unapplied_event_is_older_than_the_limit(api: Api) -> None:
    admin = api.token("ada", "admin", org="org-ready-4d2")
    api.post("/teams", admin, {"name": "Platform"}, 201)
    assert api.runtime.wait_for(api.position)
    api.runtime.follower.stop()  # the projections stop; the API goes on writing
    team = api.post("/teams", admin, {"name": "Secret name"}, 201)
    body = wait_for_status(api, 503)
    answer = api.client.get("/v1/health/ready")
    assert_error(answer, 503, "not_ready")
    message = str(answer.json()["error"]["message"])
    for model in api.runtime.follower.models:
        assert f"read model {model.name} is" in message
    for secret in ("org-ready-4d2", "ada", "Secret name", team["id"]):
        assert secret not in str(body), f"readiness tells {secret!r}"


def test_a_lag_under_the_limit_is_still_ready(backend: Settings) -> None:
    runtime: Runtime = build_runtime(backend.model_copy(update={"ready_max_lag": 3600.0}))
    try:
        with TestClient(create_app(runtime)) as client:
            api = Api(client, runtime)
            admin = api.token("ada", "admin")
            api.post("/teams", admin, {"name": "Platform"}, 201)  # never projected
            time.sleep(MAX_LAG + 0.1)  # older than the other tests' limit, not this one
            assert client.get("/v1/health/ready").status_code == 200
            runtime.follower.catch_up()
            assert client.get("/v1/health/ready").status_code == 200
    finally:
        runtime.close()


@pytest.mark.postgres
def test_unready_when_the_event_store_does_not_answer(pg_url: str, tmp_path: Path) -> None:
    runtime = build_runtime(Settings(database_url=pg_url, data_dir=tmp_path))
    try:
        with TestClient(create_app(runtime)) as client:
            assert client.get("/v1/health/ready").status_code == 200
            name = pg_url.rpartition("/")[2]
            with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')  # its connections too
            answer = client.get("/v1/health/ready")
            assert_error(answer, 503, "not_ready")
            # The store library retries a lost database for seconds: the poll answers first.
            assert answer.json()["error"]["message"] in (
                "not ready: the event store does not answer",
                "not ready: the stores do not answer within 2 s",
            )
            assert name not in answer.text
    finally:
        runtime.close()
