"""Key results of an objective: add, edit, archive, weigh, check in, link issues."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import BaseModel

from api.command_bodies import body_model, command_from_request
from api.deps import AppDep, ExpectedVersion, WriterDep
from api.errors import ApiError
from api.routers.objective_access import ERRORS
from api.schemas import KeyResultWriteResult, WriteResult, unstorable
from commands.fields import TRACKER_PATTERN
from commands.messages import (
    EDITABLE_KEY_RESULT_FIELDS,
    AddKeyResult,
    ArchiveKeyResult,
    CheckIn,
    EditKeyResult,
    LinkIssue,
    SetWeights,
    UnlinkIssue,
)

router = APIRouter()

ON_OBJECTIVE = ("objective_id",)
ON_KEY_RESULT = ("objective_id", "key_result_id")

KeyResultChanges = body_model(
    AddKeyResult, only=EDITABLE_KEY_RESULT_FIELDS, optional=True, name="EditKeyResult"
)
"""Only the fields sent change; ``null`` clears target, unit or assignee."""


def _changes(body: BaseModel) -> dict[str, Any]:
    return {"changes": body.model_dump(exclude_unset=True)}


AddCommand = Annotated[AddKeyResult, command_from_request(AddKeyResult, path=ON_OBJECTIVE)]
EditCommand = Annotated[
    EditKeyResult,
    command_from_request(EditKeyResult, path=ON_KEY_RESULT, body=KeyResultChanges, values=_changes),
]
ArchiveCommand = Annotated[
    ArchiveKeyResult, command_from_request(ArchiveKeyResult, path=ON_KEY_RESULT)
]
WeightsCommand = Annotated[
    SetWeights, command_from_request(SetWeights, path=ON_OBJECTIVE, name="Weights")
]
CheckInCommand = Annotated[CheckIn, command_from_request(CheckIn, path=ON_KEY_RESULT)]
LinkCommand = Annotated[LinkIssue, command_from_request(LinkIssue, path=ON_KEY_RESULT)]


@router.post(
    "/{objective_id}/key-results",
    status_code=201,
    response_model=KeyResultWriteResult,
    responses=ERRORS,
)
def add_key_result(actor: WriterDep, app: AppDep, command: AddCommand) -> KeyResultWriteResult:
    """Editors. ``start``/``target``/``unit`` for numeric mode, ``milestones`` for milestone."""
    return KeyResultWriteResult.of(app.add_key_result(actor, command))


@router.patch(
    "/{objective_id}/key-results/{key_result_id}", response_model=WriteResult, responses=ERRORS
)
def edit_key_result(actor: WriterDep, app: AppDep, command: EditCommand) -> WriteResult:
    """Editors. Only the fields sent change."""
    return WriteResult.of(app.edit_key_result(actor, command))


@router.post(
    "/{objective_id}/key-results/{key_result_id}/archive",
    response_model=WriteResult,
    responses=ERRORS,
)
def archive_key_result(actor: WriterDep, app: AppDep, command: ArchiveCommand) -> WriteResult:
    """Editors. The key result stays in history and leaves every formula."""
    return WriteResult.of(app.archive_key_result(actor, command))


@router.put("/{objective_id}/weights", response_model=WriteResult, responses=ERRORS)
def set_weights(actor: WriterDep, app: AppDep, command: WeightsCommand) -> WriteResult:
    """Editors."""
    return WriteResult.of(app.set_weights(actor, command))


@router.post(
    "/{objective_id}/key-results/{key_result_id}/check-ins",
    response_model=WriteResult,
    responses=ERRORS,
)
def check_in(actor: WriterDep, app: AppDep, command: CheckInCommand) -> WriteResult:
    """Editors, the key result's assignee and participants; the cycle must be tracking.
    Send the value the mode needs: ``percent``, ``current`` or ``milestones_done``."""
    return WriteResult.of(app.check_in(actor, command))


@router.post(
    "/{objective_id}/key-results/{key_result_id}/issues",
    response_model=WriteResult,
    responses=ERRORS,
)
def link_issue(actor: WriterDep, app: AppDep, command: LinkCommand) -> WriteResult:
    """Editors, assignee, participants. The link starts with the issue's current status."""
    return WriteResult.of(app.link_issue(actor, command))


def _query_text(name: str, value: str) -> str:
    reason = unstorable(value)
    if reason:
        raise ApiError(422, f"{name}: {reason}", code="validation_error")
    return value


@router.delete(
    "/{objective_id}/key-results/{key_result_id}/issues",
    response_model=WriteResult,
    responses=ERRORS,
)
def unlink_issue(
    objective_id: UUID,
    key_result_id: UUID,
    tracker: Annotated[str, Query(pattern=TRACKER_PATTERN)],
    issue_key: Annotated[str, Query(min_length=1, max_length=300)],
    actor: WriterDep,
    app: AppDep,
    expected_version: ExpectedVersion,
) -> WriteResult:
    """Editors, assignee, participants."""
    command = UnlinkIssue(
        objective_id, key_result_id, tracker, _query_text("issue_key", issue_key), expected_version
    )
    return WriteResult.of(app.unlink_issue(actor, command))
