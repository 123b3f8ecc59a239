"""What a command read of other aggregates, asserted unchanged when it saves.

A rule that spans aggregates (SPEC §10) is decided on aggregates the command
does not save: the cycle whose phase allows a check-in, the objectives above a
re-aligned one. Optimistic concurrency only guards the aggregates saved, so a
phase change or a second re-alignment committing between the check and the
save would go unseen. Each check therefore names what it relied on
(``rely_on``: the aggregate's id, the version it read and which of its events
would matter), and the event recorder asserts, inside the transaction that
inserts the command's events and after its write lock, that none of them has
such a newer event. If one has, the
recorder raises ``ReadsChanged``; ``CommandsBase.retrying`` runs the command
again from fresh copies, and the rule then refuses it (or it passes, ordered
after the other write). Every save is then as if the commands ran one at a time.

The reads of one attempt are collected in a context variable, so the checks
deep in the command path need no extra parameter and threads never share them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError
from eventsourcing.utils import get_topic

UNCHANGED = "unchanged"
"""The keyword of ``Application.save`` (passed on to ``recorder.insert_events``)
that carries ``{aggregate id: Read}``."""

ANY_EVENT = ""
"""In ``assertion_rows``: any newer event of the aggregate counts."""


@dataclass(frozen=True)
class Read:
    """What a command read of one aggregate: its version, and which of its later
    events would change what the command relied on (None: any of them)."""

    version: int
    topics: frozenset[str] | None = None

    def merged(self, other: Read) -> Read:
        """Read twice: the earlier version, and every event either read cares about."""
        topics = None if self.topics is None or other.topics is None else self.topics | other.topics
        return Read(min(self.version, other.version), topics)


_reads: ContextVar[dict[UUID, Read] | None] = ContextVar("okr_command_reads", default=None)


class ReadsChanged(IntegrityError):
    """An aggregate the command relied on has a newer event: nothing was written,
    the command runs again (never a ``VersionMismatch``: the caller's If-Match was
    about the aggregate it changes, not about this one)."""


@contextmanager
def collecting() -> Iterator[dict[UUID, Read]]:
    """One attempt of a command: the reads ``rely_on`` records until it ends."""
    reads: dict[UUID, Read] = {}
    token = _reads.set(reads)
    try:
        yield reads
    finally:
        _reads.reset(token)


def rely_on(aggregate: Aggregate, changed_by: Iterable[type[Any]] | None = None) -> None:
    """The running command's decision depends on ``aggregate`` as it is now.

    ``changed_by``: the only event classes that could change what was relied on
    (an objective's parent changes by ``Realigned`` alone, so the check-ins it
    receives meanwhile do not send a re-alignment below it round again); None:
    any event. Outside a command: nothing.
    """
    reads = _reads.get()
    if reads is None:
        return
    topics = None if changed_by is None else frozenset(get_topic(cls) for cls in changed_by)
    read = Read(aggregate.version, topics)
    earlier = reads.get(aggregate.id)
    reads[aggregate.id] = read if earlier is None else earlier.merged(read)


def reads_to_assert(saved: set[UUID]) -> dict[UUID, Read]:
    """The running attempt's reads, less the aggregates it saves (their own version
    check already guards them)."""
    reads = _reads.get() or {}
    return {k: v for k, v in reads.items() if k not in saved}


def assertion_rows(unchanged: Mapping[Any, Read]) -> list[tuple[Any, int, str]]:
    """``(aggregate id, version read, topic)`` rows for a recorder: the insert is
    refused if an event of that aggregate newer than the version has that topic
    (``ANY_EVENT``: any topic)."""
    return [
        (key, read.version, topic)
        for key, read in unchanged.items()
        for topic in (sorted(read.topics) if read.topics is not None else [ANY_EVENT])
    ]


def breaks(read: Read, newer_topic: str) -> bool:
    """Whether a stored event newer than ``read.version`` changes what was read."""
    return read.topics is None or newer_topic in read.topics
