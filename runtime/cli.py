"""The ``okr`` command line (SPEC §8)."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from typing import NoReturn

from runtime.bootstrap import Runtime, build_runtime
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
        # The schema once, here: N workers each running CREATE TABLE IF NOT EXISTS on
        # a fresh database race in PostgreSQL's catalog, and one of them dies.
        build_runtime(settings).close()
        uvicorn.run("api.app:worker_app", factory=True, workers=workers, **server)
        return 0
    runtime = build_runtime(settings)
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

    try:
        uvicorn.run(create_app(runtime, owns_runtime=True, before_close=stop_consumer), **server)
    finally:  # the server failed to start, or stopped without a shutdown
        stop_consumer()
        runtime.close()
    return 0


def _consume(_: argparse.Namespace) -> int:
    from entrypoints.consumer_process import run_consumer

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
        entries = audit_trail(runtime.app, runtime.store, objective_id, viewer=None)
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
        hook = runtime.webhooks.create(ORG, "github")
    finally:
        runtime.close()
    print(f"loaded the demo organization {ORG!r}: {len(loaded.objectives)} objectives,")
    print(f"{len(loaded.key_results)} key results, {loaded.last_position} events.")
    print(f"admin token for {ORG}/olivia (shown once): {token}")
    print(f"current cycle: {loaded.cycles['current']}")
    print(f"GitHub webhook for {ORG}: POST {hook.url}, secret (shown once): {hook.secret}")
    return 0


def _one_line_errors(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Make ``parser`` report a usage mistake as one line (and exit 2), not usage + line."""

    def error(message: str) -> NoReturn:
        parser.exit(2, f"{parser.prog}: {message}\n")

    parser.error = error  # type: ignore[method-assign]
    return parser


def _webhook_runtime(prog: str) -> Runtime | None:
    """The runtime, or None after one line saying why the store cannot be opened.

    A one-shot command's stderr is for its one line of error: the stores'
    own INFO notes (opened, closed) are left out.
    """
    logging.getLogger("runtime").setLevel(logging.WARNING)
    try:
        return build_runtime()
    except Exception as error:  # a bad OKR_DATABASE_URL, an unreachable server
        print(f"{prog}: cannot open the store ({type(error).__name__}: {error})", file=sys.stderr)
        return None


def _webhook_create(args: argparse.Namespace) -> int:
    import json

    from consumers.trackers import UnknownTracker, get_adapter

    prog = "okr webhook create"
    try:
        tracker = get_adapter(args.tracker).name
    except UnknownTracker as error:
        print(f"{prog}: {error}", file=sys.stderr)
        return 2
    if not args.org.strip():
        print(f"{prog}: --org must not be blank", file=sys.stderr)
        return 2
    mapping = None
    if args.mapping is not None:
        try:
            mapping = json.loads(args.mapping)
        except ValueError as error:
            print(f"{prog}: --mapping is not JSON ({error})", file=sys.stderr)
            return 2
        if not isinstance(mapping, dict):
            print(f"{prog}: --mapping must be a JSON object", file=sys.stderr)
            return 2
    runtime = _webhook_runtime(prog)
    if runtime is None:
        return 1
    try:
        most = runtime.settings.webhook_registrations_per_organization
        if runtime.webhooks.count(args.org) >= most:
            print(
                f"{prog}: {args.org!r} already has {most} webhook registrations"
                " (OKR_WEBHOOK_REGISTRATIONS_PER_ORGANIZATION)",
                file=sys.stderr,
            )
            return 1
        hook = runtime.webhooks.create(args.org, tracker, mapping)
    except ValueError as error:
        print(f"{prog}: {error}", file=sys.stderr)
        return 2
    finally:
        runtime.close()
    print(f"id      {hook.registration_id}")
    print(f"url     {hook.url}")
    print(f"secret  {hook.secret}")
    print(f"give the url and secret to {tracker}; the secret is not shown again", file=sys.stderr)
    return 0


def _webhook_list(args: argparse.Namespace) -> int:
    runtime = _webhook_runtime("okr webhook list")
    if runtime is None:
        return 1
    try:
        after = None
        while True:
            page = runtime.webhooks.page(args.org, 500, after)
            for hook in page.registrations:
                rotated = f"  rotated={hook.rotated_at}" if hook.rotated_at else ""
                print(
                    f"{hook.registration_id}  org={hook.organization_id}  tracker={hook.tracker}"
                    f"  url={hook.url}  created={hook.created_at}{rotated}"
                )
            if page.last is None:
                break
            after = page.last
    finally:
        runtime.close()
    return 0


def _webhook_rotate(args: argparse.Namespace) -> int:
    runtime = _webhook_runtime("okr webhook rotate")
    if runtime is None:
        return 1
    try:
        hook = runtime.webhooks.rotate(args.registration_id, args.org)
    finally:
        runtime.close()
    if hook is None:
        print(
            f"okr webhook rotate: no webhook registration {args.registration_id!r}", file=sys.stderr
        )
        return 1
    print(f"secret  {hook.secret}")
    print("the old secret no longer verifies; the new one is not shown again", file=sys.stderr)
    return 0


def _webhook_delete(args: argparse.Namespace) -> int:
    runtime = _webhook_runtime("okr webhook delete")
    if runtime is None:
        return 1
    try:
        deleted = runtime.webhooks.delete(args.registration_id, args.org)
    finally:
        runtime.close()
    if not deleted:
        print(
            f"okr webhook delete: no webhook registration {args.registration_id!r}", file=sys.stderr
        )
        return 1
    print(f"deleted {args.registration_id}")
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

    webhook = _one_line_errors(
        commands.add_parser(
            "webhook", help="manage webhook registrations (one URL and secret each)"
        )
    )
    webhook_commands = webhook.add_subparsers(
        dest="webhook_command", required=True, metavar="ACTION"
    )
    hook_create = _one_line_errors(
        webhook_commands.add_parser("create", help="register a tracker; prints id, url and secret")
    )
    hook_create.add_argument("--org", required=True, help="organization deliveries land in")
    hook_create.add_argument("--tracker", required=True, help="github, gitlab, jira or linear")
    hook_create.add_argument("--mapping", help="a JSON object of mapping settings (kept for later)")
    hook_create.set_defaults(run=_webhook_create)
    hook_list = _one_line_errors(
        webhook_commands.add_parser("list", help="list registrations (never the secrets)")
    )
    hook_list.add_argument("--org", help="only this organization's registrations")
    hook_list.set_defaults(run=_webhook_list)
    for action, run, what in (
        ("rotate", _webhook_rotate, "give a registration a new secret and print it once"),
        ("delete", _webhook_delete, "delete a registration: its URL answers 404 from then on"),
    ):
        command = _one_line_errors(webhook_commands.add_parser(action, help=what))
        command.add_argument("registration_id", help="the id printed by `okr webhook create`")
        command.add_argument("--org", help="refuse unless the registration is this organization's")
        command.set_defaults(run=run)

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
