"""SPEC §9 tokens: never in logs, never in a URL, may expire; no GET sets a cookie.

The dashboard signs in with a POST form that only our own pages may submit
(login CSRF), ``?token=`` is ignored, sign-out is a POST with the form's token,
tokens carry an ``expires_at`` (added to older databases by a migration) that
the API, the dashboard and the token cache all obey, and the access log of a
real server, one process or several, shows no query string's values.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from api.access_log import REDACTED, RedactQueryStrings, redact_query
from api.app import create_app
from api.tokens import TokenStore, hash_token, parse_expires_in
from entrypoints.bootstrap import Runtime, build_runtime, views_env
from entrypoints.settings import Settings
from projections.store import open_view_store
from tests.e2e.servers import free_port, wait_for_health

ROOT = Path(__file__).resolve().parents[2]
SECRET = "okr_s3cr3t-in-the-address"


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(
        create_app(runtime), base_url="http://okr.test", follow_redirects=False
    ) as http:
        yield http


def _signed_in(client: TestClient, token: str) -> str:
    answer = client.post(
        "/dashboard/sign-in",
        data={"token": token, "next": "/dashboard"},
        headers={"Origin": "http://okr.test"},
    )
    assert answer.status_code == 303, answer.text
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', client.get("/dashboard/cycles/x").text)
    assert csrf is not None
    return csrf.group(1)


# ---------------------------------------------------------------- never in a URL


def test_a_token_in_the_address_is_ignored_and_never_echoed(
    client: TestClient, runtime: Runtime
) -> None:
    _, token = runtime.tokens.create("acme", "ada", "admin")
    for path in ("/dashboard", "/dashboard/cycles/x", "/dashboard/objectives/x"):
        answer = client.get(path, params={"token": token})
        assert answer.status_code == 401, path
        assert "set-cookie" not in answer.headers
        assert token not in answer.text
        assert 'name="next" value="' + path + '"' in answer.text, "the form returns here"
    # The API never took one from the address either.
    assert client.get("/v1/teams", params={"token": token}).status_code == 401


def test_no_get_sets_or_clears_a_cookie(client: TestClient, runtime: Runtime) -> None:
    _, token = runtime.tokens.create("acme", "ada", "admin")
    revoked_id, revoked = runtime.tokens.create("acme", "bob", "admin")
    runtime.tokens.revoke(revoked_id)
    paths = ["/dashboard", "/dashboard/cycles/x", "/dashboard/objectives/x", "/dashboard/logout"]
    paths += ["/dashboard/sign-in", "/v1/health", "/v1/teams"]
    for cookie in (None, token, revoked, "okr_garbage"):
        client.cookies.clear()
        if cookie:
            client.cookies.set("okr_token", cookie, domain="okr.test", path="/dashboard")
        for path in paths:
            for params in ({}, {"token": token}):
                answer = client.get(path, params=params, follow_redirects=False)
                assert "set-cookie" not in answer.headers, (path, cookie, answer.status_code)
                assert answer.status_code < 500


def test_the_sign_in_form_sets_an_http_only_strict_cookie(
    client: TestClient, runtime: Runtime
) -> None:
    _, token = runtime.tokens.create("acme", "ada", "admin")
    page = client.get("/dashboard")
    assert page.status_code == 401
    assert '<form class="sign-in" method="post" action="/dashboard/sign-in">' in page.text
    answer = client.post(
        "/dashboard/sign-in",
        data={"token": token, "next": "/dashboard"},
        headers={"Origin": "http://okr.test", "Sec-Fetch-Site": "same-origin"},
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/dashboard"
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/dashboard" in cookie
    assert client.get("/dashboard", follow_redirects=True).status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Origin": "http://okr.test.evil.example"},
        {"Referer": "https://evil.example/login"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site", "Origin": "http://okr.test"},
        {"Origin": "https://evil.example", "Referer": "http://okr.test/dashboard"},
    ],
)
def test_login_csrf_from_another_site_is_refused(
    client: TestClient, runtime: Runtime, headers: dict[str, str]
) -> None:
    """Another site cannot sign a visitor in with the attacker's token."""
    _, attacker = runtime.tokens.create("evil", "eve", "admin")
    answer = client.post(
        "/dashboard/sign-in", data={"token": attacker, "next": "/dashboard"}, headers=headers
    )
    assert answer.status_code == 403
    assert "set-cookie" not in answer.headers
    assert attacker not in answer.text


