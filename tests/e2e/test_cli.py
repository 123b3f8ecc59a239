"""The `okr` command line as an operator uses it, in the embedded mode."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def okr(data_dir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OKR_")}
    env["OKR_DATA_DIR"] = str(data_dir)
    done = subprocess.run(
        [sys.executable, "-m", "entrypoints.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if check:
        assert done.returncode == 0, done.stderr
    return done


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["serve"],
        ["project"],
        ["rebuild"],
        ["token", "create"],
        ["audit"],
        ["demo"],
        ["projections"],
        ["projections", "parked"],
        ["projections", "retry"],
        ["snapshots"],
        ["snapshots", "drop"],
    ],
)
def test_every_command_has_help(tmp_path: Path, command: list[str]) -> None:
    done = okr(tmp_path, *command, "--help")
    assert "usage: okr" in done.stdout


def test_tokens_are_created_listed_and_revoked(tmp_path: Path) -> None:
    token = okr(tmp_path, "token", "create", "--org", "acme", "--user", "ada", "--role", "admin")
    secret = token.stdout.strip()
    assert secret.startswith("okr_")
    listed = okr(tmp_path, "token", "list").stdout
    assert "org=acme" in listed and "active" in listed
    assert secret not in listed, "the secret itself is never stored or shown again"
    token_id = listed.split()[0]
    okr(tmp_path, "token", "revoke", token_id)
    assert "revoked" in okr(tmp_path, "token", "list").stdout
    again = okr(tmp_path, "token", "revoke", token_id, check=False)
    assert again.returncode == 1
    bad_role = okr(
        tmp_path, "token", "create", "--org", "a", "--user", "b", "--role", "x", check=False
    )
    assert bad_role.returncode == 2


def test_projections_parked_and_retry_on_a_healthy_log(tmp_path: Path) -> None:
    missing = okr(tmp_path / "none", "projections", "parked", check=False)
    assert missing.returncode == 1 and "no OKR data" in missing.stderr
    okr(tmp_path, "token", "create", "--org", "acme", "--user", "ada", "--role", "admin")
    assert okr(tmp_path, "projections", "parked").stdout.startswith("nothing parked")
    assert json.loads(okr(tmp_path, "projections", "parked", "--json").stdout) == []
    retry = okr(tmp_path, "projections", "retry", check=False)
    assert retry.returncode == 1
    assert retry.stderr == "okr projections retry: nothing parked; see okr projections parked\n"


def test_demo_then_audit_and_rebuild_tell_the_same_story(tmp_path: Path) -> None:
    loaded = okr(tmp_path, "demo").stdout
    assert "loaded the demo organization 'demo'" in loaded
    assert okr(tmp_path, "demo", check=False).returncode == 1, "a second demo needs --force"
    rebuilt = okr(tmp_path, "rebuild").stdout
    assert "rebuilt objectives" in rebuilt

    import sqlite3

    with sqlite3.connect(tmp_path / "views.sqlite3") as db:
        (objective_id,) = db.execute(
            "SELECT id FROM okr_objectives WHERE json_extract(doc, '$.title') = ?",
            ("Make the platform fast and reliable",),
        ).fetchone()
    story = okr(tmp_path, "audit", objective_id).stdout
    assert 'drafted "Make the platform fast and reliable"' in story
    assert "checked in" in story and "→" in story and "issue github:acme/platform#101" in story
    entries = json.loads(okr(tmp_path, "audit", objective_id, "--json").stdout)
    assert entries[0]["type"] == "Drafted" and entries[0]["version"] == 1
    # Actors are named from the people directory (which a rebuild leaves alone).
    assert "Pat Patel (pat)" in story
    assert {e["actor_name"] for e in entries if e["actor"] == "pat"} == {"Pat Patel"}
    assert entries[-1]["progress_after"] > 0
    assert okr(tmp_path, "audit", "nope", check=False).returncode == 2
    unknown = okr(tmp_path, "rebuild", "nonsense", check=False)
    assert unknown.returncode == 2 and "choose from" in unknown.stderr


def test_serve_closes_its_stores_on_sigterm(tmp_path: Path) -> None:
    """uvicorn re-raises SIGTERM after its shutdown: closing must happen in the shutdown."""
    import signal

    from tests.e2e.servers import free_port, wait_for_health

    env = {k: v for k, v in os.environ.items() if not k.startswith("OKR_")}
    env["OKR_DATA_DIR"] = str(tmp_path)
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "entrypoints.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_for_health(f"http://127.0.0.1:{port}", server)
    finally:
        server.send_signal(signal.SIGTERM)
        _, err = server.communicate(timeout=30)
    assert "closed the event store and the read-model store" in err.decode()
