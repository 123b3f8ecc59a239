"""Objectives: drafting, editing, alignment, archiving; with the routers of their
reads (objective_reads.py), key results (key_results.py) and notes and
retrospectives (notes.py) under the same prefix.

Routes are thin: a command built from the request (api/command_bodies.py), one
application method, a response model out. "Who may" is decided by the commands;
a caller who may not see an objective (another organization, or private) always
gets 404, never 403.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, model_validator

from api.command_bodies import CommandBody, command_from_request
from api.deps import AppDep, RuntimeDep, WriterDep
from api.errors import ApiError, ErrorResponse
from api.routers import key_results, notes, objective_reads
from api.routers.objective_access import ERRORS
from api.schemas import WriteResult
from commands.messages import AlignObjective, ArchiveObjective, DraftObjective, EditObjective

router = APIRouter(prefix="/objectives", tags=["objectives"])


class _EditRules(CommandBody):
    """Only the fields sent change; ``description: null`` clears it."""

    @model_validator(mode="after")
    def _no_null_title_or_visibility(self) -> Any:
        for name in ("title", "visibility"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} can't be null; leave it out to keep it")
        return self


def _edit_values(body: BaseModel) -> dict[str, Any]:
    given = dict(body.__dict__)
    if "description" in body.model_fields_set and given["description"] is None:
        given["description"] = ""  # null clears the description; left out keeps it
    return given


DraftCommand = Annotated[DraftObjective, command_from_request(DraftObjective)]
EditCommand = Annotated[
    EditObjective,
    command_from_request(
        EditObjective, path=("objective_id",), base=_EditRules, values=_edit_values
    ),
]
AlignCommand = Annotated[
    AlignObjective, command_from_request(AlignObjective, path=("objective_id",), name="Alignment")
]
ArchiveCommand = Annotated[
    ArchiveObjective, command_from_request(ArchiveObjective, path=("objective_id",))
]


@router.post("", status_code=201, response_model=WriteResult, responses=ERRORS)
def draft_objective(actor: WriterDep, app: AppDep, command: DraftCommand) -> WriteResult:
    """Organization level: admin; team level: admin or a manager of the owner team;
    individual level: the owner user or an admin. Drafting needs the cycle in
    drafting or tracking. An alignment that would make a chain of aligned objectives
    longer than ``OKR_MAX_ALIGNMENT_DEPTH`` answers 409 ``alignment_too_deep``."""
    return WriteResult.of(app.draft_objective(actor, command))


@router.patch("/{objective_id}", response_model=WriteResult, responses=ERRORS)
def edit_objective(actor: WriterDep, app: AppDep, command: EditCommand) -> WriteResult:
    """Editors: admins, the owner user, managers of the owner team."""
    return WriteResult.of(app.edit_objective(actor, command))


@router.put(
    "/{objective_id}/alignment",
    response_model=WriteResult,
    responses={**ERRORS, 503: {"model": ErrorResponse}},
)
def align_objective(
    actor: WriterDep, app: AppDep, runtime: RuntimeDep, command: AlignCommand
) -> WriteResult:
    """Align to an objective or to a key result of another objective; neither: unaligned.
    An alignment that would make the objective its own ancestor, or a chain of aligned
    objectives longer than ``OKR_MAX_ALIGNMENT_DEPTH``, answers 409."""
    # What hangs below the objective is read from the objectives read model: let it
    # catch up with every write made so far (bounded, as ?min_position= is).
    aligning = command.to_objective_id is not None or command.to_key_result_id is not None
    if aligning and not runtime.wait_for(app.recorder.max_notification_id()):
        raise ApiError(503, "the read models are behind; retry the alignment", code="unavailable")
    return WriteResult.of(app.align_objective(actor, command))


@router.post("/{objective_id}/archive", response_model=WriteResult, responses=ERRORS)
def archive_objective(actor: WriterDep, app: AppDep, command: ArchiveCommand) -> WriteResult:
    """Kept for audit, hidden from trees, dashboards and reviews."""
    return WriteResult.of(app.archive_objective(actor, command))


router.include_router(objective_reads.router)
router.include_router(key_results.router)
router.include_router(notes.router)
