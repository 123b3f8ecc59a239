"""Mistakes a person makes starting the service, each told as one readable line.

A wrong ``OKR_`` variable, a database that does not answer, a data directory
that cannot be made, a port already taken, a command given the wrong id: the
command line answers each with one line on stderr and a non-zero exit
(``entrypoints.cli.main`` catches ``CannotStart``), never a traceback or a
raw validation dump.
"""

from __future__ import annotations

from pydantic import ValidationError

from entrypoints.settings import Settings

USAGE = 2
"""Exit status of a mistake in the command line or the configuration."""
FAILURE = 1
"""Exit status of a command that could not do its job (store unreachable, nothing found)."""


class CannotStart(Exception):
    """One line for the person at the terminal, and the exit status to end with."""

    def __init__(self, message: str, status: int = FAILURE) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def describe_invalid_settings(error: ValidationError) -> str:
    """``OKR_PORT: Input should be a valid integer (got 'abc')``, one clause per mistake."""
    clauses = []
    for problem in error.errors(include_url=False):
        field = ".".join(str(part) for part in problem["loc"]) or "settings"
        message = str(problem["msg"]).removeprefix("Value error, ")
        given = problem.get("input")
        secret = field == "database_url"  # may hold a password: never echoed
        shown = isinstance(given, str | int | float) and not secret
        got = f" (got {given!r})" if shown else ""
        clauses.append(f"OKR_{field.upper()}: {message}{got}")
    return "; ".join(clauses)


def load_settings() -> Settings:
    """The settings from the environment, or ``CannotStart`` naming the wrong variable."""
    try:
        return Settings()
    except ValidationError as error:
        raise CannotStart(f"bad configuration: {describe_invalid_settings(error)}", USAGE) from None
