"""The people directory's request and response shapes (SPEC §11, ``api/routers/users.py``)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from api.schemas import RequestModel


class PersonIn(RequestModel):
    """A directory entry as an admin sets it: the whole entry (PUT replaces)."""

    display_name: str = Field(
        description="shown beside the user id in reads and on the dashboard: trimmed,"
        " 1..200 characters, no control characters or bidirectional overrides",
        examples=["Ada Lovelace"],
    )
    email: str | None = Field(
        default=None,
        description="optional; at most 254 characters, name@domain; left out or null: none",
        examples=["ada@example.org"],
    )


class PersonOut(BaseModel):
    user_id: str
    display_name: str
    email: str | None = Field(
        description="shown to admins and to the person; null for other readers or when none"
    )
    updated_at: datetime = Field(description="when the entry was last set")


class PersonList(BaseModel):
    people: list[PersonOut] = Field(description="ordered by user id")
    next_cursor: str | None = Field(
        description="pass as ?cursor= for the next page; null on the last page"
    )
