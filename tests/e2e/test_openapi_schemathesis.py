"""Schemathesis against the live server's /openapi.json: for every operation, a bounded
number of generated requests (valid and invalid), and none may answer a 5xx or a
response (status, content type, body) that the published schema does not describe.

The server is a real `okr serve` (embedded) loaded with the demo organization, so
generated ids sometimes hit real objects; the token is the demo admin's.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.e2e.servers import free_port, wait_for_health

EXAMPLES = int(os.environ.get("OKR_SCHEMATHESIS_EXAMPLES", "25"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def _okr(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OKR_")}
    env["OKR_DATA_DIR"] = str(data_dir)
    return subprocess.run(
        [sys.executable, "-m", "entrypoints.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    data_dir = tmp_path_factory.mktemp("schemathesis")
    demo = _okr(data_dir, "demo").stdout
    token = re.search(r"(okr_[A-Za-z0-9_-]+)", demo)
    assert token, demo
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("OKR_")}
    env["OKR_DATA_DIR"] = str(data_dir)
    server = subprocess.Popen(
        [sys.executable, "-m", "entrypoints.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_health(base, server)
        yield base, token.group(1)
    finally:
        server.terminate()
        server.wait(timeout=20)


def _exercise(operation: Any, base: str, token: str, calls: dict[str, int]) -> None:
    """Up to EXAMPLES generated requests for one operation, every response checked."""

    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def exercise(case: schemathesis.Case) -> None:
        calls[operation.label] = calls.get(operation.label, 0) + 1
        case.call_and_validate(
            base_url=base, headers={"Authorization": f"Bearer {token}"}, checks=CHECKS
        )

    exercise()


def test_no_5xx_and_every_response_matches_the_schema(live: tuple[str, str]) -> None:
    base, token = live
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
    failures: list[str] = []
    operations = 0
    calls: dict[str, int] = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        try:
            _exercise(operation, base, token, calls)
        except Exception as failure:  # collect every operation's failure, then report all
            failures.append(f"{operation.label}: {failure}")
    assert operations >= 30, f"only {operations} operations in /openapi.json"
    assert len(calls) == operations, "every operation was exercised"
    assert sum(calls.values()) >= 5 * operations
    assert not failures, "\n\n".join(failures)
