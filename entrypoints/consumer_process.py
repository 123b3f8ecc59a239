"""The issue-event consumer as a process: ``okr consume``, and the thread of ``okr serve``.

This module owns what runs around ``consumers.kafka_consumer.IssueEventConsumer``:
building its ``IngestionSettings`` from the one ``Settings`` (``OKR_*``),
waiting for a database that is not up yet, stopping on SIGTERM/SIGINT after
the batch in hand, and restarting an in-process consumer that failed. It is
the only part of ingestion that reads the environment or wires the runtime.

Entry points: ``run_consumer(settings)`` for ``okr consume``;
``start_consumer_thread(app, settings)`` for ``okr serve`` to consume
in-process; ``main()`` (also ``python -m entrypoints.consumer_process``).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import signal
import sys
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from consumers.batches import IssueEventSink
from consumers.ingestion_settings import IngestionSettings
from consumers.kafka_consumer import IssueEventConsumer
from consumers.retrying import until_done
from consumers.store_errors import DATABASE_UNAVAILABLE
from entrypoints.settings import Settings

if TYPE_CHECKING:
    from entrypoints.bootstrap import Runtime

__all__ = [
    "RunningConsumer",
    "ingestion_settings",
    "main",
    "run_consumer",
    "start_consumer_thread",
]

log = logging.getLogger(__name__)


def ingestion_settings(settings: Settings, **overrides: Any) -> IngestionSettings:
    """The consumer's settings from the service's; ``overrides`` by field name (tests)."""
    if not settings.kafka_bootstrap:
        raise ValueError("no Kafka bootstrap servers: set OKR_KAFKA_BOOTSTRAP")
    built = IngestionSettings(
        bootstrap=settings.kafka_bootstrap,
        topic=settings.kafka_topic,
        dlq_topic=settings.kafka_dlq_topic,
        group=settings.kafka_group,
        default_organization=settings.issue_organization,
        group_instance_id=settings.kafka_group_instance_id,
        session_timeout_ms=settings.kafka_session_timeout_ms,
        max_poll_records=settings.kafka_max_poll_records,
        max_backoff=settings.consumer_max_backoff,
        max_retries=settings.consumer_max_retries,
    )
    return dataclasses.replace(built, **overrides) if overrides else built


def _consumer(
    app: IssueEventSink, settings: Settings, options: dict[str, Any]
) -> IssueEventConsumer:
    consumer_config = options.pop("consumer_config", None)
    return IssueEventConsumer(
        app, ingestion_settings(settings, **options), consumer_config=consumer_config
    )


@dataclass
class RunningConsumer:
    """A consumer running in a daemon thread; ``stop()`` finishes its batch and joins."""

    consumer: IssueEventConsumer
    thread: threading.Thread
    stop_event: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None

    def stop(self, timeout: float | None = 30.0) -> bool:
        """Ask it to stop and wait; True once the thread has ended."""
        self.stop_event.set()
        self.thread.join(timeout)
        return not self.thread.is_alive()


def start_consumer_thread(
    app: IssueEventSink, settings: Settings, **options: Any
) -> RunningConsumer:
    """Consume in this process (``okr serve`` with ``OKR_KAFKA_BOOTSTRAP`` set).

    ``options``: ``IngestionSettings`` fields to override, and ``consumer_config``
    (extra kafka-python settings). The thread restarts the consumer after an
    unexpected error (with backoff, the error kept on ``.error``), so the
    server's ingestion does not die silently; stop it with ``.stop()`` before
    closing the application.
    """
    consumer = _consumer(app, settings, dict(options))
    stop_event = threading.Event()
    running = RunningConsumer(consumer, threading.Thread(), stop_event)

    def failed(error: BaseException) -> None:
        running.error = error
        log.error("issue-event consumer failed", exc_info=error)

    def supervise() -> None:
        until_done(
            lambda: consumer.run(stop_event),
            stop_event=stop_event,
            unavailable=(Exception,),
            what="issue-event consumer failed, restarting it",
            first_delay=1.0,
            max_delay=60.0,
            on_retry=failed,
        )

    running.thread = threading.Thread(target=supervise, name="okr-issue-consumer", daemon=True)
    running.thread.start()
    return running


def _build_runtime(settings: Settings, stop_event: threading.Event) -> Runtime | None:
    """``build_runtime``, waiting for a database that is not up yet."""
    from entrypoints.bootstrap import build_runtime

    if stop_event.is_set():
        return None
    return until_done(
        lambda: build_runtime(settings),
        stop_event=stop_event,
        unavailable=DATABASE_UNAVAILABLE,
        what="database unavailable at start",
        first_delay=0.5,
        max_delay=10.0,
    )


def run_consumer(
    settings: Settings | None = None, stop_event: threading.Event | None = None
) -> int:
    """``okr consume``: consume until SIGTERM or SIGINT, then finish the batch and close.

    Returns the process exit status.
    """
    settings = settings or Settings()
    if not settings.kafka_bootstrap:
        log.error("OKR_KAFKA_BOOTSTRAP is not set: there is no Kafka topic to consume")
        return 2
    stop_event = stop_event or threading.Event()
    if threading.current_thread() is threading.main_thread():

        def request_stop(signum: int, _: object) -> None:
            log.info("%s: finishing the current batch, then stopping", signal.Signals(signum).name)
            stop_event.set()
            # A second signal is not ignored: it ends the process at once
            # (safe too: uncommitted offsets are simply consumed again).
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)

        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)

    runtime = _build_runtime(settings, stop_event)
    if runtime is None:
        return 0
    try:
        IssueEventConsumer(runtime.app, ingestion_settings(settings)).run(stop_event)
    finally:
        runtime.close()
    return 0


def main() -> int:
    """``python -m entrypoints.consumer_process``: the same as ``okr consume``."""
    logging.basicConfig(
        level=os.environ.get("OKR_LOG_LEVEL", "INFO").upper(),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    return run_consumer()


if __name__ == "__main__":
    sys.exit(main())
