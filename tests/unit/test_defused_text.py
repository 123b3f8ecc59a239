"""A tracker's free text is made storable, never refused (SPEC §16): ``defused``."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from domain.personal import MARK
from domain.text import defused, storable

pieces = st.sampled_from(["a", " ", ":", "\x00", "\ud800", "é", "okr-sealed", MARK])
texts = st.lists(pieces, max_size=12).map("".join)


@given(texts)
def test_a_defused_text_is_always_storable_and_holds_no_marker(text: str) -> None:
    made = defused(text)
    assert storable(made)
    assert MARK not in made


@given(st.text())
def test_a_storable_text_is_left_as_it_is(text: str) -> None:
    if storable(text):
        assert defused(text) == text


def test_a_marker_is_broken_where_it_stood() -> None:
    assert defused(f"see {MARK}1:k:x") == "see okr-sealed :1:k:x"
