"""``okr snapshots drop [TYPE]``: delete stored snapshots (SPEC §11).

Safe at any time, with the service running: a snapshot only spares a load
some events; without it the aggregate is replayed from its events, and the
next save past the interval takes a new one. ``entrypoints/snapshot_drop.py``
says how the rows are found.
"""

from __future__ import annotations

import argparse
from typing import Any

from entrypoints.cli.common import Commands, command, opened
from entrypoints.snapshot_drop import CREATED, drop_snapshots


def drop(args: argparse.Namespace) -> int:
    with opened(create=False) as runtime:
        count = drop_snapshots(runtime.app, args.type)
    what = f"{args.type} snapshot(s)" if args.type else "snapshot(s) of every type"
    print(f"dropped {count} {what}; those aggregates are replayed from their events")
    return 0


def add_commands(commands: Commands) -> None:
    group = command(
        commands,
        "snapshots",
        "delete stored snapshots (aggregates are then replayed from their events)",
        "okr snapshots drop objective",
    )
    actions: Any = group.add_subparsers(dest="snapshots_command", required=True, metavar="ACTION")
    parser = command(
        actions,
        "drop",
        "delete the snapshots of one aggregate type, or of all, and say how many",
        "okr snapshots drop issue",
        drop,
    )
    parser.add_argument(
        "type",
        nargs="?",
        choices=sorted(CREATED),
        metavar="TYPE",
        help=f"one of {', '.join(sorted(CREATED))} (default: every type)",
    )