def test_a_same_site_referer_without_origin_is_accepted(
    client: TestClient, runtime: Runtime
) -> None:
    _, token = runtime.tokens.create("acme", "ada", "admin")
    answer = client.post(
        "/dashboard/sign-in",
        data={"token": token},
        headers={"Referer": "http://okr.test/dashboard/cycles/x"},
    )
    assert answer.status_code == 303 and "set-cookie" in answer.headers


@pytest.mark.parametrize(
    "wanted",
    [
        "https://evil.example/",
        "//evil.example/dashboard",
        "/\\evil.example",
        "/v1/teams",
        "/dashboardevil",
        "javascript:alert(1)",
        "",
    ],
)
def test_sign_in_never_redirects_off_the_dashboard(
    client: TestClient, runtime: Runtime, wanted: str
) -> None:
    _, token = runtime.tokens.create("acme", "ada", "admin")
    answer = client.post("/dashboard/sign-in", data={"token": token, "next": wanted})
    assert answer.status_code == 303
    assert answer.headers["location"] == "/dashboard"


def test_a_bad_token_in_the_form_sets_nothing(client: TestClient) -> None:
    for token in ("", "okr_unknown", "x" * 5000, "\x00"):
        answer = client.post("/dashboard/sign-in", data={"token": token})
        assert answer.status_code == 401
        assert "set-cookie" not in answer.headers


def test_sign_out_is_a_post_with_the_forms_token(client: TestClient, runtime: Runtime) -> None:
    _, token = runtime.tokens.create("acme", "ada", "admin")
    csrf = _signed_in(client, token)
    assert client.get("/dashboard/logout").status_code == 405
    for refused in (
        {"data": {}},
        {"data": {"csrf": "0" * 64}},
        {"data": {"csrf": csrf}, "headers": {"Origin": "https://evil.example"}},
    ):
        answer = client.post("/dashboard/logout", **refused)  # type: ignore[arg-type]
        assert answer.status_code == 403 and "set-cookie" not in answer.headers
    assert client.get("/dashboard", follow_redirects=True).status_code == 200, "still signed in"
    out = client.post("/dashboard/logout", data={"csrf": csrf})
    assert out.status_code == 200 and 'okr_token=""' in out.headers["set-cookie"]


# ---------------------------------------------------------------- expiry


def test_an_expired_token_is_401_everywhere(client: TestClient, runtime: Runtime) -> None:
    token_id, token = runtime.tokens.create("acme", "ada", "admin", expires_in=timedelta(hours=1))
    bearer = {"Authorization": f"Bearer {token}"}
    assert client.get("/v1/teams", headers=bearer).status_code == 200
    past = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
    with runtime.store.transaction() as tx:
        tx.execute(
            "UPDATE okr_api_tokens SET expires_at = :at WHERE token_id = :id",
            {"at": past, "id": token_id},
        )
    runtime.tokens._valid.clear()  # what the cache knew (another test covers the cache)
    answer = client.get("/v1/teams", headers=bearer)
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "unauthorized"
    assert client.get("/dashboard", headers=bearer).status_code == 401
    refused = client.post("/dashboard/sign-in", data={"token": token})
    assert refused.status_code == 401 and "set-cookie" not in refused.headers
    health = client.get("/v1/health", headers=bearer).json()
    assert set(health) == {"status", "mode"}, "an expired admin is anonymous"
    listed = {info.token_id: info for info in runtime.tokens.list("acme")}
    assert listed[token_id].expires_at == past and listed[token_id].expired(datetime.now(UTC))


class Clocks:
    def __init__(self) -> None:
        self.monotonic = 1000.0
        self.wall = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def test_the_token_cache_obeys_expiry_at_once(tmp_path: Path) -> None:
    store = open_view_store(views_env(Settings(data_dir=tmp_path, database_url=None)))
    clocks = Clocks()
    tokens = TokenStore(store, 60.0, lambda: clocks.monotonic, lambda: clocks.wall)
    _, token = tokens.create("acme", "ada", "member", expires_in=timedelta(minutes=30))
    assert tokens.authenticate(token) is not None
    assert tokens.cached(token) is not None
    clocks.wall += timedelta(minutes=29, seconds=59)
    clocks.monotonic += 1
    assert tokens.authenticate(token) is not None
    clocks.wall += timedelta(seconds=1)
    assert tokens.cached(token) is None, "cached for 60 s, but expired now"
    assert tokens.authenticate(token) is None
    store.close()


