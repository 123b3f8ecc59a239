"""The types of command fields: what a title, a text, a user id or a weight may be.

Written once, as ``Annotated`` types that pydantic reads: the commands of
commands/messages.py declare their fields with them, and the API derives each
request body from the command (api/command_bodies.py), so a limit changes in
one place. Text fields are ``StorableText``: the one rule of domain/text.py,
with a reason a caller can act on.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, StrictFloat, StrictInt

from domain.personal import MARK
from domain.text import storable

TITLE_LIMIT = 500
TEXT_LIMIT = 10_000
ID_LIMIT = 200
LIST_LIMIT = 200
TRACKER_PATTERN = r"^[a-z][a-z0-9_-]{0,31}$"


def why_unstorable(text: str) -> str | None:
    """Why no store can hold ``text`` (domain/text.py decides), or None when one can."""
    if storable(text):
        return None
    if "\x00" in text:
        return "must not contain NUL characters"
    if MARK in text:
        return f"must not contain {MARK!r} (reserved for sealed personal texts)"
    return "must be valid Unicode (no unpaired surrogates)"


def _storable(value: str) -> str:
    reason = why_unstorable(value)
    if reason:
        raise ValueError(reason)
    return value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


def _json_object(value: Any) -> Any:
    # Lax validation would read a list of pairs as a mapping; a JSON API wants an object.
    if not isinstance(value, dict):
        raise ValueError("must be a JSON object")
    return value


StorableText = Annotated[str, AfterValidator(_storable)]
"""Text every store can hold: no NUL characters, no unpaired surrogates."""

NotBlank = AfterValidator(_not_blank)
JsonObject = BeforeValidator(_json_object)
Number = Annotated[StrictFloat, Field(allow_inf_nan=False)]
NonNegative = Annotated[StrictFloat, Field(ge=0, allow_inf_nan=False)]
Fraction = Annotated[StrictFloat, Field(ge=0, le=1, allow_inf_nan=False)]
Title = Annotated[StorableText, Field(min_length=1, max_length=TITLE_LIMIT), NotBlank]
LongText = Annotated[StorableText, Field(max_length=TEXT_LIMIT)]
ShortText = Annotated[StorableText, Field(max_length=TITLE_LIMIT)]
Url = Annotated[StorableText, Field(max_length=2000)]
Unit = Annotated[StorableText, Field(max_length=50)]
UserId = Annotated[
    StorableText, Field(min_length=1, max_length=ID_LIMIT, description="a user id"), NotBlank
]
Tracker = Annotated[
    str, Field(pattern=TRACKER_PATTERN, description="tracker slug, e.g. github, jira")
]
IssueKey = Annotated[
    StorableText, Field(min_length=1, max_length=300, description="e.g. acme/app#42"), NotBlank
]
Participants = Annotated[list[UserId], Field(max_length=LIST_LIMIT)]
Milestones = Annotated[list[Title], Field(max_length=LIST_LIMIT)]
MilestonesDone = Annotated[list[StrictInt], Field(max_length=LIST_LIMIT)]
CycleName = Annotated[StorableText, Field(min_length=1, max_length=200)]
