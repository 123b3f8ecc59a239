"""What a cycle looks like: its OKR tree, its drafting review, its dashboard.

All read the projections and show each caller only the objectives they may
see (private ones to admins, owners, owner-team managers and contributors).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Response

from api.deps import MinPosition, RuntimeDep, StoreDep, ViewerDep
from api.display_names import named_json
from api.errors import ApiError, ErrorResponse
from api.schemas import DashboardOut, ReviewOut, TreeOut
from domain.visibility import Viewer
from projections.objective_queries import cycle_tree_json, dashboard, review
from projections.store import ViewStore
from projections.teams import get_team

router = APIRouter(prefix="/cycles", tags=["cycles"])

ERRORS: dict[int | str, dict[str, Any]] = {
    s: {"model": ErrorResponse} for s in (401, 404, 422, 503)
}
TeamFilter = Annotated[
    UUID | None, Query(description="only this team's objectives (and what hangs from them)")
]


def _team(store: ViewStore, viewer: Viewer, team_id: UUID | None) -> str | None:
    if team_id is None:
        return None
    if get_team(store, viewer.organization_id, str(team_id)) is None:
        raise ApiError(404, f"team {team_id} not found")
    return str(team_id)


@router.get(
    "/{cycle_id}/tree",
    response_model=TreeOut,
    response_model_exclude_unset=True,
    responses=ERRORS,
    dependencies=[MinPosition],
)
def read_tree(
    cycle_id: UUID,
    viewer: ViewerDep,
    store: StoreDep,
    runtime: RuntimeDep,
    team_id: TeamFilter = None,
) -> Response:
    """Live objectives nested by alignment (to an objective or to one of its key results).
    An objective whose parent the caller can't see is a root; so are the members of a
    stored alignment cycle, and objectives nested deeper than the alignment limit. Owner
    and assignee names come from the people directory as it is now."""
    team = _team(store, viewer, team_id)
    # Spliced from the stored documents (the shape TreeOut documents), not re-validated:
    # a tree of 10,000 objectives would spend seconds in validation.
    depth = runtime.settings.max_alignment_depth
    tree = cycle_tree_json(store, viewer, str(cycle_id), datetime.now(UTC), team, depth)
    if tree is None:
        raise ApiError(404, f"cycle {cycle_id} not found")
    text = tree.decode()
    del tree  # 20 MB for 10,000 objectives: not held beside its named copy (peak memory)
    return Response(
        named_json(runtime.people, viewer.organization_id, text), media_type="application/json"
    )


@router.get(
    "/{cycle_id}/review", response_model=ReviewOut, responses=ERRORS, dependencies=[MinPosition]
)
def read_review(cycle_id: UUID, viewer: ViewerDep, store: StoreDep) -> ReviewOut:
    """Drafting-review warnings (advice, never refusals) over the live objectives."""
    warnings = review(store, viewer, str(cycle_id))
    if warnings is None:
        raise ApiError(404, f"cycle {cycle_id} not found")
    return ReviewOut.model_validate({"cycle_id": cycle_id, "warnings": warnings})


@router.get(
    "/{cycle_id}/dashboard",
    response_model=DashboardOut,
    responses=ERRORS,
    dependencies=[MinPosition],
)
def read_dashboard(
    cycle_id: UUID, viewer: ViewerDep, store: StoreDep, team_id: TeamFilter = None
) -> DashboardOut:
    """Objective count, mean progress, achievement rate, counts by status, and key
    results with no check-in in the last 14 days."""
    team = _team(store, viewer, team_id)
    summary = dashboard(store, viewer, str(cycle_id), datetime.now(UTC), team)
    if summary is None:
        raise ApiError(404, f"cycle {cycle_id} not found")
    return DashboardOut.model_validate(summary)
