"""Ingestion's layering and its plain parts: what imports what, the waits, the settings.

The HTTP routes share the small consumer modules (the wire schema, the
database-unavailable errors, the adapters) with the Kafka consumer but never
import its loop; nothing under ``consumers/`` reads the environment or imports
the process wiring (``runtime``, ``entrypoints``).
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from typing import Any

import pytest

from consumers.ingestion_settings import IngestionSettings
from consumers.retrying import RetryBudget, until_done, within_budget
from entrypoints.consumer_process import ingestion_settings
from entrypoints.settings import Settings


def imported_after(code: str) -> set[str]:
    probe = f"import sys\n{code}\nprint('\\n'.join(sorted(sys.modules)))\n"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    return set(result.stdout.split())


def test_the_http_routes_never_import_the_kafka_loop() -> None:
    modules = imported_after("import api.routers.issues, api.routers.webhooks")
    assert "consumers.issue_event" in modules
    assert "consumers.store_errors" in modules
    assert not {"consumers.kafka_consumer", "consumers.batches"} & modules


def test_consumers_import_neither_runtime_nor_entrypoints() -> None:
    modules = imported_after(
        "import consumers.kafka_consumer, consumers.batches, consumers.publisher,"
        " consumers.dead_letters, consumers.organizations, consumers.trackers"
    )
    assert not {m for m in modules if m.split(".")[0] in ("runtime", "entrypoints", "api")}


def test_ingestion_settings_come_from_the_documented_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in {
        "OKR_KAFKA_BOOTSTRAP": "k1:9092, k2:9092",
        "OKR_KAFKA_TOPIC": "t",
        "OKR_KAFKA_DLQ_TOPIC": "t.dlq",
        "OKR_KAFKA_GROUP": "g",
        "OKR_ISSUE_ORGANIZATION": "acme",
        "OKR_KAFKA_GROUP_INSTANCE_ID": "pod-1",
        "OKR_KAFKA_SESSION_TIMEOUT_MS": "12000",
        "OKR_KAFKA_MAX_POLL_RECORDS": "200",
        "OKR_CONSUMER_MAX_BACKOFF": "2.5",
        "OKR_CONSUMER_MAX_RETRIES": "3",
    }.items():
        monkeypatch.setenv(name, value)
    assert ingestion_settings(Settings()) == IngestionSettings(
        bootstrap="k1:9092, k2:9092",
        topic="t",
        dlq_topic="t.dlq",
        group="g",
        default_organization="acme",
        group_instance_id="pod-1",
        session_timeout_ms=12_000,
        max_poll_records=200,
        max_backoff=2.5,
        max_retries=3,
    )
    assert ingestion_settings(Settings()).bootstrap_servers == ["k1:9092", "k2:9092"]


def test_ingestion_defaults_are_the_documented_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ISSUE_ORGANIZATION", "KAFKA_GROUP_INSTANCE_ID", "KAFKA_MAX_POLL_RECORDS"):
        monkeypatch.delenv(f"OKR_{name}", raising=False)
    for name in ("KAFKA_SESSION_TIMEOUT_MS", "CONSUMER_MAX_BACKOFF", "KAFKA_TOPIC"):
        monkeypatch.delenv(f"OKR_{name}", raising=False)
    monkeypatch.delenv("OKR_CONSUMER_MAX_RETRIES", raising=False)
    built = ingestion_settings(Settings(kafka_bootstrap="k:9092"), max_backoff=0.5)
    assert built.max_retries == 5
    assert (built.default_organization, built.group_instance_id) == ("default", None)
    assert (built.session_timeout_ms, built.max_poll_records) == (10_000, 500)
    assert (built.topic, built.max_backoff) == ("okr.issue-events", 0.5)


@pytest.mark.parametrize("bootstrap", [None, ""])
def test_no_bootstrap_is_a_readable_error(bootstrap: str | None) -> None:
    with pytest.raises(ValueError, match="OKR_KAFKA_BOOTSTRAP"):
        ingestion_settings(Settings(kafka_bootstrap=bootstrap))


def test_until_done_retries_only_what_is_unavailable() -> None:
    calls: list[int] = []
    seen: list[BaseException] = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionError("down")
        return "stored"

    stop = threading.Event()
    done = until_done(
        flaky,
        stop_event=stop,
        unavailable=(ConnectionError,),
        what="database unavailable",
        first_delay=0.01,
        max_delay=0.02,
        on_retry=seen.append,
    )
    assert done == "stored"
    assert len(calls) == 3
    assert [type(error) for error in seen] == [ConnectionError, ConnectionError]

    def refused() -> None:
        calls.append(1)
        raise ValueError("never")

    calls.clear()
    with pytest.raises(ValueError, match="never"):
        until_done(
            refused,
            stop_event=stop,
            unavailable=(ConnectionError,),
            what="database unavailable",
            first_delay=0.01,
            max_delay=0.02,
        )
    assert len(calls) == 1


def test_until_done_gives_up_at_once_when_asked_to_stop() -> None:
    calls: list[int] = []

    def down() -> None:
        calls.append(1)
        raise ConnectionError("down")

    stop = threading.Event()
    threading.Timer(0.2, stop.set).start()
    started = time.monotonic()
    result = until_done(
        down,
        stop_event=stop,
        unavailable=(ConnectionError,),
        what="database unavailable",
        first_delay=30.0,  # a stop must not wait this out
        max_delay=60.0,
    )
    assert result is None
    assert time.monotonic() - started < 5
    assert len(calls) == 1, "no try after the stop"


@pytest.mark.parametrize("retries", ["-1", "21", "lots"])
def test_the_retries_of_an_unexpected_error_are_bounded(
    monkeypatch: pytest.MonkeyPatch, retries: str
) -> None:
    monkeypatch.setenv("OKR_CONSUMER_MAX_RETRIES", retries)
    with pytest.raises(ValueError, match="consumer_max_retries"):
        Settings()
    with pytest.raises(ValueError, match="max_retries"):
        IngestionSettings(bootstrap="k:9092", max_retries=21)


@pytest.mark.parametrize("retries", [0, 20])
def test_the_retry_bounds_themselves_are_accepted(
    monkeypatch: pytest.MonkeyPatch, retries: int
) -> None:
    monkeypatch.setenv("OKR_CONSUMER_MAX_RETRIES", str(retries))
    assert ingestion_settings(Settings(kafka_bootstrap="k:9092")).max_retries == retries


def test_within_budget_retries_while_the_budget_lasts_then_lets_the_error_through() -> None:
    calls: list[str] = []
    seen: list[BaseException] = []
    stop = threading.Event()
    budget = RetryBudget(3)

    def broken(what: str) -> None:
        calls.append(what)
        raise RuntimeError("corrupt")

    def unexpected(error: BaseException) -> bool:
        return not isinstance(error, ValueError)

    options: dict[str, Any] = {
        "budget": budget,
        "stop_event": stop,
        "retry_on": unexpected,
        "what": "saving failed",
        "first_delay": 0.001,
        "max_delay": 0.002,
        "on_retry": seen.append,
    }
    with pytest.raises(RuntimeError, match="corrupt"):
        within_budget(lambda: broken("group"), **options)
    assert calls == ["group"] * 4 and len(seen) == 3 and budget.left == 0
    # The budget is shared: what comes after it is spent gets one try each.
    with pytest.raises(RuntimeError):
        within_budget(lambda: broken("one"), **options)
    assert calls[4:] == ["one"]

    # An error ``retry_on`` declines (a refusal) is never retried.
    calls.clear()

    def refused() -> None:
        calls.append("refused")
        raise ValueError("never")

    with pytest.raises(ValueError):
        within_budget(refused, **{**options, "budget": RetryBudget(5)})
    assert calls == ["refused"]

    # A transient error: the third try succeeds, two retries spent.
    tries: list[int] = []

    def flaky() -> str:
        tries.append(1)
        if len(tries) < 3:
            raise RuntimeError("blip")
        return "stored"

    fresh = RetryBudget(5)
    assert within_budget(flaky, **{**options, "budget": fresh}) == "stored"
    assert fresh.left == 3


def test_within_budget_gives_up_at_once_when_asked_to_stop() -> None:
    stop = threading.Event()
    threading.Timer(0.2, stop.set).start()
    calls: list[int] = []

    def broken() -> None:
        calls.append(1)
        raise RuntimeError("corrupt")

    result = within_budget(
        broken,
        budget=RetryBudget(5),
        stop_event=stop,
        retry_on=lambda _: True,
        what="saving failed",
        first_delay=30.0,  # a stop must not wait this out
        max_delay=60.0,
    )
    assert result is None
    assert calls == [1], "no try after the stop"
