"""The alignment rule: an objective may never become its own ancestor.

Pure: the caller supplies ``parent_of`` (which loads other aggregates), so the
rule holds across aggregates without the domain knowing about storage.
"""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

from domain.errors import AlignmentCycle

MAX_DEPTH = 10_000


def ensure_no_cycle(
    objective_id: UUID, new_parent_id: UUID | None, parent_of: Callable[[UUID], UUID | None]
) -> None:
    """Walk up from the new parent; meeting ``objective_id`` means a cycle."""
    seen: set[UUID] = set()
    current = new_parent_id
    while current is not None:
        if current == objective_id:
            raise AlignmentCycle("this alignment would make the objective its own ancestor")
        if current in seen or len(seen) > MAX_DEPTH:
            return  # an older cycle above us is not ours to report
        seen.add(current)
        current = parent_of(current)
