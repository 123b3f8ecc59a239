"""What a failed write means: "the database is away, retry" or "never, set it aside".

Both ways an issue event is applied share these: the Kafka consumer retries
the same batch on ``DATABASE_UNAVAILABLE`` and dead-letters a report the
write side ``REFUSED_BY_WRITE_SIDE``; the HTTP routes (``POST
/v1/issue-events``, the webhooks) answer 503 on ``DATABASE_UNAVAILABLE`` so
that the caller retries.
"""

from __future__ import annotations

import re
import sqlite3
from typing import Final

import psycopg
from eventsourcing.persistence import DataError as StoreDataError
from eventsourcing.persistence import IntegrityError as StoreIntegrityError
from eventsourcing.persistence import InterfaceError as StoreInterfaceError
from eventsourcing.persistence import OperationalError as StoreOperationalError

from domain.errors import DomainError

__all__ = ["DATABASE_UNAVAILABLE", "REFUSED_BY_WRITE_SIDE", "describe"]

DATABASE_UNAVAILABLE: Final[tuple[type[BaseException], ...]] = (
    StoreOperationalError,
    StoreInterfaceError,
    # apply_issue_events retries version clashes itself; one that still
    # escapes means heavy contention, which passes: retry the batch.
    StoreIntegrityError,
    psycopg.OperationalError,  # includes psycopg_pool.PoolTimeout
    psycopg.InterfaceError,
    sqlite3.OperationalError,  # "database is locked"
    sqlite3.InterfaceError,
    ConnectionError,
    TimeoutError,
)
"""Errors that say "the database is not there right now": retry the same write."""

REFUSED_BY_WRITE_SIDE: Final[tuple[type[BaseException], ...]] = (
    DomainError,
    StoreDataError,
    psycopg.DataError,
    sqlite3.DataError,
)
"""Errors that say "this event can never be applied": isolate it, dead-letter it."""


_PASSWORD_IN_URL: Final = re.compile(r"(://[^/\s:@]*):[^@\s]*@")
_PASSWORD_SETTING: Final = re.compile(r"(password\s*=\s*)('[^']*'|\S+)", re.IGNORECASE)


def describe(error: BaseException) -> str:
    """One line for a log or a dead letter: the error's type and a short message.

    Never a traceback, and never a password: a driver's message may quote the
    connection it failed on (``postgresql://okr:secret@…``, ``password=secret``),
    and a dead letter is read by whoever reads the topic.
    """
    text = " ".join(str(error).split())
    text = _PASSWORD_IN_URL.sub(r"\1:***@", text)
    text = _PASSWORD_SETTING.sub(r"\1***", text)
    return f"{type(error).__name__}: {text[:300]}" if text else type(error).__name__