def test_tokens_without_expiry_never_expire_and_bad_durations_are_refused(
    tmp_path: Path,
) -> None:
    store = open_view_store(views_env(Settings(data_dir=tmp_path, database_url=None)))
    clocks = Clocks()
    tokens = TokenStore(store, 0.0, lambda: clocks.monotonic, lambda: clocks.wall)
    _, token = tokens.create("acme", "ada", "member")
    clocks.wall += timedelta(days=365 * 50)
    assert tokens.authenticate(token) is not None
    for bad in (timedelta(0), timedelta(seconds=-1), timedelta(days=36_501)):
        with pytest.raises(ValueError):
            tokens.create("acme", "ada", "member", expires_in=bad)
    store.close()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90d", timedelta(days=90)),
        ("12h", timedelta(hours=12)),
        ("30m", timedelta(minutes=30)),
        (" 1d ", timedelta(days=1)),
        ("36500d", timedelta(days=36_500)),
    ],
)
def test_durations_parse(text: str, expected: timedelta) -> None:
    assert parse_expires_in(text) == expected


@pytest.mark.parametrize(
    "text", ["", "90", "d", "0d", "-1d", "1.5d", "5y", "36501d", "9999999d", "1d2h", "\u0661d"]
)
def test_bad_durations_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_expires_in(text)


