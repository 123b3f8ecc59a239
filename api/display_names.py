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
name goes right after it. Absent ids are named by ``str.replace`` and only the
given ones by a regular expression, so a tree of 10,000 objectives costs tens of
milliseconds (a third of what matching every key did; docs/benchmarks.md).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from api.people import People

NAME_OF = {"owner_user_id": "owner_user_name", "assignee_id": "assignee_name"}
"""The id keys of the objective read shape, and the name shown beside each."""

_NULL_IDS = tuple(
    (f',"{key}":null', f',"{key}":null,"{name}":null') for key, name in NAME_OF.items()
)
"""An absent id as stored documents spell it (compact JSON, ``objective_batch.py``), and
the same with its null name: replaced by ``str.replace``, at C speed."""
_GIVEN_ID = re.compile(r',"(?:owner_user_id|assignee_id)":("(?:[^"\\]|\\.)*")')
"""A given id's value (a JSON string), to ask the directory for every id at once."""
_REST_OF_ID = re.compile(r'(?:[^"\\]|\\.)*"')
"""The rest of a given id's JSON string after its opening quote, closing quote included."""

Names = Mapping[str, str]


def name_of(names: Names, user_id: object) -> str | None:
    """The display name of ``user_id`` (None for no id, or an id without an entry)."""
    return names.get(user_id) if isinstance(user_id, str) else None


def _id(value: str) -> str:
    """The id a JSON string holds."""
    return value[1:-1] if "\\" not in value else str(json.loads(value))


def named_json(people: People, organization_id: str, text: str) -> str:
    """The objective (or tree) JSON with a name beside each owner and assignee id.

    Absent ids get their null name by ``str.replace``; the given ones are found
    once (the directory is asked once for all), then the text is split at each key
    and the name goes right after the id that starts each piece. Every pass over
    the whole text runs in C; Python works once per id, on a short piece. In valid
    JSON a ``"`` right after a ``,`` opens a key, never text inside a string (a
    quote inside one is escaped), so a title that spells a key is never taken for
    one.
    """
    for absent, named in _NULL_IDS:
        text = text.replace(absent, named)
    given = {_id(value) for value in set(_GIVEN_ID.findall(text))}
    if not given:
        return text
    names = people.names(organization_id, given)
    for key, name in NAME_OF.items():
        text = _named_after(text, f',"{key}":"', name, names)
    return text


def _named_after(text: str, marker: str, name: str, names: Names) -> str:
    """``text`` with ``name`` right after the id that follows each ``marker``."""
    parts = text.split(marker)
    spliced: dict[str, str] = {}  # each name encoded once
    out = [parts[0]]
    for part in parts[1:]:
        rest = _REST_OF_ID.match(part)
        if rest is None:  # not the read shape: left as it is
            out.append(part)
            continue
        end = rest.end()
        value = part[:end]
        piece = spliced.get(value)
        if piece is None:
            shown = json.dumps(name_of(names, _id('"' + value)))
            piece = spliced[value] = f',"{name}":{shown}'
        out.append(value + piece + part[end:])
    return marker.join(out)


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
