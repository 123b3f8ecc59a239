"""What a command read of other aggregates, asserted unchanged when it saves.

A rule that spans aggregates (SPEC §10) is decided on aggregates the command
does not save: the cycle whose phase allows a check-in, the objectives above a
re-aligned one. Optimistic concurrency only guards the aggregates saved, so a
phase change or a second re-alignment committing between the check and the
save would go unseen. Each check therefore names what it relied on
(``rely_on``: the aggregate's id and the version it read), and the event
recorder asserts, inside the transaction that inserts the command's events and
after its write lock, that none of them has a newer event. If one has, the
recorder raises ``ReadsChanged``; ``CommandsBase.retrying`` runs the command
again from fresh copies, and the rule then refuses it (or it passes, ordered
after the other write). Every save is then as if the commands ran one at a time.

The reads of one attempt are collected in a context variable, so the checks
deep in the command path need no extra parameter and threads never share them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

UNCHANGED = "unchanged"
"""The keyword of ``Application.save`` (passed on to ``recorder.insert_events``)
that carries ``{aggregate id: version read}``."""

_reads: ContextVar[dict[UUID, int] | None] = ContextVar("okr_command_reads", default=None)


class ReadsChanged(IntegrityError):
    """An aggregate the command relied on has a newer event: nothing was written,
    the command runs again (never a ``VersionMismatch``: the caller's If-Match was
    about the aggregate it changes, not about this one)."""


@contextmanager
def collecting() -> Iterator[dict[UUID, int]]:
    """One attempt of a command: the reads ``rely_on`` records until it ends."""
    reads: dict[UUID, int] = {}
    token = _reads.set(reads)
    try:
        yield reads
    finally:
        _reads.reset(token)


def rely_on(aggregate: Aggregate) -> None:
    """The running command's decision depends on ``aggregate`` as it is now.

    Read twice, the earlier version counts (anything newer than the first read
    may have changed what the command saw). Outside a command: nothing.
    """
    reads = _reads.get()
    if reads is None:
        return
    version = aggregate.version
    reads[aggregate.id] = min(reads.get(aggregate.id, version), version)


def reads_to_assert(saved: set[UUID]) -> dict[UUID, int]:
    """The running attempt's reads, less the aggregates it saves (their own version
    check already guards them)."""
    reads = _reads.get() or {}
    return {k: v for k, v in reads.items() if k not in saved}


def changed_reads(expected: Mapping[Any, int], stored: Mapping[Any, int]) -> list[Any]:
    """The aggregates whose stored last version is not the one read (for recorders
    that read the versions back rather than asserting them in their insert)."""
    return [k for k, v in expected.items() if stored.get(k, 0) != v]
