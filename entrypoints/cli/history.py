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


def job_share(text: str) -> tuple[int, int]:
    """argparse type for ``--job I/N``."""
    try:
        job, jobs = (int(part) for part in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not I/N: {text!r}") from None
    if not 0 <= job < jobs:
        raise argparse.ArgumentTypeError(f"I is 0 to N - 1 in I/N, not {text!r}")
    return job, jobs


def rebuild(args: argparse.Namespace) -> int:
    from entrypoints.rebuild_jobs import rebuild_in_jobs
    from projections.generations import MAX_PARTITIONS, ProjectionRefused
    from projections.parked import parked_events
    from projections.rebuild import ProgressBar, build

    jobs: int = args.jobs
    if not all(1 <= n <= MAX_PARTITIONS for n in (jobs, args.partitions or 1)):
        raise CannotStart(f"--jobs and --partitions are 1 to {MAX_PARTITIONS}", USAGE)
    with opened(create=False) as runtime:
        if runtime.settings.embedded and (jobs > 1 or (args.partitions or 1) > 1):
            raise CannotStart(
                "--jobs and --partitions above 1 need PostgreSQL (OKR_DATABASE_URL); the"
                " embedded mode has one writer",
                USAGE,
            )
        known = {model.name: model for model in runtime.follower.models}
        names = list(args.projection) or list(known)
        unknown = [name for name in names if name not in known]
        if unknown:
            raise CannotStart(
                f"unknown projection {unknown[0]!r}; choose from: {', '.join(known)}", USAGE
            )
        # One pass over the log for all of them, switched in together.
        fresh = [type(known[name])() for name in names]
        try:
            if args.job is not None:  # one of `--jobs N`'s processes
                if args.generation is None:
                    raise CannotStart("--job needs --generation", USAGE)
                job, of = args.job
                build(runtime.app, runtime.store, fresh, args.generation, job, of)
                return 0
            bar = ProgressBar(f"rebuilding {', '.join(names)}")
            count = rebuild_in_jobs(runtime, fresh, jobs, args.partitions, progress=bar)
            bar.finish()
        except ProjectionRefused as refused:
            raise CannotStart(str(refused)) from None
        parked = [p for p in parked_events(runtime.store) if p.model in names]
    for name in names:
        print(f"rebuilt {name} from {count} events and switched it in")
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
    from api.reveal import json_string
    from domain.objective import Objective
    from domain.personal import reveal
    from projections.audit import actors, audit_trail, render, with_names

    try:
        objective_id = uuid.UUID(args.objective_id)
    except ValueError:
        raise CannotStart(f"not an objective id: {args.objective_id!r}", USAGE) from None
    with opened(create=False) as runtime:
        other = what_else(runtime, objective_id)
        if other is not None:
            raise CannotStart(f"{objective_id} is {other}", USAGE)
        entries = audit_trail(runtime.app, runtime.store, objective_id, viewer=None)
        objective: object = runtime.app.repository.get(objective_id)
        assert isinstance(objective, Objective)  # what_else said so
        owner = objective.organization_id
        names = runtime.people.names(owner, actors(entries))
        entries = with_names(entries, names)
        # Personal texts are opened here, as the output leaves (domain/personal.py).
        if args.json:
            story = json.dumps([e.as_json() for e in entries], indent=2, ensure_ascii=False)
            story = reveal(story, runtime.personal_keys, json_string, organization_id=owner)
        else:
            story = reveal(render(entries), runtime.personal_keys, organization_id=owner)
    print(story)
    return 0


def demo(args: argparse.Namespace) -> int:
    from functools import partial

    from entrypoints.demo import (
        ORG,
        PEOPLE,
        BackdatedApplication,
        DemoClock,
        load_demo,
        story_start,
    )

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
        for user, name in PEOPLE.items():  # the directory is outside the event store
            runtime.people.put(ORG, user, name, None)
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
        "projection",
        nargs="*",
        help="cycles, teams, objectives or issue_links (default: all)",
    )
    parser.add_argument(
        "--jobs", type=int, default=1, help="processes that rebuild, one partition each"
    )
    parser.add_argument(
        "--partitions",
        type=int,
        help="the layout `okr project` runners use afterwards (default: the served one)",
    )
    parser.add_argument("--job", type=job_share, help=argparse.SUPPRESS)
    parser.add_argument("--generation", type=int, help=argparse.SUPPRESS)
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
