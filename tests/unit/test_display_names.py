"""``named_json`` splices names into stored JSON without parsing it: checked against
parsing it and naming every objective and key result (``name_objectives``)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from api.display_names import name_objectives, named_json

TRICKY = [
    'x","owner_user_id":"leo","title":"y',
    ',"assignee_id":null',
    '\\",\\"assignee_id\\":\\"',
    "é ü",
    "",
]

ids = st.one_of(
    st.none(),
    st.sampled_from(["ada", "leo", "zoe", 'quo"te', "back\\slash", "é", ',"assignee_id":"x']),
)
texts = st.one_of(st.sampled_from(TRICKY), st.text(max_size=12))


class Directory:
    """The people directory's one question, answered from a dict; remembers the asks."""

    def __init__(self, names: dict[str, str]) -> None:
        self.known = names
        self.asked: list[set[str]] = []

    def names(self, organization_id: str, user_ids: Iterable[str | None]) -> dict[str, str]:
        wanted = {u for u in user_ids if u}
        self.asked.append(wanted)
        return {u: n for u, n in self.known.items() if u in wanted}


def key_result(title: str, assignee: str | None) -> dict[str, Any]:
    return {"id": "k", "title": title, "mode": "percentage", "assignee_id": assignee, "tags": []}


@st.composite
def objectives(draw: st.DrawFn, depth: int = 2) -> dict[str, Any]:
    krs = draw(st.lists(st.builds(key_result, texts, ids), max_size=3))
    children = draw(st.lists(objectives(depth - 1), max_size=2)) if depth > 0 else []
    return {
        "id": "o",
        "title": draw(texts),
        "owner_user_id": draw(ids),
        "key_results": krs,
        "children": children,
    }


names = st.dictionaries(
    st.sampled_from(["ada", "leo", 'quo"te', "back\\slash", "é"]), texts, max_size=5
)


@settings(max_examples=300, deadline=None)
@given(tree=st.lists(objectives(), max_size=3), known=names)
def test_names_as_if_parsed_and_named(tree: list[dict[str, Any]], known: dict[str, str]) -> None:
    stored = json.dumps({"cycle_id": "c", "objectives": tree}, separators=(",", ":"))
    directory = Directory(known)
    spliced = json.loads(named_json(directory, "acme", stored))  # type: ignore[arg-type]
    expected = json.loads(stored)
    name_objectives(expected["objectives"], known)
    assert spliced == expected
    assert len(directory.asked) <= 1  # one question per answer, whatever its size


def test_no_id_keys_leave_the_text_as_it_is_and_ask_nothing() -> None:
    directory = Directory({"ada": "Ada"})
    text = '{"id":"o","title":"owner_user_id"}'
    assert named_json(directory, "acme", text) is text  # type: ignore[arg-type]
    assert directory.asked == []


def test_only_given_ids_are_asked_for() -> None:
    directory = Directory({"ada": "Ada"})
    text = '{"id":"o","owner_user_id":null,"key_results":[{"id":"k","assignee_id":"ada"}]}'
    named = json.loads(named_json(directory, "acme", text))  # type: ignore[arg-type]
    assert named["owner_user_name"] is None
    assert named["key_results"][0]["assignee_name"] == "Ada"
    assert directory.asked == [{"ada"}]
