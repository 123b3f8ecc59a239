"""Erasure (SPEC §11, issue 15's done-when), on both backends with the real Kafka.

A person with a directory entry writes a note, a check-in note and a
retrospective, each with a unique marker. The reads show them (and the files
hold the display name: the searches below can find what is there). After
``DELETE /v1/users/{id}`` no marker and no display name is found in the
PostgreSQL dump, in the SQLite files or in our Kafka topics; history and time
travel still answer, with ``[erased]`` in their place, and every progress is
unchanged. Another person's note stays.
"""

from __future__ import annotations

import base64
import glob
import os
import re
import subprocess
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

from api.app import create_app
from domain.personal import ERASED
from entrypoints.bootstrap import Runtime, build_runtime
from entrypoints.settings import Settings
from tests.conftest import KAFKA_BOOTSTRAP
from tests.e2e.test_api_support import Api
from tests.e2e.test_webhooks import FIXTURES_DIR, Hook

pytestmark = pytest.mark.kafka

ORG = "acme"
BYTEA = re.compile(rb"\\x((?:[0-9a-f]{2})+)")


def pg_dump_binary() -> str:
    """pg_dump of the newest installed PostgreSQL, as scripts/postgres-up.sh finds the server."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_dump"))
    if found:
        return found[-1]
    return "pg_dump"


def stored_bytes(settings: Settings) -> bytes:
    """Everything the backend stores: the PostgreSQL dump, or every SQLite file's bytes."""
    if settings.database_url:
        dumped = subprocess.run(
            [pg_dump_binary(), "--no-owner", settings.database_url],
            check=True,
            capture_output=True,
            env={**os.environ, "PGCONNECT_TIMEOUT": "10"},
        )
        assert b"okr_person_keys" in dumped.stdout  # the dump is of the service's database
        # bytea columns (the events' and snapshots' state) are dumped as hex: decoded too.
        decoded = [bytes.fromhex(h.decode()) for h in BYTEA.findall(dumped.stdout)]
        assert decoded  # the stored events are in the dump
        return dumped.stdout + b"\n".join(decoded)
    files = [p for p in Path(settings.data_dir).rglob("*") if p.is_file()]
    assert any(p.name.endswith("-wal") for p in files) or files
    return b"".join(p.read_bytes() for p in files)


@pytest.fixture
def topics() -> Iterator[tuple[str, str]]:
    """Fresh issue-event and dead-letter topics for this test, deleted afterwards."""
    run = uuid.uuid4().hex[:10]
    names = (f"okr-test-erasure-{run}", f"okr-test-erasure-{run}.dlq")
    admin = KafkaAdminClient(bootstrap_servers=KAFKA_BOOTSTRAP, request_timeout_ms=10_000)
    admin.create_topics({name: {"num_partitions": 1, "replication_factor": 1} for name in names})
    admin.wait_for_topics(list(names), timeout_ms=20_000)
    try:
        yield names
    finally:
        admin.delete_topics(list(names), timeout_ms=10_000, raise_errors=False)
        admin.close()


def topic_bytes(topic: str) -> bytes:
    """Every message of the topic, from the beginning: keys, values and headers."""
    consumer = KafkaConsumer(bootstrap_servers=KAFKA_BOOTSTRAP, enable_auto_commit=False)
    try:
        part = TopicPartition(topic, 0)
        consumer.assign([part])
        consumer.seek_to_beginning(part)
        end = consumer.end_offsets([part])[part]
        seen = b""
        while consumer.position(part) < end:
            for records in consumer.poll(timeout_ms=2_000).values():
                for r in records:
                    headers = b"".join(k.encode() + (v or b"") for k, v in r.headers or [])
                    seen += (r.key or b"") + (r.value or b"") + headers
        return seen
    finally:
        consumer.close()


