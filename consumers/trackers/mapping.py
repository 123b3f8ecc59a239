"""What one webhook registration says about its tracker's words (SPEC §16).

Teams name their workflow differently: GitLab's scoped ``workflow::review``
labels, a Jira status called "QA", a story-points custom field whose id
differs per site, GitHub Projects columns. A registration carries one
``TrackerMapping``; every adapter's ``adapt(payload, headers, mapping)``
consults it before its own defaults, so the same delivery read through two
registrations may move issues differently, and a registration without one
behaves as before (``DEFAULT_MAPPING``).

Keys are compared after ``normalise`` (trimmed, case-folded, inner spaces
collapsed), so "In Review" and "in  review" are one name. Values are the
canonical statuses (``todo``, ``in_progress``, ``done``, ``cancelled``).
Pure: no database, no web framework.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final

__all__ = ["DEFAULT_MAPPING", "TrackerMapping", "normalise"]


def normalise(name: str) -> str:
    """A tracker's name for a label, state or column, as mappings compare it."""
    return " ".join(name.split()).casefold()


def _frozen(values: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType({normalise(k): v for k, v in values.items()})


@dataclass(frozen=True)
class TrackerMapping:
    """A registration's overrides; each empty one leaves the adapter's default."""

    labels: Mapping[str, str] = field(default_factory=dict)
    """Label name → status (e.g. ``workflow::in review`` → ``in_progress``)."""

    statuses: Mapping[str, str] = field(default_factory=dict)
    """The tracker's status/state name, or its category, → status."""

    columns: Mapping[str, str] = field(default_factory=dict)
    """GitHub Projects (v2) Status field option name → status."""

    estimate_field: str | None = None
    """Where the native estimate lives when the tracker lets each site choose
    (Jira's story-points custom field id, Azure DevOps' field reference name)."""

    estimate_labels: tuple[str, ...] = ()
    """Label patterns with one number group (GitHub has no native estimate);
    empty: the defaults ``points: N`` / ``estimate: N``."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "labels", _frozen(self.labels))
        object.__setattr__(self, "statuses", _frozen(self.statuses))
        object.__setattr__(self, "columns", _frozen(self.columns))
        object.__setattr__(self, "estimate_labels", tuple(self.estimate_labels))

    def as_json(self) -> dict[str, Any]:
        """The mapping as a registration stores and answers it."""
        return {
            "labels": dict(self.labels),
            "statuses": dict(self.statuses),
            "columns": dict(self.columns),
            "estimate_field": self.estimate_field,
            "estimate_labels": list(self.estimate_labels),
        }


DEFAULT_MAPPING: Final = TrackerMapping()
"""No overrides: each adapter's documented defaults (docs/trackers.md)."""