def _okr(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OKR_")}
    env["OKR_DATA_DIR"] = str(data_dir)
    return subprocess.run(
        [sys.executable, "-m", "entrypoints.cli", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_cli_creates_expiring_tokens_and_lists_their_expiry(tmp_path: Path) -> None:
    create = ["token", "create", "--org", "acme", "--user", "ada", "--role", "member"]
    made = _okr(tmp_path, *create, "--expires-in", "90d")
    assert made.returncode == 0, made.stderr
    forever = _okr(tmp_path, *create)
    assert forever.returncode == 0, forever.stderr
    listed = _okr(tmp_path, "token", "list").stdout.splitlines()
    assert len(listed) == 2
    expires = re.search(r"expires=(\S+)", listed[0])
    assert expires is not None
    when = datetime.fromisoformat(expires.group(1))
    assert abs(when - (datetime.now(UTC) + timedelta(days=90))) < timedelta(minutes=5)
    assert "expires=never" in listed[1] and listed[1].endswith("active")
    for bad in ("5y", "0d", "99999999d", "soon"):
        refused = _okr(tmp_path, *create, "--expires-in", bad)
        assert refused.returncode == 2 and "expires-in" in refused.stderr, bad


def test_the_cli_lists_an_expired_token_as_expired(tmp_path: Path) -> None:
    runtime = build_runtime(Settings(data_dir=tmp_path, database_url=None))
    try:
        token_id, _ = runtime.tokens.create("acme", "ada", "member", expires_in=timedelta(days=1))
        with runtime.store.transaction() as tx:
            tx.execute(
                "UPDATE okr_api_tokens SET expires_at = :at WHERE token_id = :id",
                {"at": "2020-01-01T00:00:00+00:00", "id": token_id},
            )
    finally:
        runtime.close()
    listed = _okr(tmp_path, "token", "list").stdout
    assert token_id in listed and listed.strip().endswith("expired")


OLD_TABLE = (
    "CREATE TABLE okr_api_tokens ("
    " token_hash TEXT PRIMARY KEY,"
    " token_id TEXT NOT NULL UNIQUE,"
    " organization_id TEXT NOT NULL,"
    " user_id TEXT NOT NULL,"
    " role TEXT NOT NULL,"
    " created_at TEXT NOT NULL,"
    " revoked_at TEXT)"
)


def test_a_database_from_before_expiry_is_migrated(backend: Settings) -> None:
    """The table as the first release made it, with a token: the column is added, the
    old token keeps working (it never expires), new tokens may expire; twice is fine."""
    store = open_view_store(views_env(backend))
    try:
        with store.transaction() as tx:
            tx.execute(OLD_TABLE)
            tx.execute(
                "INSERT INTO okr_api_tokens (token_hash, token_id, organization_id, user_id,"
                " role, created_at) VALUES (:hash, 'old1', 'acme', 'ada', 'admin', :at)",
                {"hash": hash_token("okr_old-token"), "at": "2026-01-01T00:00:00+00:00"},
            )
        tokens = TokenStore(store)
        TokenStore(store)  # a second process starting: nothing to do
        old = tokens.authenticate("okr_old-token")
        assert old is not None and old.user_id == "ada"
        assert [info.expires_at for info in tokens.list()] == [None]
        _, new = tokens.create("acme", "bob", "member", expires_in=timedelta(days=1))
        assert tokens.authenticate(new) is not None
    finally:
        store.close()


# ---------------------------------------------------------------- never in logs


def test_the_filter_keeps_names_and_hides_values() -> None:
    assert redact_query("/v1/teams") == "/v1/teams"
    assert redact_query(f"/dashboard?token={SECRET}&team_id=7&flag") == (
        f"/dashboard?token={REDACTED}&team_id={REDACTED}&flag"
    )
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:1", "GET", f"/v1/health?token={SECRET}", "1.1", 200),
        None,
    )
    assert RedactQueryStrings().filter(record)
    assert SECRET not in record.getMessage() and REDACTED in record.getMessage()


def _serve_and_log(env: dict[str, str], data_dir: Path, *extra: str) -> str:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = data_dir / "serve.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "entrypoints.cli", "serve", "--port", str(port), *extra],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for_health(base, server, log.read_text)
        for _ in range(6):  # several connections: with workers, each process logs some
            with httpx.Client(base_url=base, timeout=10) as http:
                http.get("/v1/health", params={"token": SECRET})
                http.get("/dashboard", params={"token": SECRET, "team_id": "t"})
                http.get("/v1/teams", params={"min_position": SECRET})
    finally:
        server.terminate()
        server.wait(timeout=30)
    return log.read_text()


def _env(**okr: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OKR_")}
    env.update(okr)
    return env


def test_the_access_log_of_okr_serve_redacts_query_strings(tmp_path: Path) -> None:
    logged = _serve_and_log(_env(OKR_DATA_DIR=str(tmp_path)), tmp_path)
    assert "GET /v1/health?token=[redacted]" in logged, logged[-2000:]
    assert "GET /dashboard?token=[redacted]&team_id=[redacted]" in logged
    assert SECRET not in logged


@pytest.mark.postgres
def test_every_worker_redacts_query_strings(pg_url: str, tmp_path: Path) -> None:
    logged = _serve_and_log(
        _env(OKR_DATABASE_URL=pg_url, OKR_DATA_DIR=str(tmp_path)), tmp_path, "--workers", "2"
    )
    pids = set(re.findall(r"Started server process \[(\d+)\]", logged))
    assert len(pids) == 2, logged[-3000:]
    assert logged.count("GET /v1/health?token=[redacted]") >= 6
    assert SECRET not in logged


def test_a_sign_in_form_with_too_many_fields_is_refused_not_500(
    client: TestClient, runtime: Runtime
) -> None:
    _, token = runtime.tokens.create("acme", "ada", "admin")
    body = "&".join([f"token={token}"] + [f"f{i}=x" for i in range(50)])
    answer = client.post(
        "/dashboard/sign-in",
        content=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 401 and "set-cookie" not in answer.headers
    assert client.post("/dashboard/sign-in", content=b"\xff\xfe=\x00").status_code == 401


@pytest.mark.parametrize("stored", ["not-a-time", "2020-01-01T00:00:00", ""])
def test_an_unreadable_or_naive_expiry_fails_closed(
    client: TestClient, runtime: Runtime, stored: str
) -> None:
    token_id, token = runtime.tokens.create("acme", "ada", "admin", expires_in=timedelta(days=1))
    with runtime.store.transaction() as tx:
        tx.execute(
            "UPDATE okr_api_tokens SET expires_at = :at WHERE token_id = :id",
            {"at": stored, "id": token_id},
        )
    runtime.tokens._valid.clear()
    answer = client.get("/v1/teams", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 401
