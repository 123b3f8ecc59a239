"""Liveness and readiness: no token needed."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from api.deps import RuntimeDep

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str
    mode: str
    position: int
    read_models: dict[str, int]


@router.get("/health", response_model=Health)
def health(runtime: RuntimeDep) -> Health:
    follower = runtime.follower
    return Health(
        # A read-model batch that keeps failing is retried, never skipped: say so.
        status="degraded" if follower.error is not None else "ok",
        mode="embedded" if runtime.settings.embedded else "postgres",
        position=runtime.app.recorder.max_notification_id() or 0,
        read_models={m.name: follower.position(m) for m in follower.models},
    )
