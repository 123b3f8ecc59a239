"""``okr serve``, ``okr project``, ``okr consume``: the service's long-running processes."""

from __future__ import annotations

import argparse
import errno
import signal
import socket
import threading

from entrypoints.bootstrap import open_runtime
from entrypoints.cli.common import Commands, command
from entrypoints.errors import USAGE, CannotStart, load_settings
from entrypoints.logs import configure_logging, logging_config
from entrypoints.metrics_serving import serve_metrics, shared_by_workers


def port_number(text: str) -> int:
    """argparse type for ``--port``: a TCP port, 1 to 65535."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 1 to 65535, not {port}")
    return port


def listening_socket(host: str, port: int) -> socket.socket:
    """The server's socket, bound before anything starts: a port in use is one line
    at once, not an error after the application's startup has completed."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as error:
        raise CannotStart(f"cannot listen on {host}: {error.strerror}", USAGE) from None
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as error:
        sock.close()
        if error.errno == errno.EADDRINUSE:
            raise CannotStart(
                f"port {port} on {host} is already in use (another server?); choose another"
                " with --port or OKR_PORT"
            ) from None
        raise CannotStart(f"cannot listen on {host}:{port}: {error.strerror}") from None
    return sock


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    from entrypoints.asgi import create_app

    settings = load_settings()
    configure_logging(settings.log_format)
    host: str = args.host or settings.host
    port: int = args.port or settings.port
    workers: int = args.workers or settings.workers
    if workers > 1 and settings.embedded:
        raise CannotStart(
            "--workers above 1 needs PostgreSQL (OKR_DATABASE_URL); the embedded mode runs"
            " its projections inside its one process",
            USAGE,
        )
    sock = listening_socket(host, port)
    if workers > 1:
        sock.close()  # the port is free; uvicorn's supervisor binds it for its workers
        # Once, here, before any worker: an unreachable database is one line and exit
        # code, not N workers dying and restarted; the schema is made here too (the
        # workers after it, and any other process, take turns: schema_lock.py).
        open_runtime(settings).close()
        with shared_by_workers():  # one scrape of any worker shows all of them
            uvicorn.run(
                "entrypoints.asgi:worker_app",
                factory=True,
                workers=workers,
                host=host,
                port=port,
                log_level="info",
                log_config=logging_config(settings.log_format),
            )
        return 0
    try:
        runtime = open_runtime(settings)
    except BaseException:
        sock.close()
        raise
    consumer = None
    if settings.embedded:
        # Embedded: projections, and Kafka ingestion if a broker is configured, in-process.
        runtime.start_following()
        if settings.kafka_bootstrap:
            from entrypoints.consumer_process import start_consumer_thread

            consumer = start_consumer_thread(runtime.app, settings)

    def stop_consumer() -> None:
        if consumer is not None:
            consumer.stop(timeout=30)

    server = uvicorn.Server(
        uvicorn.Config(
            create_app(runtime, owns_runtime=True, before_close=stop_consumer),
            host=host,
            port=port,
            log_level="info",
            log_config=logging_config(settings.log_format),
        )
    )
    try:
        server.run(sockets=[sock])
    finally:  # the server failed to start, or stopped without a shutdown
        stop_consumer()
        runtime.close()
        sock.close()
    return 0 if server.started else 3


def consume(_: argparse.Namespace) -> int:
    from entrypoints.consumer_process import run_consumer

    settings = load_settings()
    configure_logging(settings.log_format)
    serve_metrics(settings)
    return run_consumer(settings)


def project(args: argparse.Namespace) -> int:
    from projections.generations import MAX_PARTITIONS, ProjectionRefused

    partitions: int = args.partitions
    partition: int = args.partition
    if not 1 <= partitions <= MAX_PARTITIONS:
        raise CannotStart(f"--partitions is 1 to {MAX_PARTITIONS} (got {partitions})", USAGE)
    if not 0 <= partition < partitions:
        raise CannotStart(
            f"--partition is 0 to --partitions - 1 (got {partition} of {partitions})", USAGE
        )
    settings = load_settings()
    configure_logging(settings.log_format)
    if partitions > 1 and settings.embedded:
        raise CannotStart("--partitions above 1 needs PostgreSQL (OKR_DATABASE_URL)", USAGE)
    serve_metrics(settings)
    runtime = open_runtime(settings, share=(partition, partitions))
    try:
        lanes = runtime.follower.lanes()
    except ProjectionRefused as refused:
        runtime.close()
        raise CannotStart(str(refused)) from None
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    runtime.start_following()
    names = ", ".join(lane.name for lane in lanes)
    print(f"following the event log into: {names}", flush=True)
    while not stop.wait(0.5) and runtime.follower.running:
        pass
    stopped_by = runtime.follower.refused
    runtime.close()
    if stopped_by is not None:
        raise CannotStart(str(stopped_by))
    return 0


def add_commands(commands: Commands) -> None:
    parser = command(
        commands,
        "serve",
        "serve the HTTP API (embedded: also the projections, and Kafka ingestion if"
        " OKR_KAFKA_BOOTSTRAP is set)",
        "okr serve --host 0.0.0.0 --port 8080",
        serve,
    )
    parser.add_argument("--host", help="address to bind (default OKR_HOST or 127.0.0.1)")
    parser.add_argument("--port", type=port_number, help="port (default OKR_PORT or 8000)")
    parser.add_argument(
        "--workers",
        type=int,
        help="API processes (default OKR_WORKERS or 1; above 1 only with PostgreSQL)",
    )
    command(
        commands,
        "consume",
        "ingest issue events from Kafka (OKR_KAFKA_BOOTSTRAP) into the event store",
        "OKR_KAFKA_BOOTSTRAP=kafka:9092 okr consume",
        consume,
    )
    parser = command(
        commands,
        "project",
        "run the projections (read models), following the event log",
        "OKR_DATABASE_URL=postgresql://okr:okr@db/okr okr project --partitions 2 --partition 0",
        project,
    )
    parser.add_argument(
        "--partitions",
        type=int,
        default=1,
        help="how many runners share the organizations (default 1; above 1 only with"
        " PostgreSQL; must match the served layout)",
    )
    parser.add_argument(
        "--partition", type=int, default=0, help="this runner's share, 0 to --partitions - 1"
    )
