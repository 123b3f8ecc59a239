"""Liveness: no token needed, and an anonymous caller learns nothing else (SPEC §9).

Anyone (no token, a member's token, an unknown token) gets ``status`` and
``mode``. An admin also gets ``AdminHealth``: where the log and each read model
stand. Positions are global across organizations, so they are not for
everyone. Further admin-only reports join ``AdminHealth`` and
``admin_health``.
"""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from api.deps import OptionalActorDep, RuntimeDep
from runtime.bootstrap import Runtime

router = APIRouter(tags=["health"])


class Health(BaseModel):
    """What any caller may know."""

    status: str
    mode: str


class AdminHealth(Health):
    """What an admin token also sees."""

    position: int
    read_models: dict[str, int]


def public_health(runtime: Runtime) -> Health:
    return Health(
        # A read-model batch that keeps failing is retried, never skipped: say so.
        status="degraded" if runtime.follower.error is not None else "ok",
        mode="embedded" if runtime.settings.embedded else "postgres",
    )


def admin_health(runtime: Runtime) -> AdminHealth:
    follower = runtime.follower
    return AdminHealth(
        **public_health(runtime).model_dump(),
        position=runtime.app.recorder.max_notification_id() or 0,
        read_models={m.name: follower.position(m) for m in follower.models},
    )


@router.get("/health", response_model=AdminHealth | Health)
def health(runtime: RuntimeDep, actor: OptionalActorDep) -> Health:
    """``status`` and ``mode``; with an admin token, also the log and read-model positions."""
    if actor is not None and actor.is_admin:
        return admin_health(runtime)
    return public_health(runtime)
