"""Display names beside user ids in reads (SPEC §11 "People"), joined as a read answers.

Names are never stored with what they name: no read model, snapshot or cache
holds one, so erasing a person's directory entry (``People.forget``) removes
their name from every later answer at once. Each answer asks the directory
once (``People.names``) for every id it shows, never once per item.

An id without an entry (or none at all) shows ``null`` beside it. The names
added are ``owner_user_name`` beside an objective's ``owner_user_id`` and
``assignee_name`` beside a key result's ``assignee_id``; the routers add
``actor_name``, ``author_name`` and team members' ``display_name`` themselves.

Objective reads and trees are answered as stored JSON spliced together, never
parsed (the hot reads: a tree may hold 10,000 objectives), so ``named_json``
splices the names in too. It finds the two keys as the stored documents spell
them (compact JSON: ``,"owner_user_id":``): in valid JSON a ``"`` right after
a ``,`` opens a key, never text inside a string (a quote inside a string is
always escaped), so a title that spells ``"owner_user_id":`` is never taken
for one. The value after the key is ``null`` or a JSON string (the id); the
name goes right after it. Plain ``str.find``, not a regular expression over
the whole answer: a tree of 10,000 objectives is scanned in milliseconds.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from api.people import People

NAME_OF = {"owner_user_id": "owner_user_name", "assignee_id": "assignee_name"}
"""The id keys of the objective read shape, and the name shown beside each."""

_KEYS = tuple((f',"{key}":', name) for key, name in NAME_OF.items())
"""The id keys as stored documents spell them: compact JSON (``objective_batch.py``)."""
_VALUE = re.compile(r'null|"(?:[^"\\]|\\.)*"')
"""An id's value: null or a JSON string."""

Names = Mapping[str, str]


def name_of(names: Names, user_id: object) -> str | None:
    """The display name of ``user_id`` (None for no id, or an id without an entry)."""
    return names.get(user_id) if isinstance(user_id, str) else None


def _id(value: str) -> str | None:
    """The id a JSON value (null or a string) holds."""
    if value == "null":
        return None
    return value[1:-1] if "\\" not in value else str(json.loads(value))


def _places(text: str) -> list[tuple[int, str, str | None]]:
    """Where each name goes (right after its id's value), the name's key, and the id."""
    found: list[tuple[int, str, str | None]] = []
    for key, name in _KEYS:
        start = text.find(key)
        while start != -1:
            value = _VALUE.match(text, start + len(key))
            if value is None:  # not a document of the read shape: left as it is
                break
            found.append((value.end(), name, _id(value[0])))
            start = text.find(key, value.end())
    found.sort()
    return found


def named_json(people: People, organization_id: str, text: str) -> str:
    """The objective (or tree) JSON with a name beside each owner and assignee id."""
    places = _places(text)
    if not places:
        return text
    names = people.names(organization_id, {user for _, _, user in places})
    spliced: dict[tuple[str, str | None], str] = {}  # each name encoded once
    pieces: list[str] = []
    last = 0
    for end, key, user in places:
        piece = spliced.get((key, user))
        if piece is None:
            piece = spliced[key, user] = f',"{key}":{json.dumps(name_of(names, user))}'
        pieces.append(text[last:end])
        pieces.append(piece)
        last = end
    pieces.append(text[last:])
    return "".join(pieces)


def _objectives(objectives: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Every objective of a list or tree, children too (a loop: depth costs no stack)."""
    stack = list(objectives)
    while stack:
        objective = stack.pop()
        yield objective
        stack.extend(objective.get("children") or [])


def people_in(objectives: Iterable[dict[str, Any]]) -> set[str]:
    """The owner and assignee ids of these objectives (and their children)."""
    found: set[str] = set()
    for objective in _objectives(objectives):
        found.add(objective.get("owner_user_id") or "")
        found.update(kr.get("assignee_id") or "" for kr in objective.get("key_results") or [])
    found.discard("")
    return found


def name_objectives(objectives: Iterable[dict[str, Any]], names: Names) -> None:
    """Add the names (in place) to objectives in the read shape, children too."""
    for objective in _objectives(objectives):
        objective["owner_user_name"] = name_of(names, objective.get("owner_user_id"))
        for kr in objective.get("key_results") or []:
            kr["assignee_name"] = name_of(names, kr.get("assignee_id"))


def named_objective(
    people: People, organization_id: str, objective: dict[str, Any]
) -> dict[str, Any]:
    """One objective in the read shape (time travel) with its names: one question asked."""
    name_objectives([objective], people.names(organization_id, people_in([objective])))
    return objective
