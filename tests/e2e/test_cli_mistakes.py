"""Every mistake a person makes with ``okr`` gets one readable line and a non-zero exit.

Tried as a new user would: a wrong ``OKR_`` variable, a database that does not
answer, a data directory that cannot be made, a port already taken, ``okr
audit`` given something other than an objective, or run where there is no
data. Never a traceback, never a raw validation dump, never an empty ``.okr/``
left behind.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.e2e.servers import free_port

SUBCOMMANDS = [
    ["serve"],
    ["consume"],
    ["project"],
    ["rebuild"],
    ["audit"],
    ["demo"],
    ["webhook"],
    ["webhook", "create"],
    ["webhook", "list"],
    ["webhook", "rotate"],
    ["webhook", "delete"],
    ["token"],
    ["token", "create"],
    ["token", "list"],
    ["token", "revoke"],
]


def okr(*args: str, cwd: Path, timeout: float = 60, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OKR_")}
    clean["PYTHONPATH"] = os.pathsep.join(
        [str(Path(__file__).resolve().parents[2]), clean.get("PYTHONPATH", "")]
    )
    return subprocess.run(
        [sys.executable, "-m", "entrypoints.cli", *args],
        env={**clean, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def one_line(done: subprocess.CompletedProcess[str]) -> str:
    """The failure's one stderr line (asserting there is exactly one, and no traceback)."""
    assert done.returncode != 0, done.stdout
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "Traceback" not in done.stderr and "validation error" not in done.stderr
    return lines[0]


@pytest.mark.parametrize("command", ["serve", "project", "token list", "demo"])
def test_a_bad_port_setting_is_one_line_naming_the_variable(tmp_path: Path, command: str) -> None:
    line = one_line(okr(*command.split(), cwd=tmp_path, OKR_PORT="eighty"))
    assert "OKR_PORT" in line and "'eighty'" in line


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("OKR_PORT", "70000"),
        ("OKR_WORKERS", "0"),
        ("OKR_MIN_POSITION_TIMEOUT", "9"),
        ("OKR_SNAPSHOT_INTERVAL", "often"),
        ("OKR_MAX_PAGE_LIMIT", "-1"),
        ("OKR_KAFKA_MAX_POLL_RECORDS", "0"),
    ],
)
def test_any_bad_setting_is_one_line(tmp_path: Path, variable: str, value: str) -> None:
    assert variable in one_line(okr("token", "list", cwd=tmp_path, **{variable: value}))


def test_a_database_url_of_another_kind_is_one_line_without_its_password(tmp_path: Path) -> None:
    line = one_line(okr("project", cwd=tmp_path, OKR_DATABASE_URL="mysql://okr:hunter2@db/okr"))
    assert "OKR_DATABASE_URL" in line and "postgresql://" in line
    assert "hunter2" not in line


def test_an_unreachable_database_is_one_line(tmp_path: Path) -> None:
    closed = free_port()  # nothing listens there
    for command in (["token", "list"], ["project"], ["serve", "--port", str(free_port())]):
        line = one_line(
            okr(
                *command,
                cwd=tmp_path,
                OKR_DATABASE_URL=f"postgresql://okr:secret@127.0.0.1:{closed}/okr",
            )
        )
        assert f"cannot reach the database at 127.0.0.1:{closed}" in line
        assert "secret" not in line


def test_a_data_directory_that_cannot_be_created_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    for command in (["token", "create", "--org", "a", "--user", "b", "--role", "admin"], ["demo"]):
        line = one_line(okr(*command, cwd=tmp_path, OKR_DATA_DIR=str(blocker / "okr")))
        assert "cannot create or open the data directory" in line and "a-file" in line


