"""The ``okr`` command line (SPEC §8): one module per group of subcommands.

Every mistake (a usage error, a wrong ``OKR_`` variable, a database that does
not answer, a data directory that cannot be made, a port in use, a wrong id)
ends the command with one line on stderr and a non-zero exit.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version

from entrypoints.cli import history, processes, projections, snapshots, tokens, users, webhooks
from entrypoints.cli.common import Parser
from entrypoints.errors import CannotStart

__all__ = ["main", "parser"]

PACKAGE = "okr-service"


def package_version() -> str:
    """The installed package's version (pyproject's), as ``okr --version`` prints it."""
    try:
        return version(PACKAGE)
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed)"


def parser() -> argparse.ArgumentParser:
    root = Parser(
        prog="okr",
        description="Event-sourced OKR service. Configure with OKR_* environment variables; "
        "with none set it runs embedded (SQLite under OKR_DATA_DIR, default .okr/).",
        epilog="example:\n  okr demo && okr serve --port 8080",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    root.add_argument("--version", action="version", version=f"okr {package_version()}")
    commands = root.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in (processes, history, projections, snapshots, webhooks, tokens, users):
        group.add_commands(commands)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    # WARNING and above for a one-shot command: its stderr is for its one line;
    # the long-running processes raise this to INFO for themselves.
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    args = parser().parse_args(argv)
    try:
        code: int = args.run(args)
    except CannotStart as error:
        print(f"{getattr(args, 'prog', 'okr')}: {error.message}", file=sys.stderr)
        return error.status
    except KeyboardInterrupt:
        return 130
    return code
