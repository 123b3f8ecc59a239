"""Reading one objective: its current state or a past one (time travel), its history
and its progress history."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Response

from api.deps import ActorDep, AppDep, MinPosition, RuntimeDep, StoreDep, ViewerDep
from api.display_names import name_causes, name_of, named_json, named_objective
from api.errors import ApiError
from api.paging import PageDep, int_key, next_cursor
from api.routers.objective_access import READ_ERRORS, visible_objective
from api.schemas import HistoryOut, ObjectiveOut, ProgressHistoryOut
from domain.cycle import check_calendar_moment
from domain.errors import InvalidCommand
from projections.history import history_page, objective_at, readable_by
from projections.objective_queries import objective_json, progress_history_page

router = APIRouter()

MAX_VERSION = 2**31 - 1


def _as_utc(moment: datetime) -> datetime:
    """A naive time is UTC; a time outside the service's calendar is refused (422)."""
    try:
        check_calendar_moment("as_of", moment)
    except InvalidCommand as refused:  # a query parameter: the API's validation code
        raise ApiError(422, refused.message, code="validation_error") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@router.get(
    "/{objective_id}",
    response_model=ObjectiveOut,
    response_model_exclude_unset=True,
    responses={
        **READ_ERRORS,
        200: {
            "headers": {
                "ETag": {"description": "the version, quoted", "schema": {"type": "string"}}
            }
        },
    },
    dependencies=[MinPosition],
)
def read_objective(
    objective_id: UUID,
    actor: ActorDep,
    viewer: ViewerDep,
    app: AppDep,
    store: StoreDep,
    runtime: RuntimeDep,
    version: Annotated[
        int | None,
        Query(ge=1, le=MAX_VERSION, description="time travel: the state at this version"),
    ] = None,
    as_of: Annotated[
        datetime | None,
        Query(description="time travel: the state at this ISO 8601 time (naive = UTC)"),
    ] = None,
) -> Any:
    """The current read model, or with ``version`` / ``as_of`` the state rebuilt from the
    event store (404 if the objective did not exist then)."""
    if version is not None and as_of is not None:
        raise ApiError(422, "give version or as_of, not both", code="validation_error")
    if version is None and as_of is None:
        # The stored document with its pace spliced in (the shape ObjectiveOut documents).
        found = objective_json(store, viewer, str(objective_id), datetime.now(UTC))
        if found is None:
            raise ApiError(404, f"objective {objective_id} not found")
        body, current = found
        named = named_json(runtime.people, viewer.organization_id, body.decode())
        return Response(named, media_type="application/json", headers={"ETag": f'"{current}"'})
    moment = None if as_of is None else _as_utc(as_of)
    visible_objective(app, actor, objective_id)
    past = objective_at(app, store, objective_id, version=version, as_of=moment)
    if past is None:
        when = f"version {version}" if version is not None else f"{as_of}"
        raise ApiError(404, f"objective {objective_id} did not exist at {when}")
    return named_objective(runtime.people, viewer.organization_id, past)


@router.get(
    "/{objective_id}/history",
    response_model=HistoryOut,
    responses=READ_ERRORS,
    dependencies=[MinPosition],
)
def read_history(
    objective_id: UUID,
    actor: ActorDep,
    viewer: ViewerDep,
    app: AppDep,
    runtime: RuntimeDep,
    page: PageDep,
) -> HistoryOut:
    """The objective's events from the event store, a page at a time: who did what, when,
    each in the public event shape (SPEC §11) with its position in the log. Personal notes
    the caller may not read are left out."""
    objective = visible_objective(app, actor, objective_id)
    after = int_key(page.after("history", str(objective_id)), 1)
    entries, resume = history_page(
        app,
        objective_id,
        readable_by(viewer, objective),
        after=after[0] if after else 0,
        limit=page.limit,
    )
    names = runtime.people.names(viewer.organization_id, (entry.actor for entry in entries))
    return HistoryOut.model_validate(
        {
            "events": [
                {**vars(entry), "actor_name": name_of(names, entry.actor)} for entry in entries
            ],
            "next_cursor": next_cursor(
                "history", str(objective_id), None if resume is None else [resume]
            ),
        }
    )


@router.get(
    "/{objective_id}/progress-history",
    response_model=ProgressHistoryOut,
    responses=READ_ERRORS,
    dependencies=[MinPosition],
)
def read_progress_history(
    objective_id: UUID,
    actor: ActorDep,
    viewer: ViewerDep,
    app: AppDep,
    store: StoreDep,
    runtime: RuntimeDep,
    page: PageDep,
) -> ProgressHistoryOut:
    """Every change of the objective's or one of its key results' progress, with its cause,
    a page at a time. A cause never names an objective the caller may not see; its actor
    has the directory's name beside it."""
    visible_objective(app, actor, objective_id)
    after = int_key(page.after("progress-history", str(objective_id)), 2)
    points, resume = progress_history_page(
        store,
        viewer,
        str(objective_id),
        after=None if after is None else (after[0], after[1]),
        limit=page.limit,
    )
    name_causes(runtime.people, viewer.organization_id, points)
    return ProgressHistoryOut.model_validate(
        {
            "points": points,
            "next_cursor": next_cursor(
                "progress-history", str(objective_id), None if resume is None else list(resume)
            ),
        }
    )
