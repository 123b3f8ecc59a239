"""Teams: form the hierarchy, set members and managers, read them."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter

from api.command_bodies import command_from_request
from api.deps import ActorDep, AppDep, MinPosition, RuntimeDep, StoreDep, WriterDep
from api.display_names import Names, name_of
from api.errors import WRITE_ERRORS, ApiError
from api.paging import PageDep, id_key, next_cursor
from api.schemas import TeamList, TeamOut, WriteResult
from commands.messages import FormTeam, SetTeamMember
from projections.store import Row
from projections.teams import get_team, teams_page

router = APIRouter(prefix="/teams", tags=["teams"])

ERRORS = WRITE_ERRORS


FormTeamCommand = Annotated[FormTeam, command_from_request(FormTeam)]
SetMemberCommand = Annotated[
    SetTeamMember, command_from_request(SetTeamMember, path=("team_id",), name="SetMember")
]


@router.post("", status_code=201, response_model=WriteResult, responses=ERRORS)
def form_team(actor: WriterDep, app: AppDep, command: FormTeamCommand) -> WriteResult:
    """Admin only. A parent team must exist in the caller's organization."""
    return WriteResult.of(app.form_team(actor, command))


@router.post("/{team_id}/members", response_model=WriteResult, responses=ERRORS)
def set_member(actor: WriterDep, app: AppDep, command: SetMemberCommand) -> WriteResult:
    """Admin or a manager of the team. Setting an existing member changes their role."""
    return WriteResult.of(app.set_team_member(actor, command))


def _named(teams: list[Row], names: Names) -> list[TeamOut]:
    """Teams with each member's display name (from one question to the directory)."""
    return [
        TeamOut.model_validate(
            {
                **team,
                "members": [
                    {**member, "display_name": name_of(names, member["user_id"])}
                    for member in team["members"]
                ],
            }
        )
        for team in teams
    ]


def _members(teams: list[Row]) -> set[str]:
    return {member["user_id"] for team in teams for member in team["members"]}


@router.get("", response_model=TeamList, responses=ERRORS, dependencies=[MinPosition])
def read_teams(actor: ActorDep, store: StoreDep, runtime: RuntimeDep, page: PageDep) -> TeamList:
    """The organization's teams by name with their members, a page at a time."""
    scope = actor.organization_id
    found = teams_page(store, scope, after=id_key(page.after("teams", scope)), limit=page.limit)
    if found is None:
        raise ApiError(422, "cursor: not a cursor of this list", code="validation_error")
    rows, resume = found
    names = runtime.people.names(scope, _members(rows))
    return TeamList(
        teams=_named(rows, names),
        next_cursor=next_cursor("teams", scope, None if resume is None else [resume]),
    )


@router.get("/{team_id}", response_model=TeamOut, responses=ERRORS, dependencies=[MinPosition])
def read_team(team_id: UUID, actor: ActorDep, store: StoreDep, runtime: RuntimeDep) -> TeamOut:
    row = get_team(store, actor.organization_id, str(team_id))
    if row is None:
        raise ApiError(404, f"team {team_id} not found")
    return _named([row], runtime.people.names(actor.organization_id, _members([row])))[0]
