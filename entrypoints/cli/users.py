"""``okr user erase``: erase a person (SPEC §11), as ``DELETE /v1/users/{id}`` does."""

from __future__ import annotations

import argparse
from typing import Any

from entrypoints.cli.common import Commands, command, opened


def erase(args: argparse.Namespace) -> int:
    from api.erasure import erase_person

    with opened(create=False) as runtime:
        erased = erase_person(runtime, args.org, args.user)
    found = [
        what
        for what, was in (
            ("key", erased.key),
            ("directory entry", erased.directory_entry),
            (f"plaintext texts of {erased.legacy_events} older event(s)", erased.legacy_events),
        )
        if was
    ]
    print(
        f"erased {args.org}/{args.user}: "
        + (", ".join(found) + " deleted" if found else "nothing left to delete")
    )
    return 0


def add_commands(commands: Commands) -> None:
    user = command(
        commands, "user", "people of an organization", "okr user erase --org acme --user bob"
    )
    actions: Any = user.add_subparsers(dest="user_command", required=True, metavar="ACTION")
    parser = command(
        actions,
        "erase",
        "erase a person: their key (their notes, check-in notes and retrospective texts"
        " read [erased] from now on) and their directory entry",
        "okr user erase --org acme --user bob",
        erase,
    )
    parser.add_argument("--org", required=True, help="the organization's id")
    parser.add_argument("--user", required=True, help="the person's user id")
