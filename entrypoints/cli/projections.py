"""``okr projections parked|retry``: the poison events the read models parked (SPEC §10).

``parked`` lists them; ``retry`` asks for a retry after a fix. The command
line never replays anything itself: the projector that owns the read model's
position does (at its next look at the log, about once a second), so a retry
can never race the batches it writes. ``retry`` waits a little for the answer
(``--wait``) and says when no projector took it: the retry then happens when
one runs (``okr project``, or ``okr serve`` embedded).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from entrypoints.bootstrap import read_models
from entrypoints.cli.common import Commands, Parser, command, opened
from entrypoints.errors import CannotStart
from projections.parked import ParkedEvent, parked_events, request_retry
from projections.store import ViewStore

WAIT = 10.0
"""Seconds ``retry`` waits for a projector's answer by default (it looks once a second)."""


def line(parked: ParkedEvent) -> str:
    """One parked event as a person reads it."""
    event = parked.topic.rpartition(":")[2] or parked.topic
    asked = "  (retry requested)" if parked.retry_requested > 0 else ""
    return (
        f"{parked.model}  org={parked.organization}  position={parked.position}"
        f"  event={event}  parked={parked.parked_at}{asked}  error: {parked.error}"
    )


def listing(args: argparse.Namespace) -> int:
    with opened(create=False) as runtime:
        found = parked_events(runtime.store)
    if args.json:
        print(json.dumps([p.to_json() for p in found], indent=2))
        return 0
    if not found:
        print("nothing parked: every read model applies every organization's events")
        return 0
    for parked in found:
        print(line(parked))
    print(
        f"{len(found)} parked; after a fix: okr projections retry [--model M] [--organization O]",
        file=sys.stderr,
    )
    return 0


def retry(args: argparse.Namespace) -> int:
    with opened(create=False) as runtime:
        asked = request_retry(runtime.store, args.model, args.organization)
        if not asked:
            raise CannotStart(f"nothing parked{matching(args)}; see okr projections parked")
        print(f"asked the projector to retry {len(asked)} parked event(s)", flush=True)
        answers = wait_for_answers(runtime.store, asked, args.wait)
    failed = 0
    for parked in asked:
        now = answers.get(parked.key_in_lane)
        where = f"{parked.model} for {parked.organization}"
        if now is None:
            print(f"retried {where}: its events are applied")
        elif now.retry_requested < parked.retry_requested:
            failed += 1
            print(f"{where} failed again, still parked: {now.error}")
        else:
            print(
                f"{where}: no projector took the retry within {args.wait:g} s (is `okr"
                " project`, or `okr serve` embedded, running?); it happens when one runs"
            )
    return 1 if failed else 0


def wait_for_answers(
    store: ViewStore, asked: list[ParkedEvent], seconds: float
) -> dict[tuple[str, str, str], ParkedEvent]:
    """The asked rows as they are once each is answered (gone: retried; its request
    count lowered: failed again), or once ``seconds`` have passed."""
    deadline = time.monotonic() + seconds
    while True:
        now = {p.key_in_lane: p for p in parked_events(store)}
        waiting = [
            p
            for p in asked
            if p.key_in_lane in now and now[p.key_in_lane].retry_requested >= p.retry_requested
        ]
        if not waiting or time.monotonic() >= deadline:
            return now
        time.sleep(0.1)


def matching(args: argparse.Namespace) -> str:
    parts = []
    if args.model:
        parts.append(f"in {args.model}")
    if args.organization is not None:
        parts.append(f"for organization {args.organization!r}")
    return (" " + " ".join(parts)) if parts else ""


def seconds(text: str) -> float:
    """argparse type for ``--wait``: 0 to 600 seconds."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 <= value <= 600:
        raise argparse.ArgumentTypeError(f"--wait is 0 to 600 seconds, not {text}")
    return value


def add_commands(commands: Commands) -> None:
    group = command(
        commands,
        "projections",
        "list the poison events the read models parked, and retry them after a fix",
        "okr projections parked",
    )
    actions: Any = group.add_subparsers(dest="projections_command", required=True, metavar="ACTION")
    parser: Parser = command(
        actions,
        "parked",
        "list the parked events: read model, organization, position, error",
        "okr projections parked --json",
        listing,
    )
    parser.add_argument("--json", action="store_true", help="print them as a JSON list")
    parser = command(
        actions,
        "retry",
        "ask the projector to apply the parked organizations' events again (after a fix)",
        "okr projections retry --model objectives --organization acme",
        retry,
    )
    parser.add_argument(
        "--model",
        choices=[model.name for model in read_models()],
        help="only this read model's parked events",
    )
    parser.add_argument(
        "--organization",
        metavar="ORG",
        help="only this organization's (an empty string: those of no knowable organization)",
    )
    parser.add_argument(
        "--wait",
        type=seconds,
        default=WAIT,
        metavar="SECONDS",
        help=f"how long to wait for the projector's answer (default {WAIT:g})",
    )
