"""Liveness and readiness: no token needed."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

from api.deps import RuntimeDep
from projections.alignment_queries import stored_alignment_cycles
from runtime.bootstrap import Runtime

router = APIRouter(tags=["health"])
_bearer = HTTPBearer(auto_error=False)


class Health(BaseModel):
    status: str
    mode: str
    position: int
    read_models: dict[str, int]
    alignment_cycles: list[str] | None = None


def _alignment_cycles(
    runtime: Runtime, credentials: HTTPAuthorizationCredentials | None
) -> list[str] | None:
    """For an admin only: the ids of their organization's objectives that stored data
    makes their own ancestors (readers show them as roots). Anyone else: None, so no
    id ever reaches an anonymous caller or another organization."""
    if credentials is None or not credentials.credentials:
        return None
    token = credentials.credentials
    actor = runtime.tokens.cached(token) or runtime.tokens.authenticate(token)
    if actor is None or not actor.is_admin:
        return None
    return stored_alignment_cycles(runtime.store, actor.organization_id)


@router.get("/health", response_model=Health, response_model_exclude_none=True)
def health(
    runtime: RuntimeDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Health:
    follower = runtime.follower
    cycles = _alignment_cycles(runtime, credentials)
    return Health(
        # A read-model batch that keeps failing is retried, never skipped: say so.
        # So is an alignment cycle in the admin's stored data.
        status="degraded" if follower.error is not None or cycles else "ok",
        mode="embedded" if runtime.settings.embedded else "postgres",
        position=runtime.app.recorder.max_notification_id() or 0,
        read_models={m.name: follower.position(m) for m in follower.models},
        alignment_cycles=cycles,
    )
