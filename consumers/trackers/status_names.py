"""A registration's own status names, looked up the same way by every adapter (SPEC §16).

A team's workflow has names no default table knows: a Jira status "QA", a
Linear state of a type Linear added last month, an Azure DevOps state a
team invented. ``TrackerMapping.statuses`` says what they mean; this module
is the one place that reads it, so "the mapping wins over the defaults, a
value that is not a canonical status counts as unmapped" holds for every
tracker. Pure: no database, no web framework.
"""

from __future__ import annotations

from typing import TypeGuard

from consumers.issue_event import IssueStatusName
from consumers.trackers.mapping import CANONICAL_STATUSES, TrackerMapping, normalise

__all__ = ["CANONICAL_STATUSES", "is_canonical", "mapped_status"]


def is_canonical(value: object) -> TypeGuard[IssueStatusName]:
    """Whether ``value`` is one of the four canonical statuses."""
    return isinstance(value, str) and value in CANONICAL_STATUSES


def mapped_status(mapping: TrackerMapping, *names: str | None) -> IssueStatusName | None:
    """The status the registration gives the first of ``names`` it maps, else ``None``.

    ``names`` go from the most specific (the status name) to the most general
    (its category), so a team can map one status apart from its category.
    A mapped value that is not a canonical status is skipped: a bad mapping
    must not turn a genuine delivery into an error.
    """
    for name in names:
        if name is None:
            continue
        value = mapping.statuses.get(normalise(name))
        if is_canonical(value):
            return value
    return None