def strings(value: Any) -> Iterator[str]:
    """Every string in a parsed JSON answer (keys too)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def test_an_erased_person_is_found_nowhere(
    backend: Settings, topics: tuple[str, str], tmp_path: Path
) -> None:
    issue_topic, dead_letters = topics
    settings = backend.model_copy(
        update={
            "kafka_bootstrap": KAFKA_BOOTSTRAP,
            "kafka_topic": issue_topic,
            "kafka_dlq_topic": dead_letters,
        }
    )
    runtime = build_runtime(settings)
    runtime.start_following()
    try:
        with TestClient(create_app(runtime)) as client:
            client.runtime = runtime  # type: ignore[attr-defined]  # for Hook
            erase_and_search(Api(client, runtime), runtime, settings, issue_topic, dead_letters)
    finally:
        runtime.close()


def erase_and_search(
    api: Api, runtime: Runtime, settings: Settings, issue_topic: str, dead_letters: str
) -> None:
    run = uuid.uuid4().hex[:12]
    # Quotes and angle brackets: the answers' escaping is exercised too.
    marker = {
        what: f'{what}-{run} "said" <b>'
        for what in ("note", "checkin", "problems", "improvements", "focus")
    }
    name = f"Zed Zimmer-{run}"
    ada, zed = api.token("ada", "admin"), api.token("zed")
    runtime.people.put(ORG, "zed", name, f"zed-{run}@example.com")

    today = datetime.now(UTC).date()
    cycle = api.post(
        "/cycles",
        ada,
        {
            "name": "Q",
            "start_date": (today - timedelta(days=10)).isoformat(),
            "end_date": (today + timedelta(days=80)).isoformat(),
            "cadence": "quarter",
        },
        201,
    )["id"]
    api.post(f"/cycles/{cycle}/phase", ada, {"phase": "drafting"}, 200)
    draft = {"cycle_id": cycle, "title": "Grow", "level": "individual", "owner_user_id": "zed"}
    objective = api.post("/objectives", zed, draft, 201)["id"]
    kr = api.post(
        f"/objectives/{objective}/key-results", zed, {"title": "Half", "mode": "percentage"}, 201
    )["key_result_id"]
    api.post(f"/cycles/{cycle}/phase", ada, {"phase": "tracking"}, 200)
    api.post(
        f"/objectives/{objective}/notes", zed, {"topic": "career", "text": marker["note"]}, 200
    )
    api.post(
        f"/objectives/{objective}/notes", ada, {"topic": "progress", "text": f"ada-{run}"}, 200
    )
    api.post(
        f"/objectives/{objective}/key-results/{kr}/check-ins",
        zed,
        {"percent": 40, "status": "on_track", "note": marker["checkin"]},
        200,
    )
    checked_in_version = api.get(f"/objectives/{objective}", zed)["version"]
    api.post(f"/cycles/{cycle}/phase", ada, {"phase": "retrospective"}, 200)
    retrospective = {
        "scores": {kr: 0.5},
        "problems": marker["problems"],
        "improvements": marker["improvements"],
        "next_focus": marker["focus"],
    }
    api.put(f"/objectives/{objective}/retrospective", zed, retrospective, 200)

    # Something in our Kafka topic: a tracker's delivery, forwarded by the webhook.
    body = (FIXTURES_DIR / "github" / "issues.closed.completed.zulip.json").read_bytes()
    delivered = Hook(api.client, "github", ORG).post(body)
    assert delivered.status_code in (200, 202), delivered.text

    def reads(who: dict[str, str]) -> dict[str, Any]:
        page = api.client.get(f"/dashboard/objectives/{objective}", headers=who)
        assert page.status_code == 200
        return {
            "objective": api.get(f"/objectives/{objective}", who),
            "notes": api.get(f"/objectives/{objective}/notes", who),
            "history": api.get(f"/objectives/{objective}/history", who),
            "then": api.get(f"/objectives/{objective}", who, version=checked_in_version),
            "tree": api.get(f"/cycles/{cycle}/tree", who),
            "page": page.text,
        }

    before = reads(ada)
    shown = "\n".join(strings({k: v for k, v in before.items() if k != "page"}))
    for text in marker.values():
        assert text in shown  # the reads reveal every text (and parse: JSON escapes held)
        assert (
            text.replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;")
            in (before["page"])
        )
    assert before["objective"]["retrospective"]["problems"] == marker["problems"]
    assert runtime.people.get(ORG, "zed") is not None
    secret = base64.b64encode(runtime.personal_keys.key_for(ORG, "zed").secret)
    stored = stored_bytes(settings)
    assert name.encode() in stored  # the search finds what is there
    assert secret in stored

    erased = api.client.delete("/v1/users/zed", headers=ada)
    assert erased.status_code == 204, erased.text
    again = api.client.delete("/v1/users/zed", headers=ada)
    assert again.status_code == 204

    after = reads(ada)
    assert after["objective"]["retrospective"]["problems"] == ERASED
    assert after["objective"]["retrospective"]["improvements"] == ERASED
    assert after["objective"]["retrospective"]["next_focus"] == ERASED
    notes = {n["author"]: n["text"] for n in after["notes"]["notes"]}
    assert notes == {"zed": ERASED, "ada": f"ada-{run}"}  # another person's note stays
    check_ins = [e for e in after["history"]["events"] if e["data"].get("note") not in (None, "")]
    assert [e["data"]["note"] for e in check_ins] == [ERASED]
    assert ERASED in after["page"]
    for key in ("objective", "then"):
        assert after[key]["progress"] == before[key]["progress"]
        assert [k["progress"] for k in after[key]["key_results"]] == [
            k["progress"] for k in before[key]["key_results"]
        ]
    assert (
        after["objective"]["retrospective"]["achievement_rate"]
        == (before["objective"]["retrospective"]["achievement_rate"])
    )
    assert runtime.people.get(ORG, "zed") is None

    everything = "\n".join(strings(after))
    stored = stored_bytes(settings)
    kafka = topic_bytes(issue_topic) + topic_bytes(dead_letters)
    assert b"Pritesh-30/test-repo" in kafka  # the topic holds the forwarded delivery
    for text in [*marker.values(), name]:
        core = text.split(" ")[0] if text != name else name
        assert core not in everything
        assert core.encode() not in stored, f"{core} is still stored"
        assert core.encode() not in kafka
    assert f"zed-{run}@example.com".encode() not in stored
    assert secret not in stored  # the key's bytes do not linger either
