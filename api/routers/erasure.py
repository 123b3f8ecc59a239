"""``DELETE /users/{user_id}``: erase a person (SPEC §11; ``api/erasure.py``).

Admin of the organization only. 204 whether or not there was anything to
erase (idempotent: a second erasure, or one of a user id never seen, finds
nothing and says the same); another organization's user of the same id is
untouched, as the caller's organization names what is erased.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path, Response
from starlette.concurrency import run_in_threadpool

from api.deps import ActorDep, RuntimeDep
from api.erasure import erase_person
from api.errors import ErrorResponse
from commands.authorization import require_admin
from commands.fields import ID_LIMIT

__all__ = ["router"]

router = APIRouter(prefix="/users", tags=["people"])

ERRORS: dict[int | str, dict[str, Any]] = {s: {"model": ErrorResponse} for s in (401, 403, 422)}


@router.delete("/{user_id}", status_code=204, responses=ERRORS)
async def erase_user(
    actor: ActorDep,
    runtime: RuntimeDep,
    user_id: str = Path(min_length=1, max_length=ID_LIMIT),
) -> Response:
    """Admin only. Deletes the person's key (their notes, check-in notes and
    retrospective texts read ``[erased]`` from now on, everywhere) and their
    directory entry."""
    require_admin(actor, "erase a person")
    await run_in_threadpool(erase_person, runtime, actor.organization_id, user_id)
    return Response(status_code=204)
