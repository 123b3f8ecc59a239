"""Text every store can hold: no NUL characters, no unpaired surrogates.

PostgreSQL refuses NUL in text and no encoder takes a lone surrogate; an
event carrying either would be stored (JSON escapes it) and then stop every
projection that tries to write it. So such text is refused at the door.
"""

from __future__ import annotations

from domain.errors import InvalidCommand


def storable(value: str) -> bool:
    if "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_text(name: str, value: str | None) -> str | None:
    if value is not None and not storable(value):
        raise InvalidCommand(
            f"{name} contains characters that cannot be stored (NUL or lone surrogate)"
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
