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
splices the names in too. It finds the two keys by their JSON form: in valid
JSON a ``"`` preceded by ``{`` or ``,`` (and blanks) opens a key, never text
inside a string (a quote inside a string is always escaped), so a title that
spells ``"owner_user_id":`` is never mistaken for one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from api.people import People

NAME_OF = {"owner_user_id": "owner_user_name", "assignee_id": "assignee_name"}
"""The id keys of the objective read shape, and the name shown beside each."""

_ID_KEY = re.compile(r'[{,]\s*"(owner_user_id|assignee_id)"\s*:\s*')
_DECODER = json.JSONDecoder()

Names = Mapping[str, str]


def name_of(names: Names, user_id: object) -> str | None:
    """The display name of ``user_id`` (None for no id, or an id without an entry)."""
    return names.get(user_id) if isinstance(user_id, str) else None


def named_json(people: People, organization_id: str, text: str) -> str:
    """The objective (or tree) JSON with a name beside each owner and assignee id."""
    found: list[tuple[int, str, object]] = []
    for match in _ID_KEY.finditer(text):
        value, end = _DECODER.raw_decode(text, match.end())
        found.append((end, NAME_OF[match.group(1)], value))
    if not found:
        return text
    names = people.names(organization_id, (v for _, _, v in found if isinstance(v, str)))
    pieces: list[str] = []
    last = 0
    for end, key, value in found:
        pieces.append(text[last:end])
        pieces.append(f',"{key}":{json.dumps(name_of(names, value))}')
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
