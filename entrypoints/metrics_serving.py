"""Where each process's Prometheus metrics are served (SPEC §14).

- ``okr serve``: the API's ``GET /metrics``. Embedded, the projections and the
  consumer run in that process, so their series are on the same page.
- ``okr project``, ``okr consume``: their own small HTTP server on
  ``OKR_HOST:OKR_METRICS_PORT`` when that is set (no default port: two
  processes on one host would fight over it; compose sets it).
- ``okr serve --workers N``: N processes behind one port, so one scrape
  reaches one worker. prometheus_client's multiprocess mode makes every
  worker's ``/metrics`` show the sum over all of them: ``okr serve`` makes a
  fresh directory for the workers' files (``PROMETHEUS_MULTIPROC_DIR``, read
  by prometheus_client in each worker at import) and removes it when the
  server stops. An operator's own ``PROMETHEUS_MULTIPROC_DIR`` is used as is
  and left in place.
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.multiprocess import MultiProcessCollector

from entrypoints.errors import CannotStart
from entrypoints.settings import Settings

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def serve_metrics(settings: Settings) -> None:
    """``okr project`` and ``okr consume``: serve /metrics on ``OKR_METRICS_PORT`` (a
    daemon thread); nothing when it is unset. A port in use is one line at start."""
    if settings.metrics_port is None:
        return
    try:
        start_http_server(settings.metrics_port, addr=settings.host)
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            raise CannotStart(
                f"metrics port {settings.metrics_port} on {settings.host} is already in use;"
                " choose another with OKR_METRICS_PORT"
            ) from None
        raise CannotStart(
            f"cannot serve metrics on {settings.host}:{settings.metrics_port}: {error.strerror}"
        ) from None


@contextmanager
def shared_by_workers() -> Iterator[str]:
    """For ``okr serve --workers N``: the directory the workers' metrics share, set in
    the environment they inherit, removed afterwards unless the operator gave it."""
    given = os.environ.get(MULTIPROC_ENV)
    if given:
        yield given
        return
    made = tempfile.mkdtemp(prefix="okr-metrics-")
    os.environ[MULTIPROC_ENV] = made
    try:
        yield made
    finally:
        os.environ.pop(MULTIPROC_ENV, None)
        shutil.rmtree(made, ignore_errors=True)


def worker_registry() -> CollectorRegistry | None:
    """A worker's ``/metrics`` source: every worker's series summed, in multiprocess
    mode; None (this process's default registry) otherwise."""
    directory = os.environ.get(MULTIPROC_ENV)
    if not directory:
        return None
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
    return registry
