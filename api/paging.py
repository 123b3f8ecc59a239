"""Paged lists (SPEC §9 "Lists"): ``limit`` and an opaque ``cursor`` in, ``next_cursor`` out.

One module for every list, so each answers bad paging the same way:

- ``limit`` defaults to ``OKR_PAGE_LIMIT`` (100) and may not pass
  ``OKR_MAX_PAGE_LIMIT`` (500); 0, a negative number or more is 422.
- A cursor is the base64url of a small JSON document naming the list it
  belongs to (``kind``), what that list is of (``scope``: an objective or an
  organization) and where the last page ended (``after``: the keyset of its
  last item). A cursor that is not one of ours, or is one of another list,
  objective or organization, is 422, never a 500. A cursor is not signed: it
  only says where to resume, and every page is filtered for its reader
  whatever the cursor says, so a forged one can skip items but never reveal
  one.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Annotated, Any
from uuid import UUID

from fastapi import Depends, Query

from api.deps import RuntimeDep
from api.errors import ApiError

CURSOR_LIMIT = 512  # characters: our cursors are far shorter
MAX_KEY_INT = 2**63 - 1  # keys are versions and log positions: BIGINT at most
MAX_KEY_TEXT = 200


@dataclass(frozen=True)
class PageRequest:
    limit: int
    cursor: str | None

    def after(self, kind: str, scope: str) -> list[Any] | None:
        """The keyset the previous page ended at (None: first page); 422 if foreign."""
        return None if self.cursor is None else decode_cursor(self.cursor, kind, scope)


async def page_request(
    runtime: RuntimeDep,
    limit: Annotated[
        int | None,
        Query(description="items per page: default 100 (OKR_PAGE_LIMIT), at most 500"),
    ] = None,
    cursor: Annotated[
        str | None,
        Query(description="the next_cursor of the previous page; leave out for the first"),
    ] = None,
) -> PageRequest:
    settings = runtime.settings
    if limit is None:  # a default set above the maximum is read as the maximum
        limit = min(settings.page_limit, settings.max_page_limit)
    if not 1 <= limit <= settings.max_page_limit:
        raise ApiError(
            422,
            f"limit must be between 1 and {settings.max_page_limit}, got {limit}",
            code="validation_error",
        )
    return PageRequest(limit=limit, cursor=cursor or None)


PageDep = Annotated[PageRequest, Depends(page_request)]


def encode_cursor(kind: str, scope: str, after: list[Any]) -> str:
    document = json.dumps({"k": kind, "s": scope, "a": after}, separators=(",", ":"))
    return base64.urlsafe_b64encode(document.encode()).decode().rstrip("=")


def next_cursor(kind: str, scope: str, after: list[Any] | None) -> str | None:
    """The cursor of the page after this one; None at the end of the list."""
    return None if after is None else encode_cursor(kind, scope, after)


def _refuse(reason: str) -> ApiError:
    return ApiError(422, f"cursor: {reason}", code="validation_error")


def decode_cursor(cursor: str, kind: str, scope: str) -> list[Any]:
    """The keyset inside a cursor of this list; 422 for anything else."""
    if len(cursor) > CURSOR_LIMIT:
        raise _refuse("too long")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        document = json.loads(raw)
    except (ValueError, binascii.Error, UnicodeDecodeError, RecursionError):
        raise _refuse("not a cursor of this service") from None
    if not isinstance(document, dict) or set(document) != {"k", "s", "a"}:
        raise _refuse("not a cursor of this service")
    if document["k"] != kind or document["s"] != scope:
        raise _refuse("belongs to another list")
    after = document["a"]
    if not isinstance(after, list) or not after or not all(_plain_key(v) for v in after):
        raise _refuse("not a cursor of this service")
    return after


def _plain_key(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return 0 <= value <= MAX_KEY_INT
    return isinstance(value, str) and 0 < len(value) <= MAX_KEY_TEXT and value.isprintable()


def int_key(after: list[Any] | None, size: int) -> tuple[int, ...] | None:
    """A keyset of ``size`` integers (versions, positions), or 422."""
    if after is None:
        return None
    if len(after) != size or not all(isinstance(v, int) for v in after):
        raise _refuse("not a cursor of this list")
    return tuple(after)


def id_key(after: list[Any] | None) -> str | None:
    """A keyset of one id (a UUID), or 422."""
    if after is None:
        return None
    if len(after) != 1 or not isinstance(after[0], str):
        raise _refuse("not a cursor of this list")
    try:
        return str(UUID(after[0]))
    except ValueError:
        raise _refuse("not a cursor of this list") from None


def text_key(after: list[Any] | None) -> str | None:
    """A keyset of one text id (a user id of the people directory), or 422."""
    if after is None:
        return None
    if len(after) != 1 or not isinstance(after[0], str):
        raise _refuse("not a cursor of this list")
    return str(after[0])
