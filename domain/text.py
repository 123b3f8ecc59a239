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
