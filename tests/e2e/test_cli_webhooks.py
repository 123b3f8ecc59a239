"""`okr webhook create|list|rotate|delete` as an operator uses it (SPEC §9), embedded."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from entrypoints.bootstrap import build_runtime
from tests.conftest import embedded_settings
from tests.e2e.test_cli import okr

BODY = json.dumps(
    {
        "action": "closed",
        "issue": {"number": 7, "state": "closed", "updated_at": "2026-01-02T10:00:00Z"},
        "repository": {"full_name": "acme/app"},
    }
).encode()


def fields(output: str) -> dict[str, str]:
    """``id``, ``url`` and ``secret`` from what `okr webhook create` printed."""
    return dict(line.split(None, 1) for line in output.strip().splitlines())  # type: ignore[misc]


def deliver(data_dir: Path, url: str, secret: str) -> int:
    """Post the same signed delivery with the service's app over that data directory."""
    runtime = build_runtime(embedded_settings(data_dir))
    try:
        with TestClient(create_app(runtime)) as client:
            digest = hmac.new(secret.encode(), BODY, hashlib.sha256).hexdigest()
            answer = client.post(
                url, content=BODY, headers={"X-Hub-Signature-256": f"sha256={digest}"}
            )
            return answer.status_code
    finally:
        runtime.close()


def test_a_registration_is_created_listed_rotated_and_deleted(tmp_path: Path) -> None:
    created = fields(
        okr(tmp_path, "webhook", "create", "--org", "acme", "--tracker", "GitHub").stdout
    )
    assert set(created) == {"id", "url", "secret"}
    assert created["url"] == f"/v1/webhooks/github/{created['id']}"
    assert deliver(tmp_path, created["url"], created["secret"]) == 200

    listed = okr(tmp_path, "webhook", "list").stdout
    assert created["id"] in listed and "org=acme" in listed and "tracker=github" in listed
    assert created["secret"] not in listed, "a secret is shown once only"
    assert okr(tmp_path, "webhook", "list", "--org", "beta").stdout == ""

    # Another organization named: refused, and nothing changed.
    wrong_org = okr(tmp_path, "webhook", "rotate", created["id"], "--org", "beta", check=False)
    assert wrong_org.returncode == 1 and len(wrong_org.stderr.strip().splitlines()) == 1
    rotated = fields(okr(tmp_path, "webhook", "rotate", created["id"]).stdout)
    assert rotated["secret"] != created["secret"]
    assert deliver(tmp_path, created["url"], created["secret"]) == 401
    assert created["secret"] not in okr(tmp_path, "webhook", "list").stdout

    okr(tmp_path, "webhook", "delete", created["id"], "--org", "acme")
    assert deliver(tmp_path, created["url"], rotated["secret"]) == 404
    assert created["id"] not in okr(tmp_path, "webhook", "list").stdout


@pytest.mark.parametrize(
    "args",
    [
        ["webhook", "create", "--org", "acme", "--tracker", "bitbucket"],
        ["webhook", "create", "--org", " ", "--tracker", "github"],
        ["webhook", "create", "--org", "acme"],
        ["webhook", "create", "--org", "acme", "--tracker", "jira", "--mapping", "{oops"],
        ["webhook", "create", "--org", "acme", "--tracker", "jira", "--mapping", "[1]"],
        ["webhook", "rotate", "no-such-id"],
        ["webhook", "delete", "no-such-id"],
        ["webhook", "delete"],
        ["webhook", "frobnicate"],
        ["webhook"],
    ],
)
def test_every_mistake_is_one_readable_line(tmp_path: Path, args: list[str]) -> None:
    done = okr(tmp_path, *args, check=False)
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("okr webhook"), lines[0]
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("action", [[], ["create"], ["list"], ["rotate"], ["delete"]])
def test_every_webhook_command_has_help(tmp_path: Path, action: list[str]) -> None:
    assert "usage: okr webhook" in okr(tmp_path, "webhook", *action, "--help").stdout
