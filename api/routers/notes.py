"""Notes on an objective (the seed's communication records) and its retrospective."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter

from api.command_bodies import command_from_request
from api.deps import ActorDep, AppDep, MinPosition, RuntimeDep, ViewerDep, WriterDep
from api.display_names import name_of
from api.paging import PageDep, int_key, next_cursor
from api.routers.objective_access import ERRORS, READ_ERRORS, visible_objective
from api.schemas import NoteList, WriteResult
from commands.messages import AddNote, RecordRetrospective
from projections.history import readable_by
from projections.notes import notes_page

router = APIRouter()

NoteCommand = Annotated[AddNote, command_from_request(AddNote, path=("objective_id",))]
RetrospectiveCommand = Annotated[
    RecordRetrospective,
    command_from_request(RecordRetrospective, path=("objective_id",), name="Retrospective"),
]


@router.post("/{objective_id}/notes", response_model=WriteResult, responses=ERRORS)
def add_note(actor: WriterDep, app: AppDep, command: NoteCommand) -> WriteResult:
    """Anyone who may see the objective (the seed's communication records)."""
    return WriteResult.of(app.add_note(actor, command))


@router.get(
    "/{objective_id}/notes",
    response_model=NoteList,
    responses=READ_ERRORS,
    dependencies=[MinPosition],
)
def read_notes(
    objective_id: UUID,
    actor: ActorDep,
    viewer: ViewerDep,
    app: AppDep,
    runtime: RuntimeDep,
    page: PageDep,
) -> NoteList:
    """The objective's notes, oldest first, a page at a time. Notes on ``career`` and
    ``appraisal`` only for their author, the owner user, managers of the owner team and
    admins; the others for anyone who may see the objective."""
    objective = visible_objective(app, actor, objective_id)
    after = int_key(page.after("notes", str(objective_id)), 1)
    notes, resume = notes_page(
        app,
        objective_id,
        readable_by(viewer, objective),
        after=after[0] if after else 0,
        limit=page.limit,
    )
    names = runtime.people.names(viewer.organization_id, (note["author"] for note in notes))
    return NoteList.model_validate(
        {
            "notes": [{**note, "author_name": name_of(names, note["author"])} for note in notes],
            "next_cursor": next_cursor(
                "notes", str(objective_id), None if resume is None else [resume]
            ),
        }
    )


@router.put("/{objective_id}/retrospective", response_model=WriteResult, responses=ERRORS)
def record_retrospective(
    actor: WriterDep, app: AppDep, command: RetrospectiveCommand
) -> WriteResult:
    """Editors, with the cycle in its retrospective phase. Recording again replaces it."""
    return WriteResult.of(app.record_retrospective(actor, command))
