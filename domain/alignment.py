"""The alignment rules: an objective may never become its own ancestor, and no
root-to-leaf path of aligned objectives is longer than the depth limit.

Also the one shape every reader gives to stored alignments, whatever the log
holds (``alignment_forest``): nesting that stops at the limit and at cycles.

Pure: the caller supplies ``parent_of`` (which loads other aggregates) and the
height of the moved objective's subtree, so the rules hold across aggregates
without the domain knowing about storage.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import TypeVar
from uuid import UUID

from domain.errors import AlignmentCycle, AlignmentTooDeep

DEFAULT_MAX_DEPTH = 10
"""Objectives on the longest root-to-leaf path (``OKR_MAX_ALIGNMENT_DEPTH``)."""

K = TypeVar("K", bound=Hashable)


def ensure_alignment_allowed(
    objective_id: UUID | None,
    new_parent_id: UUID | None,
    parent_of: Callable[[UUID], UUID | None],
    *,
    subtree_height: int,
    max_depth: int,
) -> None:
    """Hang the objective (with ``subtree_height`` objectives on its longest downward
    path, itself included; ``objective_id`` None: a new one) below ``new_parent_id``:
    refuse a cycle or a path longer than ``max_depth`` objectives.

    The walk up loads at most ``max_depth + 1`` objectives: a longer chain above
    is refused without being walked to its end (or round an older stored cycle).
    """
    if new_parent_id is None:
        return
    above = 0
    current: UUID | None = new_parent_id
    # A cycle is reported before the depth, whichever the walk would meet first.
    while current is not None and above <= max_depth:
        if current == objective_id:
            raise AlignmentCycle("this alignment would make the objective its own ancestor")
        above += 1
        current = parent_of(current)
    if above + subtree_height > max_depth:
        # No count in the message: the chain above may pass through objectives the
        # caller may not see.
        raise AlignmentTooDeep(
            f"this alignment would make a chain of more than {max_depth} aligned objectives"
        )


def alignment_cycles(parents: Mapping[K, K | None]) -> set[K]:
    """The objectives that are their own ancestors in stored data (never by the rules
    above, but an older version, an import or a race may have written one).

    ``parents``: each objective's parent; a parent missing from the mapping ends
    the chain. Linear in the number of objectives, no recursion.
    """
    state: dict[K, int] = {}  # 1: on the path being walked, 2: done
    members: set[K] = set()
    for start in parents:
        path: list[K] = []
        node: K | None = start
        while node is not None and node in parents and node not in state:
            state[node] = 1
            path.append(node)
            node = parents[node]
        if node is not None and state.get(node) == 1:
            members.update(path[path.index(node) :])
        for walked in path:
            state[walked] = 2
    return members


def alignment_forest(
    order: Iterable[K], parents: Mapping[K, K | None], max_depth: int
) -> tuple[list[K], dict[K, list[K]]]:
    """Roots and children (both in ``order``) of the objectives in ``order``.

    How readers show whatever the log holds: an objective whose parent is not
    among them is a root (its parent is hidden); the members of a stored cycle
    are roots; and nesting stops at ``max_depth``: an objective deeper than that
    is shown as a root, with its own subtree below it. So every objective
    appears exactly once and no branch is deeper than ``max_depth``.
    """
    ordered = list(order)
    known = set(ordered)
    in_cycle = alignment_cycles({k: parents.get(k) for k in ordered})
    children: dict[K, list[K]] = {}
    top: set[K] = set()
    for node in ordered:
        parent = parents.get(node)
        if node in in_cycle or parent is None or parent not in known:
            top.add(node)
        else:
            children.setdefault(parent, []).append(node)
    # Depth-first, without recursion: a child one level past the limit starts over.
    stack = [(node, 1) for node in ordered if node in top]
    while stack:
        node, depth = stack.pop()
        kept = []
        for child in children.get(node, ()):
            if depth + 1 > max_depth:
                top.add(child)
                stack.append((child, 1))
            else:
                kept.append(child)
                stack.append((child, depth + 1))
        if node in children:
            children[node] = kept
    return [node for node in ordered if node in top], {k: v for k, v in children.items() if v}


def counts_for_aligned_key_result(
    key_result_id: str, child_aligned_key_result_id: str | None, child_archived: bool
) -> bool:
    """Whether a child objective's progress counts in an ``aligned`` key result's mean:
    it hangs from that key result and is live (an archived child no longer counts)."""
    return child_aligned_key_result_id == key_result_id and not child_archived
