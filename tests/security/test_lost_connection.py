"""SPEC §9: a lost database connection never answers 500.

A PostgreSQL runtime serves the API in-process; an administrator's connection
terminates every backend of the app's database (``pg_terminate_backend``), as
a database restart or a failover would. Then reads answer 200 (retried once on
a fresh connection) and writes answer 200/201, or 503 ``unavailable`` with
``Retry-After`` when their outcome is unknown; never 500.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from eventsourcing.persistence import OperationalError
from fastapi.testclient import TestClient
from starlette.responses import PlainTextResponse

from api.app import create_app
from api.body_limit import Receive, Scope, Send
from api.lost_connection import LostConnection
from entrypoints.bootstrap import Runtime, build_runtime
from entrypoints.settings import Settings
from tests.conftest import PG_ADMIN_URL


@pytest.fixture(params=[0.0, 60.0], ids=["token-checked-each-time", "token-cached"])
def pg_runtime(pg_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Runtime]:
    """Without the token cache the token query meets the dead connection first; with
    it, the first read of a read model does."""
    runtime = build_runtime(
        Settings(database_url=pg_url, data_dir=tmp_path, token_cache_seconds=request.param)
    )
    runtime.start_following()
    try:
        yield runtime
    finally:
        runtime.close()


def terminate_backends(database: str) -> int:
    """Every connection of ours to ``database`` but this one, gone (not an autovacuum
    worker's, which the test role may not signal)."""
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        rows = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = %s AND pid <> pg_backend_pid() AND usename = current_user",
            (database,),
        ).fetchall()
    return len(rows)


def assert_written_or_unavailable(answer: Any, created: bool) -> None:
    ok = 201 if created else 200
    assert answer.status_code in (ok, 503), f"{answer.status_code} {answer.text}"
    if answer.status_code == 503:
        assert answer.json()["error"]["code"] == "unavailable"
        assert int(answer.headers["retry-after"]) >= 1


@pytest.mark.postgres
def test_reads_and_writes_survive_terminated_connections(pg_runtime: Runtime, pg_url: str) -> None:
    database = pg_url.rsplit("/", 1)[1]
    _, token = pg_runtime.tokens.create("acme", "ada", "admin")
    admin = {"Authorization": f"Bearer {token}"}
    with TestClient(create_app(pg_runtime), raise_server_exceptions=False) as http:
        team = http.post("/v1/teams", json={"name": "Platform"}, headers=admin).json()["id"]
        cycle_body = {
            "name": "Q",
            "start_date": "2026-10-01",
            "end_date": "2026-12-31",
            "cadence": "quarter",
        }
        cycle = http.post("/v1/cycles", json=cycle_body, headers=admin).json()["id"]
        for phase in ("drafting", "tracking"):
            http.post(f"/v1/cycles/{cycle}/phase", json={"phase": phase}, headers=admin)
        drafted = http.post(
            "/v1/objectives",
            json={"cycle_id": cycle, "title": "O", "level": "team", "owner_team_id": team},
            headers=admin,
        ).json()
        objective = drafted["id"]
        kr = http.post(
            f"/v1/objectives/{objective}/key-results",
            json={"title": "P", "mode": "percentage"},
            headers=admin,
        ).json()["key_result_id"]
        linked = http.post(
            f"/v1/objectives/{objective}/key-results/{kr}/issues",
            json={"tracker": "github", "issue_key": "acme/app#1"},
            headers=admin,
        ).json()
        caught_up = http.get(
            f"/v1/objectives/{objective}",
            params={"min_position": linked["position"]},
            headers=admin,
        )
        assert caught_up.status_code == 200, caught_up.text

        reads = [
            "/v1/teams",
            f"/v1/teams/{team}",
            "/v1/cycles",
            f"/v1/cycles/{cycle}",
            f"/v1/cycles/{cycle}/tree",
            f"/v1/cycles/{cycle}/dashboard",
            f"/v1/cycles/{cycle}/review",
            f"/v1/objectives/{objective}",
            f"/v1/objectives/{objective}?version=1",
            f"/v1/objectives/{objective}/history",
            f"/v1/objectives/{objective}/progress-history",
            "/v1/issues?tracker=github&issue_key=acme/app%231",
            "/v1/health",
            f"/dashboard/cycles/{cycle}",
        ]
        for path in reads:
            assert terminate_backends(database) >= 1
            answer = http.get(path, headers=admin)
            assert answer.status_code == 200, f"{path}: {answer.status_code} {answer.text}"

        writes: list[tuple[str, str, dict[str, Any], bool]] = [
            ("POST", "/v1/teams", {"name": "Mobile"}, True),
            ("POST", f"/v1/teams/{team}/members", {"user_id": "max", "role": "member"}, False),
            (
                "POST",
                f"/v1/objectives/{objective}/key-results/{kr}/check-ins",
                {"percent": 40, "status": "on_track"},
                False,
            ),
            ("PATCH", f"/v1/objectives/{objective}", {"title": "O2"}, False),
            (
                "POST",
                f"/v1/objectives/{objective}/notes",
                {"topic": "progress", "text": "n"},
                False,
            ),
        ]
        for method, path, body, created in writes:
            assert terminate_backends(database) >= 1
            answer = http.request(method, path, json=body, headers=admin)
            assert_written_or_unavailable(answer, created)
            # And once the connection is back, the same write goes through.
            again = http.request(method, path, json=body, headers=admin)
            assert again.status_code == (201 if created else 200), f"{path}: {again.text}"


