"""What a tracker's labels say of an issue's status and estimate, by a registration's mapping.

GitHub issues have only open/closed and no estimate field, and GitLab teams
without work-item statuses say "in review" with scoped labels
(``workflow::review``). A registration maps label names to statuses
(``TrackerMapping.labels``) and names the label patterns that carry an
estimate (``TrackerMapping.estimate_labels``, default ``points: {n}`` and
``estimate: {n}``, SPEC §16). This module reads a label list through both,
for every adapter that has labels. Pure: the standard library only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Final

from consumers.issue_event import IssueStatusName
from consumers.trackers.mapping import NUMBER_PLACEHOLDER, TrackerMapping, normalise

__all__ = ["DEFAULT_ESTIMATE_LABELS", "estimate_by_labels", "status_by_labels"]

DEFAULT_ESTIMATE_LABELS: Final = ("points: {n}", "estimate: {n}")
"""The label patterns read when a registration names none (SPEC §16)."""

# When an issue carries labels mapped to different statuses, the one furthest
# from "not started" wins: a team that adds "review" without removing "doing"
# means review, and a "won't do" label outranks everything.
_PRECEDENCE: Final[Sequence[IssueStatusName]] = ("cancelled", "done", "in_progress", "todo")

# At most 9 digits and 3 decimals: an estimate, not a number to overflow.
_NUMBER: Final = r"(\d{1,9}(?:\.\d{1,3})?)"


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str]:
    """A pattern like ``points: {n}`` as a safe regular expression.

    Only the number is a group; the rest is matched literally, case-folded,
    any run of spaces in it read as "any spaces (or none)". Built from
    ``re.escape`` pieces, so no registration can submit a regular expression
    (no catastrophic backtracking).
    """
    before, _, after = normalise(pattern).partition(NUMBER_PLACEHOLDER)

    def literal(text: str) -> str:
        return r"\s*".join(re.escape(word) for word in text.split(" "))

    return re.compile(rf"{literal(before)}\s*{_NUMBER}\s*{literal(after)}")


def status_by_labels(names: Iterable[str], mapping: TrackerMapping) -> IssueStatusName | None:
    """The status the mapped labels give, or ``None`` when no label is mapped."""
    if not mapping.labels:
        return None
    found = {mapping.labels[key] for key in map(normalise, names) if key in mapping.labels}
    for status in _PRECEDENCE:
        if status in found:
            return status
    return None


def estimate_by_labels(names: Iterable[str], mapping: TrackerMapping) -> float | None:
    """The number of the first label matching an estimate pattern; ``None``: no such label.

    ``None`` is "cleared" for a tracker whose payload always lists every
    label (GitHub): the estimate label was removed, or never set.
    """
    patterns = [_compiled(p) for p in mapping.estimate_labels or DEFAULT_ESTIMATE_LABELS]
    for name in names:
        label = normalise(name)
        for pattern in patterns:
            matched = pattern.fullmatch(label)
            if matched is not None:
                return float(matched.group(1))
    return None
