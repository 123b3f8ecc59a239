"""Liveness and readiness: no token needed, and an anonymous caller learns nothing else (SPEC §9).

Anyone (no token, a member's token, an unknown token) gets ``status`` and
``mode``. An admin also gets ``AdminHealth``: where the log and each read model
stand (positions are global across organizations, so they are not for
everyone), and the objectives of the admin's own organization that stored data
makes their own ancestors (readers show them as roots; the status is then
``degraded`` for that admin). Further admin-only reports join ``AdminHealth``
and ``admin_health``.

A parked poison event (SPEC §10) makes the status ``degraded`` for everyone;
only an admin of its organization sees which (model, position, error), and
other admins only how many are parked elsewhere: an organization's name and
its error text are its own.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel

from api.deps import OptionalActorDep, RuntimeDep
from api.errors import ApiError, documented
from api.ports import Runtime
from api.readiness import ReadinessProbe
from commands.actor import Actor
from projections.alignment_queries import stored_alignment_cycles
from projections.generations import summary
from projections.parked import ParkedEvent, parked_events

router = APIRouter(tags=["health"])


class Health(BaseModel):
    """What any caller may know."""

    status: str
    mode: str


class ServedGeneration(BaseModel):
    """What serves a read model's readers, and whether another generation is being
    built beside it (a rebuild, or a newer version of its code catching up)."""

    generation: int
    version: int
    partitions: int
    building: bool


class Parked(BaseModel):
    """A poison event holding back the admin's organization in one read model."""

    model: str
    organization_id: str
    position: int
    topic: str
    error: str
    parked_at: str
    retry_requested: bool


class AdminHealth(Health):
    """What an admin token also sees."""

    position: int
    read_models: dict[str, int]
    generations: dict[str, ServedGeneration]
    alignment_cycles: list[str]
    parked: list[Parked]
    parked_elsewhere: int


def public_health(runtime: Runtime, parked: list[ParkedEvent] | None = None) -> Health:
    if parked is None:
        parked = parked_events(runtime.store)
    # A read-model batch that keeps failing is retried, never skipped; a parked event
    # holds an organization back: either way the read side is behind, so say so.
    failing = runtime.follower.error is not None or bool(parked)
    return Health(
        status="degraded" if failing else "ok",
        mode="embedded" if runtime.settings.embedded else "postgres",
    )


def admin_health(runtime: Runtime, admin: Actor) -> AdminHealth:
    follower = runtime.follower
    parked = parked_events(runtime.store)
    public = public_health(runtime, parked)
    cycles = stored_alignment_cycles(runtime.store, admin.organization_id)
    own = [p for p in parked if p.organization_id == admin.organization_id]
    return AdminHealth(
        status="degraded" if cycles else public.status,
        mode=public.mode,
        position=runtime.app.recorder.max_notification_id() or 0,
        read_models={m.name: follower.position(m) for m in follower.models},
        generations={
            name: ServedGeneration.model_validate(entry)
            for name, entry in summary(runtime.store).items()
            if "generation" in entry
        },
        alignment_cycles=cycles,
        parked=[
            Parked(
                model=p.model,
                organization_id=p.organization_id,
                position=p.position,
                topic=p.topic,
                error=p.error,
                parked_at=p.parked_at,
                retry_requested=p.retry_requested > 0,
            )
            for p in own
        ],
        parked_elsewhere=len(parked) - len(own),
    )


@router.get("/health", response_model=AdminHealth | Health)
def health(runtime: RuntimeDep, actor: OptionalActorDep) -> Health:
    """``status`` and ``mode``; with an admin token, also positions, alignment cycles and
    the parked events of the admin's organization."""
    if actor is not None and actor.is_admin:
        return admin_health(runtime, actor)
    return public_health(runtime)


class Ready(BaseModel):
    status: str


@router.get("/health/ready", response_model=Ready, responses=documented(503))
async def ready(request: Request, runtime: RuntimeDep) -> Ready:
    """200 when the event store answers and every read model is within
    ``OKR_READY_MAX_LAG`` seconds of the log; else 503 saying which part is not
    (within 2 s, whatever the stores do)."""
    probe = getattr(request.app.state, "readiness", None)
    if probe is None:  # made on the first poll; the event loop has no race here
        probe = request.app.state.readiness = ReadinessProbe(runtime)
    readiness = await probe.check()
    if not readiness.ready:
        raise ApiError(503, "not ready: " + "; ".join(readiness.problems), code="not_ready")
    return Ready(status="ready")
