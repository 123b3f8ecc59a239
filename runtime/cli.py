"""The ``okr`` command line (SPEC §8)."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Sequence

from runtime.bootstrap import build_runtime
from runtime.settings import Settings


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from api.app import create_app

    settings = Settings()
    server = {
        "host": args.host or settings.host,
        "port": args.port or settings.port,
        "log_level": "info",
    }
    workers = args.workers or settings.workers
    if workers > 1:
        if settings.embedded:
            print(
                "okr serve: --workers above 1 needs PostgreSQL (OKR_DATABASE_URL); the"
                " embedded mode runs its projections inside its one process",
                file=sys.stderr,
            )
            return 2
        uvicorn.run("api.app:worker_app", factory=True, workers=workers, **server)
        return 0
    runtime = build_runtime(settings)
    consumer = None
    if settings.embedded:
        # Embedded: projections, and Kafka ingestion if a broker is configured, in-process.
        runtime.start_following()
        if settings.kafka_bootstrap:
            from consumers.kafka_consumer import start_consumer_thread

            consumer = start_consumer_thread(runtime.app, settings)

    def stop_consumer() -> None:
        if consumer is not None:
            consumer.stop(timeout=30)

    try:
        uvicorn.run(create_app(runtime, owns_runtime=True, before_close=stop_consumer), **server)
    finally:  # the server failed to start, or stopped without a shutdown
        stop_consumer()
        runtime.close()
    return 0


def _consume(_: argparse.Namespace) -> int:
    from consumers.kafka_consumer import run_consumer

    return run_consumer()


def _project(_: argparse.Namespace) -> int:
    runtime = build_runtime()
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    runtime.start_following()
    names = ", ".join(m.name for m in runtime.follower.models)
    print(f"following the event log into: {names}", flush=True)
    stop.wait()
    runtime.close()
    return 0


def _rebuild(args: argparse.Namespace) -> int:
    from projections.rebuild import ProgressBar, rebuild

    runtime = build_runtime()
    try:
        known = {model.name: model for model in runtime.follower.models}
        names = [args.projection] if args.projection else list(known)
        unknown = [name for name in names if name not in known]
        if unknown:
            print(
                f"unknown projection {unknown[0]!r}; choose from: {', '.join(known)}",
                file=sys.stderr,
            )
            return 2
        # One pass over the log for all of them, swapped in together.
        fresh = [type(known[name])() for name in names]
        bar = ProgressBar(f"rebuilding {', '.join(names)}")
        count = rebuild(runtime.app, runtime.store, fresh, progress=bar)
        bar.finish()
        for name in names:
            print(f"rebuilt {name} from {count} events and swapped it in")
    finally:
        runtime.close()
    return 0


def _audit(args: argparse.Namespace) -> int:
    import json
    import uuid

    from projections.audit import audit_trail, render

    try:
        objective_id = uuid.UUID(args.objective_id)
    except ValueError:
        print(f"not an objective id: {args.objective_id!r}", file=sys.stderr)
        return 2
    runtime = build_runtime()
    try:
        entries = audit_trail(runtime.app, runtime.store, objective_id)
    finally:
        runtime.close()
    if not entries:
        print(f"no objective {objective_id}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps([e.as_json() for e in entries], indent=2))
    else:
        print(render(entries))
    return 0


def _demo(args: argparse.Namespace) -> int:
    from runtime.demo import ORG, load_demo

    runtime = build_runtime()
    try:
        if runtime.app.recorder.max_notification_id() and not args.force:
            print(
                "the event store is not empty; `okr demo --force` adds the demo anyway",
                file=sys.stderr,
            )
            return 1
        loaded = load_demo(runtime.app)
        _, token = runtime.tokens.create(ORG, "olivia", "admin")
    finally:
        runtime.close()
    print(f"loaded the demo organization {ORG!r}: {len(loaded.objectives)} objectives,")
    print(f"{len(loaded.key_results)} key results, {loaded.last_position} events.")
    print(f"admin token for {ORG}/olivia (shown once): {token}")
    print(f"current cycle: {loaded.cycles['current']}")
    return 0


def _token_create(args: argparse.Namespace) -> int:
    runtime = build_runtime()
    try:
        token_id, token = runtime.tokens.create(
            args.org, args.user, args.role, expires_in=args.expires_in
        )
    finally:
        runtime.close()
    print(token)
    lasts = "" if args.expires_in is None else f"; it expires in {args.expires_in}"
    print(
        f"token id {token_id} (for `okr token revoke`); only its hash is stored{lasts}",
        file=sys.stderr,
    )
    return 0


def _token_list(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    runtime = build_runtime()
    now = datetime.now(UTC)
    try:
        for info in runtime.tokens.list(args.org):
            if info.revoked_at:
                state = f"revoked {info.revoked_at}"
            elif info.expired(now):
                state = "expired"
            else:
                state = "active"
            print(
                f"{info.token_id}  org={info.organization_id}  user={info.user_id}  "
                f"role={info.role}  created={info.created_at}  "
                f"expires={info.expires_at or 'never'}  {state}"
            )
    finally:
        runtime.close()
    return 0


def _expires_in(text: str) -> object:
    """argparse type for ``--expires-in``: 90d, 12h, 30m."""
    from api.tokens import parse_expires_in

    try:
        return parse_expires_in(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _token_revoke(args: argparse.Namespace) -> int:
    runtime = build_runtime()
    try:
        revoked = runtime.tokens.revoke(args.token_id)
    finally:
        runtime.close()
    if not revoked:
        print(f"no active token with id {args.token_id}", file=sys.stderr)
        return 1
    print(f"revoked {args.token_id}")
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="okr",
        description="Event-sourced OKR service. Configure with OKR_* environment variables; "
        "with none set it runs embedded (SQLite under OKR_DATA_DIR, default .okr/).",
    )
    commands = root.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="serve the HTTP API")
    serve.add_argument("--host", help="address to bind (default OKR_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default OKR_PORT or 8000)")
    serve.add_argument(
        "--workers",
        type=int,
        help="API processes (default OKR_WORKERS or 1; above 1 only with PostgreSQL)",
    )
    serve.set_defaults(run=_serve)

    consume = commands.add_parser(
        "consume", help="ingest issue events from Kafka (OKR_KAFKA_BOOTSTRAP) into the event store"
    )
    consume.set_defaults(run=_consume)

    project = commands.add_parser(
        "project", help="run the projections (read models), following the event log"
    )
    project.set_defaults(run=_project)

    rebuild = commands.add_parser(
        "rebuild",
        help="rebuild a read model from the event log (beside the live one, then swap)",
    )
    rebuild.add_argument(
        "projection", nargs="?", help="cycles, teams, objectives or issue_links (default: all)"
    )
    rebuild.set_defaults(run=_rebuild)

    audit = commands.add_parser(
        "audit", help="print an objective's story: who changed what, when, progress before → after"
    )
    audit.add_argument("objective_id", help="the objective's id")
    audit.add_argument("--json", action="store_true", help="machine-readable output")
    audit.set_defaults(run=_audit)

    demo = commands.add_parser(
        "demo", help="load a realistic demo organization (teams, two cycles, weeks of history)"
    )
    demo.add_argument("--force", action="store_true", help="load even if there are events")
    demo.set_defaults(run=_demo)

    token = commands.add_parser("token", help="manage API bearer tokens")
    token_commands = token.add_subparsers(dest="token_command", required=True, metavar="ACTION")
    create = token_commands.add_parser("create", help="create a token and print it once")
    create.add_argument("--org", required=True, help="organization the token is bound to")
    create.add_argument("--user", required=True, help="user the token acts as")
    create.add_argument(
        "--role", required=True, choices=["admin", "member", "integration"], help="token role"
    )
    create.add_argument(
        "--expires-in",
        type=_expires_in,
        default=None,
        metavar="DURATION",
        help="refuse the token after this long: Nd, Nh or Nm (e.g. 90d); default never",
    )
    create.set_defaults(run=_token_create)
    listing = token_commands.add_parser("list", help="list tokens (never the secrets)")
    listing.add_argument("--org", help="only this organization's tokens")
    listing.set_defaults(run=_token_list)
    revoke = token_commands.add_parser("revoke", help="revoke a token by its id")
    revoke.add_argument("token_id", help="the id printed by `okr token create`")
    revoke.set_defaults(run=_token_revoke)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    args = parser().parse_args(argv)
    code: int = args.run(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
