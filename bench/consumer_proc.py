"""The Kafka consumer process of figure 2: ``consumers.kafka_consumer`` as ``okr consume``
runs it (``build_runtime`` + ``IssueEventConsumer(app, ingestion_settings(settings)).run``), with
one difference: it says ``ready`` once imported and connected to the database,
and starts consuming only when a line arrives on stdin, so the benchmark times
the consumer itself, not the interpreter starting up.

Configuration is the service's own ``OKR_*`` environment.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    from consumers.kafka_consumer import IssueEventConsumer
    from entrypoints.bootstrap import build_runtime
    from entrypoints.consumer_process import ingestion_settings
    from entrypoints.settings import Settings

    settings = Settings()
    runtime = build_runtime(settings)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        consumer = IssueEventConsumer(runtime.app, ingestion_settings(settings))
        print("bench-consumer-ready", flush=True)
        if not sys.stdin.readline():
            return 0
        print("consuming", flush=True)
        consumer.run(stop)
    finally:
        runtime.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
