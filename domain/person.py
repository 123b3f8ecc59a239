"""What an entry of the people directory may hold (SPEC §11 "People").

The directory lives outside the event store, but its values are checked here,
beside the other rules of text (``domain/text.py``), so the API and any other
writer refuse the same things with the same reasons:

- a **display name** is shown beside ids in every read and on the dashboard,
  so it is trimmed, 1..200 characters, and holds no control characters, line
  or paragraph separators, or bidirectional overrides (which would let a name
  reverse the text shown after it); joiners (ZWJ, ZWNJ) stay, some scripts
  need them;
- an **e-mail address** is optional, at most 254 characters (the longest a
  mail server carries) and passes a plain syntactic check only: one ``@``, a
  local part of at most 64 characters, a domain of dot-separated labels, no
  spaces or control characters. Whether it reaches anyone is not our concern;
- a **user id** in the directory is a user id as commands take one (at most
  200 characters, not blank, storable) that is also printable: ids are shown
  and paged by, and the directory's cursor keeps them as printable text.
"""

from __future__ import annotations

import re
import unicodedata

from domain.errors import InvalidCommand
from domain.text import storable

DISPLAY_NAME_LIMIT = 200
EMAIL_LIMIT = 254
EMAIL_LOCAL_LIMIT = 64
USER_ID_LIMIT = 200

_BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
"""Marks and overrides that change the direction of the text around them."""
_LABEL = r"[^\s@.\x00-\x1f\x7f]+"
_EMAIL = re.compile(rf"[^\s@\x00-\x1f\x7f]+@{_LABEL}(?:\.{_LABEL})+")


def _unshowable(value: str) -> str | None:
    """The first character no name may hold, described, or None."""
    for char in value:
        category = unicodedata.category(char)
        if category in ("Cc", "Zl", "Zp", "Cs") or char in _BIDI_CONTROLS:
            return f"U+{ord(char):04X}"
    return None


def display_name(value: str) -> str:
    """The name to keep: trimmed, 1..200 characters, nothing that hides or reorders text."""
    if not storable(value):
        raise InvalidCommand("display_name contains characters that cannot be stored")
    name = value.strip()
    if not name:
        raise InvalidCommand("display_name must not be empty")
    if len(name) > DISPLAY_NAME_LIMIT:
        raise InvalidCommand(f"display_name is longer than {DISPLAY_NAME_LIMIT} characters")
    bad = _unshowable(name)
    if bad is not None:
        raise InvalidCommand(f"display_name must not contain control characters ({bad})")
    return name


def email(value: str | None) -> str | None:
    """The address to keep (trimmed), or None for none; refused if it is not one."""
    if value is None:
        return None
    if not storable(value):
        raise InvalidCommand("email contains characters that cannot be stored")
    address = value.strip()
    if len(address) > EMAIL_LIMIT:
        raise InvalidCommand(f"email is longer than {EMAIL_LIMIT} characters")
    if not _EMAIL.fullmatch(address) or len(address.split("@")[0]) > EMAIL_LOCAL_LIMIT:
        raise InvalidCommand("email must look like name@example.org")
    if _unshowable(address) is not None:
        raise InvalidCommand("email must not contain control characters")
    return address


def directory_user_id(value: str) -> str:
    """A user id the directory may hold an entry for (kept as given, not trimmed)."""
    if not storable(value):
        raise InvalidCommand("user_id contains characters that cannot be stored")
    if not value.strip():
        raise InvalidCommand("user_id must not be empty")
    if len(value) > USER_ID_LIMIT:
        raise InvalidCommand(f"user_id is longer than {USER_ID_LIMIT} characters")
    if not value.isprintable():
        raise InvalidCommand("user_id must be printable (no control or invisible characters)")
    return value
