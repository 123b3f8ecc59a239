"""Cycles: plan one, move it through its phases, read them."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter
from pydantic import BaseModel, Field

from api.command_bodies import command_from_request
from api.deps import ActorDep, AppDep, MinPosition, StoreDep
from api.errors import WRITE_ERRORS, ApiError
from api.paging import PageDep, id_key, next_cursor
from api.schemas import WriteResult
from commands.messages import AdvanceCyclePhase, PlanCycle
from domain.values import Cadence, Phase
from projections.cycles import cycles_page, get_cycle

router = APIRouter(prefix="/cycles", tags=["cycles"])

ERRORS = WRITE_ERRORS


class CycleOut(BaseModel):
    id: UUID
    name: str
    start_date: date
    end_date: date
    cadence: Cadence
    phase: Phase
    version: int


class CycleList(BaseModel):
    cycles: list[CycleOut] = Field(description="by start date, then name")
    next_cursor: str | None = Field(
        description="pass as ?cursor= for the next page; null on the last page"
    )


PlanCommand = Annotated[PlanCycle, command_from_request(PlanCycle)]
AdvanceCommand = Annotated[
    AdvanceCyclePhase,
    command_from_request(AdvanceCyclePhase, path=("cycle_id",), name="AdvancePhase"),
]


@router.post("", status_code=201, response_model=WriteResult, responses=ERRORS)
def plan_cycle(actor: ActorDep, app: AppDep, command: PlanCommand) -> WriteResult:
    return WriteResult.of(app.plan_cycle(actor, command))


@router.post("/{cycle_id}/phase", response_model=WriteResult, responses=ERRORS)
def advance_phase(actor: ActorDep, app: AppDep, command: AdvanceCommand) -> WriteResult:
    return WriteResult.of(app.advance_cycle_phase(actor, command))


@router.get("", response_model=CycleList, responses=ERRORS, dependencies=[MinPosition])
def read_cycles(actor: ActorDep, store: StoreDep, page: PageDep) -> CycleList:
    """The organization's cycles, a page at a time."""
    scope = actor.organization_id
    found = cycles_page(store, scope, after=id_key(page.after("cycles", scope)), limit=page.limit)
    if found is None:
        raise ApiError(422, "cursor: not a cursor of this list", code="validation_error")
    rows, resume = found
    return CycleList(
        cycles=[CycleOut.model_validate(row) for row in rows],
        next_cursor=next_cursor("cycles", scope, None if resume is None else [resume]),
    )


@router.get("/{cycle_id}", response_model=CycleOut, responses=ERRORS, dependencies=[MinPosition])
def read_cycle(cycle_id: UUID, actor: ActorDep, store: StoreDep) -> CycleOut:
    row = get_cycle(store, actor.organization_id, str(cycle_id))
    if row is None:
        raise ApiError(404, f"cycle {cycle_id} not found")
    return CycleOut.model_validate(row)
