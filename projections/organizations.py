"""Which organization an event in the log belongs to, and which partition that is.

Only an aggregate's first event (``Drafted``, ``Formed``, ``Planned``,
``Registered``) names its organization; the later ones name the aggregate.
A read-model runner needs the organization of every event: to keep only its
share of the organizations (``okr project --partitions N --partition I``) and
to park a poison event for its organization alone. So it remembers each
aggregate's organization as it sees the first event, and, for an aggregate
whose first event came before this process started, reads that one event back
from the store once (a bounded LRU cache: a year of aggregates would not fit).
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from typing import Any
from uuid import UUID

from cachetools import LRUCache
from eventsourcing.application import Application
from eventsourcing.persistence import StoredEvent

CACHE_SIZE = 200_000
"""Aggregates whose organization is remembered (about 200 bytes each)."""


@lru_cache(maxsize=65_536)
def partition_of(organization_id: str | None, partitions: int) -> int:
    """The share (0..partitions-1) an organization's rows belong to: stable across
    processes, releases and machines (SHA-256 of its id, not Python's salted hash;
    CRC-32 was tried first and put all three organizations of the generated
    history in one of two shares). Events whose organization cannot be known go
    to share 0."""
    if partitions <= 1 or organization_id is None:
        return 0
    digest = hashlib.sha256(organization_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % partitions


class OrganizationOf:
    """Organization of an event, by its aggregate: remembered, or read back once."""

    def __init__(self, app: Application[Any], size: int = CACHE_SIZE) -> None:
        self._app = app
        self._known: LRUCache[UUID, str | None] = LRUCache(maxsize=size)

    def of_event(self, event: Any) -> str | None:
        """The organization of a decoded domain event (None: it cannot be known)."""
        organization = getattr(event, "organization_id", None)
        originator = event.originator_id
        if isinstance(organization, str):
            self._known[originator] = organization
            return organization
        return self.of_aggregate(originator)

    def of_stored(self, stored: StoredEvent) -> str | None:
        """The organization of a stored event that may not decode (an unknown topic,
        a broken state): its aggregate's first event is asked instead."""
        return self.of_aggregate(stored.originator_id)

    def cached(self, originator_id: UUID | str) -> tuple[bool, str | None]:
        """(True, its organization) if this aggregate's is remembered; (False, None) if
        it would have to be read back. Asks nothing of the store."""
        key = originator_id if isinstance(originator_id, UUID) else UUID(str(originator_id))
        if key in self._known:
            return True, self._known[key]
        return False, None

    def of_aggregate(self, originator_id: UUID | str) -> str | None:
        key = originator_id if isinstance(originator_id, UUID) else UUID(str(originator_id))
        if key in self._known:
            return self._known[key]
        organization = self._read_back(key)
        self._known[key] = organization
        return organization

    def _read_back(self, originator_id: UUID) -> str | None:
        first = self._app.recorder.select_events(originator_id, limit=1)
        if not first:
            return None
        try:
            event = self._app.mapper.to_domain_event(first[0])
        except Exception:  # its first event does not decode either: unknowable
            return None
        organization = getattr(event, "organization_id", None)
        return organization if isinstance(organization, str) else None
