"""The rules of a directory entry (domain/person.py): what passes, what is refused and why."""

from __future__ import annotations

import re

import pytest

from domain import person
from domain.errors import InvalidCommand


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("  Ada Lovelace ", "Ada Lovelace"),
        ("Zoë Ørsted-Łukasz", "Zoë Ørsted-Łukasz"),
        ("नमस्\u200dते", "नमस्\u200dते"),  # a joiner some scripts need
        ("李小龍", "李小龍"),
        ("N" * person.DISPLAY_NAME_LIMIT, "N" * person.DISPLAY_NAME_LIMIT),
    ],
)
def test_display_names_kept(given: str, kept: str) -> None:
    assert person.display_name(given) == kept


@pytest.mark.parametrize(
    ("given", "reason"),
    [
        ("", "empty"),
        (" \t ", "empty"),
        ("N" * (person.DISPLAY_NAME_LIMIT + 1), "longer than 200"),
        ("Ada\nLovelace", "U+000A"),
        ("Ada\x7f", "U+007F"),
        ("Ada\x85x", "U+0085"),
        ("Ada\u2029x", "U+2029"),
        ("\u202eAda", "U+202E"),
        ("Ada\u2066x\u2069", "U+2066"),
        ("Ada\x00", "cannot be stored"),
        ("Ada\ud800", "cannot be stored"),
    ],
)
def test_display_names_refused(given: str, reason: str) -> None:
    with pytest.raises(InvalidCommand, match=re.escape(reason)):
        person.display_name(given)


def test_email_addresses() -> None:
    assert person.email(None) is None
    assert person.email(" ada@example.org ") == "ada@example.org"
    assert person.email("ada.l+okr@mail.example.co.uk") == "ada.l+okr@mail.example.co.uk"
    local = "l" * person.EMAIL_LOCAL_LIMIT
    longest = local + "@" + "d" * (person.EMAIL_LIMIT - len(local) - 5) + ".org"
    assert person.email(longest) == longest
    for bad in (
        "",
        "ada",
        "@example.org",
        "ada@",
        "ada@example",
        "ada@@example.org",
        "a da@example.org",
        "ada@exa mple.org",
        "ada@.org",
        "ada@example..org",
        "ada\x07@example.org",
        "l" * (person.EMAIL_LOCAL_LIMIT + 1) + "@example.org",
        "x" + longest,
    ):
        with pytest.raises(InvalidCommand):
            person.email(bad)


def test_directory_user_ids() -> None:
    assert person.directory_user_id("ada") == "ada"
    assert person.directory_user_id("ada lovelace@corp") == "ada lovelace@corp"
    assert person.directory_user_id("u" * person.USER_ID_LIMIT) == "u" * person.USER_ID_LIMIT
    for bad in ("", "  ", "u" * (person.USER_ID_LIMIT + 1), "a\tb", "a\u200bb", "a\xa0b", "a\x00"):
        with pytest.raises(InvalidCommand):
            person.directory_user_id(bad)