# ---------------------------------------------------------------- the rule itself


class Flaky:
    """A route whose database connection is lost ``failures`` times in a row."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0
        self.revived = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.calls += 1
        message = await receive()
        if self.calls <= self.failures:
            raise OperationalError("terminating connection due to administrator command")
        await PlainTextResponse(f"ok {message.get('body', b'').decode()}")(scope, receive, send)

    def revive(self) -> None:
        self.revived += 1


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_a_read_is_retried_once_on_fresh_connections(method: str) -> None:
    route = Flaky(failures=1)
    http = TestClient(LostConnection(route, route.revive))  # no lifespan: a bare route
    answer = http.request(method, "/v1/teams")
    assert answer.status_code == 200
    assert (route.calls, route.revived) == (2, 1)


def test_a_read_that_fails_twice_is_503_with_retry_after() -> None:
    route = Flaky(failures=2)
    answer = TestClient(LostConnection(route, route.revive)).get("/v1/teams")
    assert answer.status_code == 503 and answer.headers["retry-after"] == "1"
    assert answer.json()["error"]["code"] == "unavailable"
    assert route.calls == 2


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_a_write_is_never_repeated_by_the_server(method: str) -> None:
    route = Flaky(failures=1)
    http = TestClient(LostConnection(route, route.revive))
    answer = http.request(method, "/v1/teams", content=b'{"name": "T"}')
    assert answer.status_code == 503 and answer.headers["retry-after"] == "1"
    assert answer.json()["error"]["code"] == "unavailable"
    assert (route.calls, route.revived) == (1, 1), "its outcome is unknown: the caller decides"
    assert http.request(method, "/v1/teams", content=b"x").text == "ok x"


# ---------------------------------------------------------------- a write's outcome


def _terminate(pid: int) -> None:
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,))


@pytest.mark.postgres
@pytest.mark.parametrize("when", ["before-commit", "at-commit"])
def test_a_write_is_retried_only_while_nothing_can_have_been_committed(
    pg_runtime: Runtime, when: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The events' connection breaks before the COMMIT (the server rolls back: retried,
    200) or while it is on its way (outcome unknown: 503, never recorded twice)."""
    _, token = pg_runtime.tokens.create("acme", "ada", "admin")
    admin = {"Authorization": f"Bearer {token}"}
    recorder = pg_runtime.app.recorder
    with TestClient(create_app(pg_runtime), raise_server_exceptions=False) as http:
        team = http.post("/v1/teams", json={"name": "Platform"}, headers=admin).json()["id"]
        cycle = http.post(
            "/v1/cycles",
            json={
                "name": "Q",
                "start_date": "2026-10-01",
                "end_date": "2026-12-31",
                "cadence": "quarter",
            },
            headers=admin,
        ).json()["id"]
        for phase in ("drafting", "tracking"):
            http.post(f"/v1/cycles/{cycle}/phase", json={"phase": phase}, headers=admin)
        objective = http.post(
            "/v1/objectives",
            json={"cycle_id": cycle, "title": "O", "level": "team", "owner_team_id": team},
            headers=admin,
        ).json()["id"]
        kr = http.post(
            f"/v1/objectives/{objective}/key-results",
            json={"title": "P", "mode": "percentage"},
            headers=admin,
        ).json()["key_result_id"]

        broken: list[int] = []
        name = (
            "_insert_stored_events" if when == "before-commit" else "_fetch_ids_after_insert_events"
        )
        original = getattr(type(recorder), name)

        def breaking(self: Any, curs: Any, *args: Any, **kwargs: Any) -> Any:
            if not broken:
                broken.append(curs.connection.info.backend_pid)
                if when == "before-commit":
                    _terminate(broken[0])
                    return original(self, curs, *args, **kwargs)
                found = original(self, curs, *args, **kwargs)
                _terminate(broken[0])  # the INSERT ran; the COMMIT has not been sent
                return found
            return original(self, curs, *args, **kwargs)

        monkeypatch.setattr(type(recorder), name, breaking)
        path = f"/v1/objectives/{objective}/key-results/{kr}/check-ins"
        body = {"percent": 40, "status": "on_track"}
        answer = http.post(path, json=body, headers=admin)
        assert broken, "the connection was broken"
        if when == "before-commit":
            assert answer.status_code == 200, answer.text
        else:
            assert answer.status_code == 503, answer.text
            assert answer.json()["error"]["code"] == "unavailable"
            assert answer.headers["retry-after"] == "1"
            # The client sends it again: recorded once.
            assert http.post(path, json=body, headers=admin).status_code == 200
        history = http.get(f"/v1/objectives/{objective}/history", headers=admin).json()
        checked_in = [e for e in history["events"] if "CheckedIn" in e["type"]]
        assert len(checked_in) == 1, [e["type"] for e in history["events"]]
