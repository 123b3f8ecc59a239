"""Alignment seen from the objectives read model: what hangs below an objective,
and which stored objectives are their own ancestors.

The write side knows each objective's parent (in its events) but not its
children; the height of an objective's subtree, needed to refuse an alignment
that would make a chain too long, is read here. Alignments stay inside one
cycle, so one cycle's rows answer.
"""

from __future__ import annotations

from uuid import UUID

from domain.alignment import alignment_cycles
from projections.store import ViewStore


def subtree_height(
    store: ViewStore, organization_id: str, cycle_id: UUID, objective_id: UUID, bound: int
) -> int:
    """Objectives on the longest path down from ``objective_id``, itself included,
    counted up to ``bound + 1`` (beyond that the answer is refused anyway).

    Archived objectives count: their children still hang from them. One query,
    then a walk level by level that never revisits an objective (a stored
    cycle below ends the walk instead of looping).
    """
    with store.transaction(commit=False) as tx:
        rows = tx.fetchall(
            "SELECT id, parent_id FROM okr_objectives"
            " WHERE organization_id = :org AND cycle_id = :cycle AND parent_id IS NOT NULL",
            {"org": organization_id, "cycle": str(cycle_id)},
        )
    children: dict[str, list[str]] = {}
    for row in rows:
        children.setdefault(row["parent_id"], []).append(row["id"])
    level = [str(objective_id)]
    seen = set(level)
    height = 0
    while level and height <= bound:
        height += 1
        below = [c for node in level for c in children.get(node, ()) if c not in seen]
        seen.update(below)
        level = below
    return height


def stored_alignment_cycles(store: ViewStore, organization_id: str) -> list[str]:
    """Ids of the organization's objectives that are their own ancestors in stored
    data (archived ones included), sorted; empty when the log is sound."""
    with store.transaction(commit=False) as tx:
        rows = tx.fetchall(
            "SELECT id, parent_id FROM okr_objectives"
            " WHERE organization_id = :org AND parent_id IS NOT NULL",
            {"org": organization_id},
        )
    parents: dict[str, str | None] = {row["id"]: row["parent_id"] for row in rows}
    return sorted(alignment_cycles(parents))
