"""SPEC §14 on real processes: the API, ``okr project`` and ``okr consume`` over
PostgreSQL and Kafka, each scraped on its ``/metrics`` before and after work;
the API's JSON log lines; readiness falling when the projector stops.

Each process is a subprocess started the way an operator starts it (the
compose file's environment: ``OKR_METRICS_PORT`` for the projector and the
consumer, ``OKR_LOG_FORMAT=json``). The work is real: HTTP writes on the API
and issue events published to a fresh Kafka topic.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from kafka.admin import KafkaAdminClient
from prometheus_client.parser import text_string_to_metric_families

from commands.issue_event import IssueEvent
from consumers.publisher import IssueEventPublisher
from entrypoints.bootstrap import build_runtime
from entrypoints.settings import Settings
from tests.conftest import KAFKA_BOOTSTRAP
from tests.e2e.servers import free_port, wait_for_health

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]

ORG = "org-ops-3f1a"
DEADLINE = 60.0
LOG_FIELDS = {"time", "level", "logger", "message", "request_id", "organization"}


@dataclass
class Topic:
    name: str
    dlq: str
    group: str


@pytest.fixture
def topic() -> Iterator[Topic]:
    suffix = uuid.uuid4().hex[:10]
    names = Topic(f"okr.test.ops.{suffix}", f"okr.test.ops.{suffix}.dlq", f"okr-ops-{suffix}")
    try:
        admin = KafkaAdminClient(bootstrap_servers=KAFKA_BOOTSTRAP, request_timeout_ms=10_000)
    except Exception as error:
        pytest.fail(f"Kafka is not reachable at {KAFKA_BOOTSTRAP} ({error})", pytrace=False)
    try:
        admin.create_topics(
            {
                names.name: {"num_partitions": 2, "replication_factor": 1},
                names.dlq: {"num_partitions": 1, "replication_factor": 1},
            },
            wait_for_metadata=True,
        )
        yield names
    finally:
        try:
            admin.delete_topics([names.name, names.dlq])
        finally:
            admin.close()


def scrape(url: str) -> dict[str, float]:
    """Every sample of a /metrics page, summed over its labels, by sample name."""
    page = httpx.get(url, timeout=5)
    assert page.status_code == 200, page.text
    totals: dict[str, float] = {}
    for family in text_string_to_metric_families(page.text):
        for sample in family.samples:
            totals[sample.name] = totals.get(sample.name, 0.0) + sample.value
    return totals


def until(what: str, check: Callable[[], bool], logs: Callable[[], str]) -> None:
    deadline = time.monotonic() + DEADLINE
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} within {DEADLINE:g} s\n{logs()}")
        time.sleep(0.2)


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.TransportError:
        return False


class Processes:
    """The three processes of the compose stack, their stderr in files."""

    def __init__(self, tmp_path: Path, env: dict[str, str]) -> None:
        self.tmp_path = tmp_path
        self.env = env
        self.running: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, *args: str, **okr: str) -> subprocess.Popen[bytes]:
        with (self.tmp_path / f"{name}.log").open("wb") as sink:
            process = subprocess.Popen(
                [sys.executable, "-m", "entrypoints.cli", *args],
                env={**self.env, **okr},
                stdout=subprocess.DEVNULL,
                stderr=sink,
            )
        self.running[name] = process
        return process

    def log(self, name: str) -> str:
        return (self.tmp_path / f"{name}.log").read_text(errors="replace")

    def logs(self) -> str:
        return "\n".join(f"--- {n}\n{self.log(n)[-3000:]}" for n in self.running)

    def stop(self, name: str) -> None:
        process = self.running[name]
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=60)

    def stop_all(self) -> None:
        for name in self.running:
            self.stop(name)


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Processes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OKR_")}
    running = Processes(tmp_path, env)
    try:
        yield running
    finally:
        running.stop_all()


def issue_event(n: int) -> IssueEvent:
    return IssueEvent(
        event_id=f"ops-{uuid.uuid4().hex}",
        tracker="jira",
        issue_key=f"OPS-{n}",
        status="in_progress",
        occurred_at=datetime.now(UTC),
        title=f"Issue {n}",
    )


def test_three_processes_serve_metrics_that_move_with_work(
    pg_url: str, tmp_path: Path, topic: Topic, processes: Processes
) -> None:
    runtime = build_runtime(Settings(database_url=pg_url, data_dir=tmp_path))
    try:
        _, token = runtime.tokens.create(ORG, "ada", "admin")
    finally:
        runtime.close()
    api_port, project_port, consume_port = free_port(), free_port(), free_port()
    common = {
        "OKR_DATABASE_URL": pg_url,
        "OKR_DATA_DIR": str(tmp_path),
        "OKR_LOG_FORMAT": "json",
        "OKR_READY_MAX_LAG": "1",
        "OKR_TOKEN_CACHE_SECONDS": "0",
    }
    processes.env.update(common)
    api = processes.start("serve", "serve", "--port", str(api_port))
    processes.start("project", "project", OKR_METRICS_PORT=str(project_port))
    processes.start(
        "consume",
        "consume",
        OKR_METRICS_PORT=str(consume_port),
        OKR_KAFKA_BOOTSTRAP=KAFKA_BOOTSTRAP,
        OKR_KAFKA_TOPIC=topic.name,
        OKR_KAFKA_DLQ_TOPIC=topic.dlq,
        OKR_KAFKA_GROUP=topic.group,
        OKR_ISSUE_ORGANIZATION=ORG,
        OKR_CONSUMER_MAX_BACKOFF="1",
    )
    base = f"http://127.0.0.1:{api_port}"
    urls = {
        "serve": f"{base}/metrics",
        "project": f"http://127.0.0.1:{project_port}/metrics",
        "consume": f"http://127.0.0.1:{consume_port}/metrics",
    }
    wait_for_health(base, api, processes.logs)
    for name in ("project", "consume"):
        until(f"okr {name} did not serve /metrics", lambda n=name: answers(urls[n]), processes.logs)
    before = {name: scrape(url) for name, url in urls.items()}

    # Work: HTTP writes (each with our request id) and issue events through Kafka.
    headers = {"Authorization": f"Bearer {token}"}
    for n in range(3):
        answer = httpx.post(
            f"{base}/v1/teams",
            json={"name": f"Team {n}"},
            headers={**headers, "X-Request-ID": f"ops-test-{n}"},
        )
        assert answer.status_code == 201, answer.text
    with IssueEventPublisher(KAFKA_BOOTSTRAP, topic.name) as publisher:
        assert publisher.publish_all([issue_event(n) for n in range(5)], ORG) == 5

    def moved(name: str, series: str, by: float = 1) -> Callable[[], bool]:
        return lambda: scrape(urls[name]).get(series, 0.0) >= before[name].get(series, 0.0) + by

    until(
        "the API's requests did not count",
        moved("serve", "okr_http_requests_total", 3),
        processes.logs,
    )
    until(
        "the consumer applied nothing",
        moved("consume", "okr_consumer_applied_total", 5),
        processes.logs,
    )
    until(
        "the projector applied nothing",
        moved("project", "okr_projection_events_applied_total", 8),
        processes.logs,
    )
    until(
        "the projection position did not move",
        moved("project", "okr_projection_position"),
        processes.logs,
    )
    served = httpx.get(urls["serve"]).text
    assert 'okr_http_requests_total{method="POST",route="/v1/teams",status="201"}' in served
    assert "okr_http_request_seconds_bucket" in served
    assert ORG not in served and token not in served

    # Readiness: ready once the projector has caught up; unready once it is stopped
    # and a write is older than OKR_READY_MAX_LAG (1 s).
    until("the API never became ready", lambda: answers(f"{base}/v1/health/ready"), processes.logs)
    processes.stop("project")
    assert httpx.post(f"{base}/v1/teams", json={"name": "Late"}, headers=headers).status_code == 201

    def unready() -> bool:
        answer = httpx.get(f"{base}/v1/health/ready", timeout=5)
        return answer.status_code == 503 and answer.json()["error"]["code"] == "not_ready"

    until("the API stayed ready with the projector stopped", unready, processes.logs)

    # The API's log: one JSON object per line, our request ids and organization in them.
    processes.stop("serve")
    lines = [line for line in processes.log("serve").splitlines() if line.strip()]
    assert lines, "okr serve logged nothing"
    records = [json.loads(line) for line in lines]  # every line parses
    for record in records:
        assert set(record) >= LOG_FIELDS, record
    access = [r for r in records if r["logger"] == "uvicorn.access"]
    ours = [r for r in access if str(r["request_id"]).startswith("ops-test-")]
    assert {r["request_id"] for r in ours} == {"ops-test-0", "ops-test-1", "ops-test-2"}, access
    assert all(r["organization"] == ORG and "POST /v1/teams" in r["message"] for r in ours)
    assert any(r["logger"].startswith("uvicorn") and r["request_id"] is None for r in records)
    assert token not in processes.log("serve")


def test_every_worker_shows_the_requests_of_all_workers(
    pg_url: str, tmp_path: Path, processes: Processes
) -> None:
    """``--workers 2``: one scrape reaches one worker, yet counts every worker's
    requests (prometheus_client's multiprocess mode); its files go when serve stops."""
    temp = tmp_path / "temp"
    temp.mkdir()
    port = free_port()
    processes.env.update({"OKR_DATABASE_URL": pg_url, "OKR_DATA_DIR": str(tmp_path)})
    server = processes.start(
        "serve", "serve", "--workers", "2", "--port", str(port), TMPDIR=str(temp)
    )
    base = f"http://127.0.0.1:{port}"
    wait_for_health(base, server, processes.logs)
    for _ in range(40):  # a fresh connection each: the kernel spreads them over both
        assert httpx.get(f"{base}/v1/health").status_code == 200
    counted = set()
    for _ in range(10):
        page = httpx.get(f"{base}/metrics").text
        for family in text_string_to_metric_families(page):
            for sample in family.samples:
                if (
                    sample.name == "okr_http_requests_total"
                    and sample.labels.get("route") == "/v1/health"
                ):
                    counted.add(sample.value)
    assert counted and min(counted) >= 40, counted
    assert [p.name for p in temp.iterdir()], "no multiprocess directory while serving"
    processes.stop("serve")
    assert server.returncode == 0, processes.logs()
    assert list(temp.iterdir()) == [], "the workers' metrics files were left behind"
