"""``okr serve --workers N``: several API processes over one PostgreSQL store."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from entrypoints.bootstrap import build_runtime
from entrypoints.settings import Settings
from tests.e2e.servers import free_port, wait_for_health

pytestmark = pytest.mark.postgres


def _env(**okr: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OKR_")}
    env.update(okr)
    return env


def test_the_embedded_mode_refuses_more_than_one_worker(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "entrypoints.cli", "serve", "--workers", "2"],
        env=_env(OKR_DATA_DIR=str(tmp_path)),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "needs PostgreSQL" in done.stderr


def test_two_workers_share_one_store(pg_url: str, tmp_path: Path) -> None:
    """Writes spread over both processes: none lost, each process's cache kept exact."""
    runtime = build_runtime(Settings(database_url=pg_url, data_dir=tmp_path))
    try:
        _, admin = runtime.tokens.create("acme", "ada", "admin")
    finally:
        runtime.close()
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "entrypoints.cli", "serve", "--workers", "2", "--port", str(port)],
        env=_env(OKR_DATABASE_URL=pg_url, OKR_TOKEN_CACHE_SECONDS="0"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {admin}"}
    try:
        wait_for_health(base, server)
        team = httpx.post(f"{base}/v1/teams", json={"name": "HQ"}, headers=headers).json()
        versions = []
        for i in range(40):  # a fresh connection each: the kernel spreads them over both
            answer = httpx.post(
                f"{base}/v1/teams/{team['id']}/members",
                json={"user_id": f"u{i}", "role": "member"},
                headers=headers,
            )
            assert answer.status_code == 200, answer.text
            versions.append(answer.json()["version"])
        assert versions == list(range(2, 42))  # every process saw every earlier write
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert server.returncode == 0


def test_workers_start_together_on_a_fresh_database(pg_url: str, tmp_path: Path) -> None:
    """Two workers creating the schema at once raced in PostgreSQL's catalog
    (``pg_type_typname_nsp_index``): one of them died at start-up."""
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("w") as sink:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "entrypoints.cli",
                "serve",
                "--workers",
                "2",
                "--port",
                str(port),
            ],
            env=_env(OKR_DATABASE_URL=pg_url, OKR_DATA_DIR=str(tmp_path)),
            stdout=subprocess.DEVNULL,
            stderr=sink,
        )
    try:
        wait_for_health(f"http://127.0.0.1:{port}", server)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            logged = log.read_text()
            if logged.count("Application startup complete") == 2 or "Traceback" in logged:
                break
            time.sleep(0.2)
    finally:
        server.terminate()
        server.wait(timeout=60)
    logged = log.read_text()
    assert "Traceback" not in logged, logged[-3000:]
    assert logged.count("Application startup complete") == 2, logged[-3000:]
