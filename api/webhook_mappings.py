"""A registration's mapping as the API gives it and the database keeps it (SPEC §16).

The rules of a mapping are ``consumers.trackers.mapping.mapping_from_json``'s;
this module adds what storing it needs: a bound on the stored JSON and its
nesting (checked before anything else, so a hostile document costs nothing),
the normalised text written, and the reading of rows written before the
rules existed.
"""

from __future__ import annotations

import json
from typing import Any, Final

from consumers.trackers.mapping import CANONICAL_STATUSES, InvalidMapping, mapping_from_json

__all__ = ["MAX_MAPPING_CHARS", "MAX_MAPPING_DEPTH", "normalised_mapping", "stored_mapping"]

MAX_MAPPING_CHARS: Final = 65_536
"""A §16 mapping is a few label and status names; 64 KiB of JSON is far beyond that."""

MAX_MAPPING_DEPTH: Final = 16
"""Nesting of a mapping (labels → statuses is two levels). A deeper document
would be refused by the JSON encoder on every later read of the list."""


def _depth(value: Any) -> int:
    """How deeply ``value`` nests (a scalar is 0), without recursion."""
    deepest, pending = 0, [(value, 0)]
    while pending:
        item, level = pending.pop()
        children = (
            item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        )
        for child in children:
            pending.append((child, level + 1))
        deepest = max(deepest, level + (1 if isinstance(item, dict | list) else 0))
    return deepest


def stored_mapping(text: str | None) -> dict[str, Any] | None:
    """The mapping of a stored row, normalised; a row older than the rules is read
    as labels when it is a plain ``{label: status}`` object, else as none."""
    if text is None:
        return None
    document = json.loads(text)
    try:
        return mapping_from_json(document).as_json()
    except InvalidMapping:
        pass
    if isinstance(document, dict) and all(v in CANONICAL_STATUSES for v in document.values()):
        try:
            return mapping_from_json({"labels": document}).as_json()
        except InvalidMapping:
            return None
    return None


def normalised_mapping(mapping: dict[str, Any] | None) -> str | None:
    """The JSON stored for a mapping given to the API, or ``InvalidMapping``."""
    if mapping is None:
        return None
    if _depth(mapping) > MAX_MAPPING_DEPTH:
        raise InvalidMapping(f"mapping nests deeper than {MAX_MAPPING_DEPTH} levels")
    stored = json.dumps(
        mapping_from_json(mapping).as_json(), separators=(",", ":"), ensure_ascii=False
    )
    if len(stored) > MAX_MAPPING_CHARS:
        raise InvalidMapping(f"mapping is over {MAX_MAPPING_CHARS} characters of JSON")
    return stored
