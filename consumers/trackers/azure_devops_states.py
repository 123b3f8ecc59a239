"""Azure DevOps Boards: what a work item's state name means, by its state category.

Every Azure DevOps work item state belongs to one of five state categories
(Proposed, In Progress, Resolved, Completed, Removed), and the category is
what Boards itself uses for backlogs, boards and velocity. A service hook
delivery carries only the state *name* (``System.State``), never its
category, so the category comes from:

* the registration's mapping (``TrackerMapping.statuses``: a state name, or
  a category name for the well-known states), which wins;
* else the states of the four process templates Microsoft ships (Basic,
  Agile, Scrum, CMMI), listed in ``WELL_KNOWN_STATES``. A team's own states
  (an inherited process adding "In Review" or "Ready for QA") are not here:
  map them in the registration, else their deliveries are ignored with the
  reason, never guessed.

Categories to statuses: Proposed → ``todo``, In Progress → ``in_progress``,
Resolved → ``done`` (the work is finished and awaits verification; a
rejected fix goes back to Active, and that delivery moves it back),
Completed → ``done``, Removed → ``cancelled``. A done state whose
``System.Reason`` says the work was not done (Duplicate, Obsolete, Won't
Fix, As Designed, Cannot Reproduce, Deferred…) is ``cancelled``.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from consumers.issue_event import IssueStatusName
from consumers.trackers.mapping import TrackerMapping, normalise
from consumers.trackers.status_names import mapped_status

__all__ = [
    "CATEGORY_STATUS",
    "NOT_DONE_REASONS",
    "WELL_KNOWN_STATES",
    "category_of",
    "status_of",
]

CATEGORY_STATUS: Final[Mapping[str, IssueStatusName]] = MappingProxyType(
    {
        "Proposed": "todo",
        "InProgress": "in_progress",
        "Resolved": "done",
        "Completed": "done",
        "Removed": "cancelled",
    }
)
"""State category (Azure DevOps' own spelling) → canonical status."""

WELL_KNOWN_STATES: Final[Mapping[str, str]] = MappingProxyType(
    {
        # Basic: To Do, Doing, Done. Scrum: New, Approved, Committed, In
        # Progress, To Do, Done, Removed, Open (Impediment), Closed.
        # Agile: New, Active, Resolved, Closed, Removed. CMMI: Proposed,
        # Active, Resolved, Closed, Removed. Test plans and suites: Design,
        # Ready, In Planning, Inactive, Completed.
        "to do": "Proposed",
        "new": "Proposed",
        "proposed": "Proposed",
        "approved": "Proposed",
        "open": "Proposed",
        "design": "Proposed",
        "in planning": "Proposed",
        "doing": "InProgress",
        "active": "InProgress",
        "committed": "InProgress",
        "in progress": "InProgress",
        "ready": "InProgress",
        "resolved": "Resolved",
        "done": "Completed",
        "closed": "Completed",
        "completed": "Completed",
        "inactive": "Completed",
        "removed": "Removed",
    }
)
"""State name (after ``normalise``) → state category, for the shipped processes."""

NOT_DONE_REASONS: Final = frozenset(
    {
        "duplicate",
        "obsolete",
        "wont fix",
        "as designed",
        "cannot reproduce",
        "deferred",
        "abandoned",
        "cut",
        "rejected",
        "removed from the backlog",
    }
)
"""``System.Reason`` values (normalised, no apostrophes) saying a closed item was not done."""


def category_of(state: str) -> str | None:
    """The state category of a shipped process's state name, else ``None``."""
    return WELL_KNOWN_STATES.get(normalise(state))


def _reason_key(reason: str) -> str:
    return normalise(reason.replace("'", "").replace("\u2019", ""))


def status_of(state: str, reason: str | None, mapping: TrackerMapping) -> IssueStatusName | None:
    """The canonical status of a work item in ``state``, or ``None`` when nobody knows it.

    A state name the mapping maps is final; otherwise the category decides,
    and a done category with a not-done reason is ``cancelled``.
    """
    by_name = mapped_status(mapping, state)
    if by_name is not None:
        return by_name
    category = category_of(state)
    if category is None:
        return None
    status = mapped_status(mapping, category) or CATEGORY_STATUS[category]
    if status == "done" and reason is not None and _reason_key(reason) in NOT_DONE_REASONS:
        return "cancelled"
    return status
