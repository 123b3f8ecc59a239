"""``okr audit``, ``okr rebuild``, ``okr demo``: what the event log tells and makes."""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from datetime import UTC, datetime

from eventsourcing.application import AggregateNotFoundError

from entrypoints.bootstrap import Runtime
from entrypoints.cli.common import Commands, command, opened
from entrypoints.errors import USAGE, CannotStart


def rebuild(args: argparse.Namespace) -> int:
    from projections.parked import parked_events
    from projections.rebuild import ProgressBar
    from projections.rebuild import rebuild as rebuild_views

    with opened(create=False) as runtime:
        known = {model.name: model for model in runtime.follower.models}
        names = [args.projection] if args.projection else list(known)
        unknown = [name for name in names if name not in known]
        if unknown:
            raise CannotStart(
                f"unknown projection {unknown[0]!r}; choose from: {', '.join(known)}", USAGE
            )
        # One pass over the log for all of them, swapped in together.
        fresh = [type(known[name])() for name in names]
        bar = ProgressBar(f"rebuilding {', '.join(names)}")
        count = rebuild_views(runtime.app, runtime.store, fresh, progress=bar)
        bar.finish()
        parked = [p for p in parked_events(runtime.store) if p.model in names]
    for name in names:
        print(f"rebuilt {name} from {count} events and swapped it in")
    if parked:
        print(
            f"{len(parked)} event(s) parked, their organizations held back: okr projections parked",
            file=sys.stderr,
        )
    return 0


def what_else(runtime: Runtime, wanted: uuid.UUID) -> str | None:
    """What ``wanted`` names if not an objective (a cycle, a team, a key result), or None.

    ``okr audit`` tells the story of an objective; given another id, the person
    is told what that id is, and for a key result which objective to audit.
    Raises ``CannotStart`` when nothing has that id.
    """
    from domain.objective import Objective

    with runtime.store.transaction(commit=False) as tx:
        row = tx.fetchone(
            "SELECT objective_id FROM okr_key_results WHERE id = :id", {"id": str(wanted)}
        )
    if row is not None:
        objective_id = row["objective_id"]
        return f"a key result; its objective is {objective_id}: okr audit {objective_id}"
    try:
        aggregate: object = runtime.app.repository.get(wanted)
    except AggregateNotFoundError:
        raise CannotStart(f"no objective {wanted}") from None
    if isinstance(aggregate, Objective):
        return None
    return f"a {type(aggregate).__name__.lower()}, not an objective"


def audit(args: argparse.Namespace) -> int:
    from projections.audit import audit_trail, render

    try:
        objective_id = uuid.UUID(args.objective_id)
    except ValueError:
        raise CannotStart(f"not an objective id: {args.objective_id!r}", USAGE) from None
    with opened(create=False) as runtime:
        other = what_else(runtime, objective_id)
        if other is not None:
            raise CannotStart(f"{objective_id} is {other}", USAGE)
        entries = audit_trail(runtime.app, runtime.store, objective_id, viewer=None)
    if args.json:
        print(json.dumps([e.as_json() for e in entries], indent=2))
    else:
        print(render(entries))
    return 0


def demo(args: argparse.Namespace) -> int:
    from functools import partial

    from entrypoints.demo import ORG, BackdatedApplication, DemoClock, load_demo, story_start

    today = datetime.now(UTC).date()
    clock = DemoClock(story_start(today))
    with opened(application=partial(BackdatedApplication, clock=clock)) as runtime:
        if runtime.app.recorder.max_notification_id() and not args.force:
            print(
                "the event store is not empty; `okr demo --force` adds the demo anyway",
                file=sys.stderr,
            )
            return 1
        loaded = load_demo(runtime.app, clock, today)
        _, token = runtime.tokens.create(ORG, "olivia", "admin")
        hook = runtime.webhooks.create(ORG, "github")
    print(f"loaded the demo organization {ORG!r}: {len(loaded.objectives)} objectives,")
    print(f"{len(loaded.key_results)} key results, {loaded.last_position} events.")
    print(f"admin token for {ORG}/olivia (shown once): {token}")
    print(f"current cycle: {loaded.cycles['current']}")
    print(f"GitHub webhook for {ORG}: POST {hook.url}, secret (shown once): {hook.secret}")
    return 0


def add_commands(commands: Commands) -> None:
    parser = command(
        commands,
        "rebuild",
        "rebuild read models from the event log (beside the live ones, then swap)",
        "okr rebuild objectives",
        rebuild,
    )
    parser.add_argument(
        "projection", nargs="?", help="cycles, teams, objectives or issue_links (default: all)"
    )
    parser = command(
        commands,
        "audit",
        "print an objective's story: who changed what, when, progress before → after",
        "okr audit 3f2b6c1e-8a4d-4f7e-9b1a-2c5d7e9f0a1b --json",
        audit,
    )
    parser.add_argument("objective_id", help="the objective's id")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser = command(
        commands,
        "demo",
        "load a realistic demo organization (teams, two cycles, weeks of history)",
        "okr demo && okr serve",
        demo,
    )
    parser.add_argument("--force", action="store_true", help="load even if there are events")