def test_a_port_in_use_is_reported_as_such_before_anything_starts(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        started = time.monotonic()
        done = okr("serve", "--port", str(port), cwd=tmp_path, OKR_DATA_DIR=str(tmp_path / "d"))
    line = one_line(done)
    assert f"port {port}" in line and "in use" in line
    assert "startup complete" not in done.stderr.lower()
    assert time.monotonic() - started < 30


def test_a_bad_port_argument_is_one_line(tmp_path: Path) -> None:
    assert "port" in one_line(okr("serve", "--port", "99999", cwd=tmp_path))
    assert "port" in one_line(okr("serve", "--port", "http", cwd=tmp_path))


def test_audit_given_a_cycle_team_key_result_or_non_id_says_what_it_is(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert okr("demo", cwd=tmp_path, OKR_DATA_DIR=str(data)).returncode == 0
    assert okr("rebuild", cwd=tmp_path, OKR_DATA_DIR=str(data)).returncode == 0
    with sqlite3.connect(data / "views.sqlite3") as db:
        (cycle,) = db.execute("SELECT id FROM okr_cycles LIMIT 1").fetchone()
        (team,) = db.execute("SELECT id FROM okr_teams LIMIT 1").fetchone()
        kr, objective = db.execute("SELECT id, objective_id FROM okr_key_results").fetchone()

    def audit(wanted: str) -> str:
        return one_line(okr("audit", wanted, cwd=tmp_path, OKR_DATA_DIR=str(data)))

    assert "is a cycle, not an objective" in audit(cycle)
    assert "is a team, not an objective" in audit(team)
    assert f"a key result; its objective is {objective}" in audit(kr)
    assert "not an objective id: 'Q3-goals'" in audit("Q3-goals")
    assert "no objective" in audit("00000000-0000-4000-8000-000000000000")


def test_audit_where_there_is_no_data_says_so_and_creates_nothing(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for command in (
        ["audit", "00000000-0000-4000-8000-000000000000"],
        ["token", "list"],
        ["webhook", "list"],
        ["rebuild"],
    ):
        line = one_line(okr(*command, cwd=elsewhere))
        assert "no OKR data in .okr" in line and "OKR_DATA_DIR" in line
    assert list(elsewhere.iterdir()) == [], "no empty .okr/ is left behind"


@pytest.mark.parametrize("command", SUBCOMMANDS, ids=" ".join)
def test_every_subcommand_says_what_it_does_with_an_example(
    command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    from entrypoints.cli import parser

    with pytest.raises(SystemExit) as exited:
        parser().parse_args([*command, "--help"])
    assert exited.value.code == 0
    shown = capsys.readouterr().out
    assert f"usage: okr {' '.join(command)}" in shown
    description = shown.split("\n\n")[1]
    assert len(description) > 15, shown
    assert f"example:\n  okr {command[0]}" in shown or "example:\n  OKR_" in shown


def test_version_prints_the_package_version(tmp_path: Path) -> None:
    from importlib.metadata import version

    done = okr("--version", cwd=tmp_path)
    assert done.returncode == 0
    assert done.stdout.strip() == f"okr {version('okr-service')}"


def test_a_usage_mistake_is_one_line(tmp_path: Path) -> None:
    assert "invalid choice" in one_line(okr("frobnicate", cwd=tmp_path))
    assert "required" in one_line(okr("token", "create", "--org", "a", cwd=tmp_path))


def test_partitions_and_rebuild_jobs_outside_postgresql_or_their_range_are_one_line(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    assert okr("demo", cwd=tmp_path, OKR_DATA_DIR=str(data)).returncode == 0

    def refused(*args: str) -> str:
        return one_line(okr(*args, cwd=tmp_path, OKR_DATA_DIR=str(data)))

    line = refused("project", "--partitions", "2", "--partition", "2")
    assert "--partition is 0 to --partitions - 1" in line
    assert "needs PostgreSQL" in refused("project", "--partitions", "2")
    for flags in (["--jobs", "2"], ["--partitions", "3"]):
        assert "need PostgreSQL" in refused("rebuild", *flags), flags
    assert "1 to 64" in refused("rebuild", "--jobs", "0")
    assert "1 to 64" in refused("rebuild", "--jobs", "65")
    assert "1 to 64" in refused("rebuild", "--partitions", "100000")
    assert "1 to 64" in refused("project", "--partitions", "65", "--partition", "1")
    assert "1 to 64" in refused("project", "--partitions", "-1")
    assert "I/N" in refused("rebuild", "--job", "3/2", "--generation", "1")
