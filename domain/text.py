"""Text every store can hold: no NUL characters, no unpaired surrogates.

PostgreSQL refuses NUL in text and no encoder takes a lone surrogate; an
event carrying either would be stored (JSON escapes it) and then stop every
projection that tries to write it. So such text is refused at the door.

Nor may a text hold the marker of a sealed personal text (``domain/personal.py``):
answers reveal every sealed string in them, so a client who planted one (a
copy of another person's) would be shown that person's text.
"""

from __future__ import annotations

from domain.errors import InvalidCommand
from domain.personal import MARK


def storable(value: str) -> bool:
    if "\x00" in value or MARK in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def defused(value: str) -> str:
    """``value`` made storable rather than refused: for the free text of a tracker's
    delivery (an issue title), which must never be refused (SPEC §16). NULs are
    dropped, lone surrogates replaced, and a planted marker broken so that it can
    never open (a space before its colon), the rest left as the tracker wrote it."""
    if storable(value):
        return value
    value = value.replace("\x00", "").replace(MARK, MARK[:-1] + " :")
    return value.encode("utf-8", "replace").decode("utf-8")


def check_text(name: str, value: str | None) -> str | None:
    if value is not None and not storable(value):
        raise InvalidCommand(
            f"{name} contains characters that cannot be stored (NUL, lone surrogate,"
            f" or the reserved marker {MARK!r})"
        )
    return value


TEXT_LIMIT = 10_000
"""Longest free text (a description, a note, a retrospective's answers)."""


def required_text(name: str, value: str | None, *, limit: int = 500) -> str:
    """Storable, not blank, at most ``limit`` characters; returned stripped."""
    check_text(name, value)
    if value is None or not value.strip():
        raise InvalidCommand(f"{name} must not be empty")
    if len(value) > limit:
        raise InvalidCommand(f"{name} is longer than {limit} characters")
    return value.strip()


def optional_text(name: str, value: str | None, *, limit: int = TEXT_LIMIT) -> str | None:
    """Storable and at most ``limit`` characters, or None."""
    check_text(name, value)
    if value is not None and len(value) > limit:
        raise InvalidCommand(f"{name} is longer than {limit} characters")
    return value
