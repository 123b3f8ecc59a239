"""Sealed personal texts (domain/personal.py): round trips, tampering, erasure, escaping."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import InvalidCommand
from domain.personal import (
    ERASED,
    MARK,
    TOKEN,
    key_ids,
    new_key,
    open_sealed,
    reveal_with,
    seal,
)
from domain.text import required_text, storable

texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=300)


@given(texts)
def test_a_sealed_text_opens_to_itself(text: str) -> None:
    key = new_key("acme")
    token = seal(key, text)
    assert TOKEN.fullmatch(token)
    assert open_sealed(key, token) == text
    if len(text) > 3:
        assert text not in token


@given(texts, st.data())
def test_an_edited_sealed_string_does_not_open(text: str, data: st.DataObject) -> None:
    key = new_key("acme")
    token = seal(key, text)
    body_start = token.rindex(":") + 1
    at = data.draw(st.integers(body_start, len(token) - 1))
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    other = data.draw(st.sampled_from([c for c in alphabet if c != token[at]]))
    edited = token[:at] + other + token[at + 1 :]
    opened = open_sealed(key, edited)
    # Base64's last character may carry unused bits: then the bytes, and the text, stay.
    assert opened is None or opened == text


@given(texts)
def test_a_truncated_sealed_string_does_not_open(text: str) -> None:
    key = new_key("acme")
    token = seal(key, text)
    assert open_sealed(key, token[:-3]) is None


def test_another_key_or_organization_does_not_open_it() -> None:
    key = new_key("acme")
    token = seal(key, "my appraisal")
    assert open_sealed(new_key("acme"), token) is None
    # The same key bytes under the same id but another organization: the bound data differs.
    assert open_sealed(replace(key, organization_id="globex"), token) is None


def test_reveal_opens_with_the_keys_given_and_reads_erased_without() -> None:
    alice, bob = new_key("acme"), new_key("acme")
    answer = json.dumps({"a": seal(alice, 'she said "hi" <b>'), "b": seal(bob, "his")})
    assert key_ids(answer) == {alice.key_id, bob.key_id}

    def escape(text: str) -> str:
        return json.dumps(text)[1:-1]

    shown = json.loads(reveal_with(answer, {alice.key_id: alice}, escape))
    assert shown == {"a": 'she said "hi" <b>', "b": ERASED}


def test_a_client_text_may_not_hold_the_marker() -> None:
    assert not storable(f"look: {MARK}1:{'0' * 32}:AAAA")
    with pytest.raises(InvalidCommand, match="reserved marker"):
        required_text("text", f"{MARK}1:x")
    assert storable("okr sealed, not a marker")


@given(texts)
def test_a_revealed_text_is_written_as_the_answer_wants(text: str) -> None:
    """What api/reveal.py writes in place of a sealed string: a JSON answer still parses
    to the text; in HTML no character of it can end an element or an attribute."""
    from api.reveal import html_text, json_string

    key = new_key("acme")
    answer = json.dumps({"text": seal(key, text)})
    assert json.loads(reveal_with(answer, {key.key_id: key}, json_string)) == {"text": text}
    page = f"<p title='{seal(key, text)}'>{seal(key, text)}</p>"
    shown = reveal_with(page, {key.key_id: key}, html_text)
    assert shown == f"<p title='{html_text(text)}'>{html_text(text)}</p>"
    assert "'" not in html_text(text) and "<" not in html_text(text)
