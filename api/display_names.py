"""Display names beside user ids in reads (SPEC §11 "People"), joined as a read answers.

Names are never stored with what they name: no read model, snapshot or cache
holds one, so erasing a person's directory entry (``People.forget``) removes
their name from every later answer at once. Each answer asks the directory
once (``People.names``) for every id it shows, never once per item.

An id without an entry (or none at all) shows ``null`` beside it. The names
added are ``owner_user_name`` beside an objective's ``owner_user_id`` and
``assignee_name`` beside a key result's ``assignee_id``, and ``actor_name``
beside a progress point's ``cause.actor``; the routers add history's
``actor_name``, ``author_name`` and team members' ``display_name`` themselves.

Objective reads and trees are answered as stored JSON spliced together, never
parsed (the hot reads: a tree may hold 10,000 objectives and 40,000 key
results, 20 MB), so ``named_json`` splices the names in too. It finds the two
keys as the stored documents spell them (compact JSON: ``,"owner_user_id":``):
in valid JSON a ``"`` right after a ``,`` opens a key, never text inside a
string (a quote inside a string is always escaped), so a title that spells
``"owner_user_id":`` is never taken for one. Each name goes right before its
id's key (JSON objects are unordered), so the text is cut once at the keys
and joined once with the names between the pieces: no piece is copied, and
Python works once per key, on its id alone (the benchmark's tree: 330 ms
spliced after each id, 130 to 200 ms now; docs/benchmarks.md).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from api.people import People

NAME_OF = {"owner_user_id": "owner_user_name", "assignee_id": "assignee_name"}
"""The id keys of the objective read shape, and the name shown beside each."""

_ID_VALUE = re.compile(r',"(owner_user_id|assignee_id)":(?:"((?:[^"\\]|\\.)*)"|null)')
"""An id key and its value as stored documents spell them (compact JSON,
``objective_batch.py``): the id's JSON string without its quotes, or None for
``null``. A splitting pattern: its two groups come between the pieces."""

Names = Mapping[str, str]


def name_of(names: Names, user_id: object) -> str | None:
    """The display name of ``user_id`` (None for no id, or an id without an entry)."""
    return names.get(user_id) if isinstance(user_id, str) else None


def _id(raw: str) -> str:
    """The id a JSON string's inside holds."""
    return raw if "\\" not in raw else str(json.loads(f'"{raw}"'))


def named_json(people: People, organization_id: str, text: str) -> str:
    """The objective (or tree) JSON with a name beside each owner and assignee id.

    One regular-expression split cuts the text at every id key and value (C
    speed); the directory is asked once for every id found; one join puts each
    name (written once per id) between the pieces, right before its key.
    """
    pieces = _ID_VALUE.split(text)  # [before, key, raw id or None, rest, key, ...]
    if len(pieces) == 1:
        return text
    keys, raws = pieces[1::3], pieces[2::3]
    given = {_id(raw) for raw in set(raws) if raw is not None}
    names = people.names(organization_id, given) if given else {}
    written: dict[tuple[str, str | None], str] = {}  # each key and id's piece made once

    def piece(key: str, raw: str | None) -> str:
        made = written.get((key, raw))
        if made is None:
            shown = json.dumps(name_of(names, None if raw is None else _id(raw)))
            value = "null" if raw is None else f'"{raw}"'
            made = written[key, raw] = f',"{NAME_OF[key]}":{shown},"{key}":{value}'
        return made

    out: list[str] = [""] * (len(keys) * 2 + 1)
    out[0] = pieces[0]
    out[1::2] = map(piece, keys, raws)
    out[2::2] = pieces[3::3]
    return "".join(out)


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


def name_causes(people: People, organization_id: str, points: Iterable[dict[str, Any]]) -> None:
    """``actor_name`` beside the ``actor`` of each progress point's cause (in place): one
    question for the page."""
    causes = [point["cause"] for point in points if "actor" in point["cause"]]
    if not causes:
        return
    names = people.names(organization_id, {cause["actor"] for cause in causes})
    for cause in causes:
        cause["actor_name"] = name_of(names, cause["actor"])
