"""The people directory's store on both backends: entries per organization, erasable."""

from __future__ import annotations

from entrypoints.bootstrap import Runtime


def test_entries_are_per_organization_and_forget_deletes_them(runtime: Runtime) -> None:
    people = runtime.people
    people.put("acme", "u1", "Ada Lovelace", "ada@example.org")
    people.put("acme", "u1", "Ada L.", None)  # replaced, not added
    people.put("acme", "u2", "Grace Hopper", None)
    people.put("other", "u1", "Someone Else", None)
    assert people.names("acme", ["u1", "u2", "u3", None]) == {"u1": "Ada L.", "u2": "Grace Hopper"}
    assert people.names("other", ["u1", "u2"]) == {"u1": "Someone Else"}
    found = people.get("acme", "u1")
    assert found is not None and (found.display_name, found.email) == ("Ada L.", None)
    assert [p.user_id for p in people.page("acme", after=None, limit=10)] == ["u1", "u2"]
    assert [p.user_id for p in people.page("acme", after="u1", limit=10)] == ["u2"]
    assert people.forget("acme", "u1") is True
    assert people.forget("acme", "u1") is False
    assert people.get("acme", "u1") is None
    assert people.names("other", ["u1"]) == {"u1": "Someone Else"}
