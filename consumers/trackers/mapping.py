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
from typing import Any, Final, get_args

from consumers.issue_event import IssueStatusName

__all__ = [
    "CANONICAL_STATUSES",
    "DEFAULT_MAPPING",
    "MAX_ESTIMATE_LABELS",
    "MAX_MAPPED_NAMES",
    "MAX_NAME_CHARS",
    "NUMBER_PLACEHOLDER",
    "InvalidMapping",
    "TrackerMapping",
    "mapping_from_json",
    "normalise",
]

CANONICAL_STATUSES: Final[tuple[str, ...]] = get_args(IssueStatusName)
"""What a mapping may map to: the canonical statuses of SPEC §4, nothing else."""

MAX_MAPPED_NAMES: Final = 100
"""Entries in each of ``labels``, ``statuses`` and ``columns``: a workflow has a
handful of states; a hundred leaves room for many teams' labels in one hook."""

MAX_NAME_CHARS: Final = 100
"""Longest label, status, column or field name (GitLab labels stop at 255 bytes,
but a mapped workflow name that long is a mistake)."""

MAX_ESTIMATE_LABELS: Final = 10
"""Estimate label patterns per registration."""

NUMBER_PLACEHOLDER: Final = "{n}"
"""Where the number sits in an estimate label pattern (``points: {n}``)."""

_SECTIONS: Final = ("labels", "statuses", "columns")
_KEYS: Final = frozenset({*_SECTIONS, "estimate_field", "estimate_labels"})


class InvalidMapping(ValueError):
    """A mapping document that breaks a rule; the message names the field and the rule."""


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


def _name(where: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidMapping(f"{where}: must be a non-blank string")
    if len(value) > MAX_NAME_CHARS:
        raise InvalidMapping(f"{where}: longer than {MAX_NAME_CHARS} characters")
    if any(ord(c) < 0x20 or ord(c) == 0x7F or 0xD800 <= ord(c) <= 0xDFFF for c in value):
        raise InvalidMapping(f"{where}: holds control characters or lone surrogates")
    return value


def _section(where: str, value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidMapping(f"{where}: must be an object of names to statuses")
    if len(value) > MAX_MAPPED_NAMES:
        raise InvalidMapping(f"{where}: more than {MAX_MAPPED_NAMES} names")
    section: dict[str, str] = {}
    for key, status in value.items():
        name = normalise(_name(f"{where} name", key))
        if status not in CANONICAL_STATUSES:
            raise InvalidMapping(
                f"{where}[{key[:40]!r}]: must be one of {', '.join(CANONICAL_STATUSES)}"
            )
        if section.get(name, status) != status:
            raise InvalidMapping(f"{where}: {key[:40]!r} is mapped twice, differently")
        section[name] = status
    return section


def _patterns(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list | tuple):
        raise InvalidMapping("estimate_labels: must be a list of patterns")
    if len(value) > MAX_ESTIMATE_LABELS:
        raise InvalidMapping(f"estimate_labels: more than {MAX_ESTIMATE_LABELS} patterns")
    patterns = []
    for index, pattern in enumerate(value):
        text = _name(f"estimate_labels[{index}]", pattern)
        if text.count(NUMBER_PLACEHOLDER) != 1:
            raise InvalidMapping(
                f"estimate_labels[{index}]: must hold {NUMBER_PLACEHOLDER} exactly once"
            )
        patterns.append(text)
    return tuple(patterns)


def mapping_from_json(document: Any) -> TrackerMapping:
    """The mapping a registration's JSON describes, or ``InvalidMapping`` saying why.

    The one home of the rules (the registration API and the stored rows both
    read through here): known keys only; at most ``MAX_MAPPED_NAMES`` names per
    section, each at most ``MAX_NAME_CHARS``; values only the canonical
    statuses; estimate label patterns hold ``{n}`` once. ``None`` is no mapping.
    """
    if document is None:
        return DEFAULT_MAPPING
    if not isinstance(document, Mapping):
        raise InvalidMapping("mapping: must be an object")
    unknown = sorted(str(key)[:40] for key in document if key not in _KEYS)
    if unknown:
        raise InvalidMapping(
            f"mapping: unknown keys {', '.join(map(repr, unknown[:5]))}"
            f" (known: {', '.join(sorted(_KEYS))})"
        )
    field_name = document.get("estimate_field")
    return TrackerMapping(
        labels=_section("labels", document.get("labels")),
        statuses=_section("statuses", document.get("statuses")),
        columns=_section("columns", document.get("columns")),
        estimate_field=None if field_name is None else _name("estimate_field", field_name),
        estimate_labels=_patterns(document.get("estimate_labels")),
    )


DEFAULT_MAPPING: Final = TrackerMapping()
"""No overrides: each adapter's documented defaults (docs/trackers.md)."""
