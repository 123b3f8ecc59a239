"""Teams: form the hierarchy, set members and managers, read them."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter
from pydantic import Field

from api.deps import ActorDep, AppDep, ExpectedVersion, MinPosition, StoreDep, WriterDep
from api.errors import ApiError, ErrorResponse
from api.paging import PageDep, id_key, next_cursor
from api.schemas import RequestModel, TeamList, TeamOut, Title, UserId, WriteResult
from domain.values import TeamRole
from projections.teams import get_team, teams_page

router = APIRouter(prefix="/teams", tags=["teams"])

ERRORS = {s: {"model": ErrorResponse} for s in (400, 401, 403, 404, 409, 412, 422)}


class FormTeam(RequestModel):
    name: Title
    parent_id: UUID | None = Field(default=None, description="the team above (a department)")


class SetMember(RequestModel):
    user_id: UserId
    role: TeamRole


@router.post("", status_code=201, response_model=WriteResult, responses=ERRORS)
def form_team(body: FormTeam, actor: WriterDep, app: AppDep) -> WriteResult:
    """Admin only. A parent team must exist in the caller's organization."""
    return WriteResult.of(app.form_team(actor, name=body.name, parent_id=body.parent_id))


@router.post("/{team_id}/members", response_model=WriteResult, responses=ERRORS)
def set_member(
    team_id: UUID,
    body: SetMember,
    actor: WriterDep,
    app: AppDep,
    expected_version: ExpectedVersion,
) -> WriteResult:
    """Admin or a manager of the team. Setting an existing member changes their role."""
    written = app.set_team_member(
        actor,
        team_id,
        user_id=body.user_id,
        role=body.role.value,
        expected_version=expected_version,
    )
    return WriteResult.of(written)


@router.get("", response_model=TeamList, responses=ERRORS, dependencies=[MinPosition])
def read_teams(actor: ActorDep, store: StoreDep, page: PageDep) -> TeamList:
    """The organization's teams by name with their members, a page at a time."""
    scope = actor.organization_id
    found = teams_page(store, scope, after=id_key(page.after("teams", scope)), limit=page.limit)
    if found is None:
        raise ApiError(422, "cursor: not a cursor of this list", code="validation_error")
    rows, resume = found
    return TeamList(
        teams=[TeamOut.model_validate(row) for row in rows],
        next_cursor=next_cursor("teams", scope, None if resume is None else [resume]),
    )


@router.get("/{team_id}", response_model=TeamOut, responses=ERRORS, dependencies=[MinPosition])
def read_team(team_id: UUID, actor: ActorDep, store: StoreDep) -> TeamOut:
    row = get_team(store, actor.organization_id, str(team_id))
    if row is None:
        raise ApiError(404, f"team {team_id} not found")
    return TeamOut.model_validate(row)
