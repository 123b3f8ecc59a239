"""What every ``okr`` subcommand shares: one-line usage errors, help with an example,
and the runtime opened so that each way it cannot start is one line."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NoReturn, Protocol

from commands.application import OkrApplication
from entrypoints.bootstrap import Runtime, open_runtime
from entrypoints.errors import load_settings

Run = Callable[[argparse.Namespace], int]


class Parser(argparse.ArgumentParser):
    """An ``argparse`` parser that reports a usage mistake as one line (exit 2).

    Subcommands' parsers are of the same class (``add_subparsers`` makes them
    with the parent's class), so every level answers the same way.
    """

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message}\n")


class Commands(Protocol):
    """The ``add_parser`` half of ``argparse``'s subparsers action."""

    def add_parser(self, name: str, **kwargs: Any) -> Parser: ...


def command(
    commands: Commands, name: str, what: str, example: str, run: Run | None = None
) -> Parser:
    """A subcommand whose ``--help`` says what it does (``what``) and shows ``example``."""
    parser = commands.add_parser(
        name,
        help=what,
        description=what[:1].upper() + what[1:] + ".",
        epilog=f"example:\n  {example}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(prog=parser.prog)  # main names the command in its one line
    if run is not None:
        parser.set_defaults(run=run)
    return parser


@contextmanager
def opened(
    *,
    create: bool = True,
    application: Callable[[dict[str, str]], OkrApplication] = OkrApplication,
) -> Iterator[Runtime]:
    """The runtime from the environment, closed afterwards.

    ``create=False`` for a command that works on data already there: embedded
    with no data, it says so instead of making an empty data directory.
    Mistakes raise ``CannotStart``, which ``main`` prints as one line.
    """
    runtime = open_runtime(load_settings(), create=create, application=application)
    try:
        yield runtime
    finally:
        runtime.close()
