"""Jira story points: which field holds them, and what one delivery says of them (SPEC §16).

Jira has no built-in estimate; story points are a custom field whose id
differs per site (``customfield_10016`` on one, ``customfield_10005`` on the
next), named "Story Points" (company-managed projects) or "Story point
estimate" (team-managed). So the field is found by, in order:

* the registration's ``estimate_field``: a field id (``customfield_10016``)
  or a field name ("Story Points"); when set, nothing else is guessed;
* else the default names, matched against the changelog item's ``field``
  (Jira Cloud sends the name and the ``fieldId``) and the ``names`` map
  (``expand=names``, present when a relay fetched the issue).

What a delivery says, in the three words of ``build_event``:

* a changelog item for the field: its new value (the issue's field, else
  the item's ``toString``), or "cleared" (``None``) when the new value is
  empty. Number custom fields carry their values in ``fromString`` /
  ``toString`` with ``from`` / ``to`` null, so an empty ``toString`` is the
  sign, not ``to``;
* no changelog item, but the issue's field holds a number: that number (the
  current value, which a missed delivery may have changed);
* anything else: ``KEEP_ESTIMATE``, the delivery says nothing of it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from consumers.trackers._common import (
    KEEP_ESTIMATE,
    EstimateSaid,
    as_mapping,
    as_text,
    to_estimate,
)
from consumers.trackers.mapping import TrackerMapping, normalise

__all__ = ["DEFAULT_NAMES", "story_points"]

DEFAULT_NAMES: Final = frozenset({"story points", "story point estimate"})
"""Field names Jira gives story points (compared after ``normalise``)."""

_FIELD_ID: Final = re.compile(r"customfield_\d+")

Estimate = float | Literal[EstimateSaid.NOTHING] | None


@dataclass(frozen=True, slots=True)
class _Wanted:
    ids: frozenset[str]
    names: frozenset[str]

    def matches(self, field_id: str | None, name: str | None) -> bool:
        return (field_id is not None and field_id in self.ids) or (
            name is not None and normalise(name) in self.names
        )


def _wanted(mapping: TrackerMapping, names_map: Mapping[str, Any] | None) -> _Wanted:
    configured = as_text(mapping.estimate_field)
    if configured is not None and _FIELD_ID.fullmatch(configured.strip()):
        return _Wanted(frozenset({configured.strip()}), frozenset())
    names = frozenset({normalise(configured)}) if configured is not None else DEFAULT_NAMES
    ids = frozenset(
        field_id
        for field_id, name in (names_map or {}).items()
        if isinstance(field_id, str) and isinstance(name, str) and normalise(name) in names
    )
    return _Wanted(ids, names)


def _number(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        return to_estimate(float(text))
    except ValueError:
        return None


def _changelog_items(payload: Mapping[str, Any]) -> Iterable[Mapping[str, Any]]:
    items = as_mapping(payload.get("changelog")) or {}
    found = items.get("items")
    if isinstance(found, list):
        yield from (item for item in found if isinstance(item, Mapping))


def story_points(
    payload: Mapping[str, Any], issue: Mapping[str, Any], mapping: TrackerMapping
) -> Estimate:
    """What this delivery says of the issue's story points (see the module docstring)."""
    fields = as_mapping(issue.get("fields")) or {}
    names_map = as_mapping(issue.get("names")) or as_mapping(payload.get("names"))
    wanted = _wanted(mapping, names_map)

    for item in _changelog_items(payload):
        field_id = as_text(item.get("fieldId"))
        if not wanted.matches(field_id, as_text(item.get("field"))):
            continue
        current = to_estimate(fields.get(field_id)) if field_id is not None else None
        if current is not None:
            return current
        new_text = item.get("toString")
        if new_text is None or (isinstance(new_text, str) and not new_text.strip()):
            return None  # emptied in Jira: cleared
        parsed = _number(new_text if isinstance(new_text, str) else None)
        return parsed if parsed is not None else KEEP_ESTIMATE

    for field_id in sorted(wanted.ids):
        current = to_estimate(fields.get(field_id))
        if current is not None:
            return current
    return KEEP_ESTIMATE
