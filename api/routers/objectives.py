"""Objectives and their key results: drafting, alignment, weights, check-ins, issue
links, notes, retrospectives; the objective read, its history and time travel.

Routes are thin: a request model in, one command or query, a response model
out. "Who may" is decided by the commands; a caller who may not see an
objective (another organization, or private) always gets 404, never 403.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Response
from pydantic import Field, StrictInt, model_validator

from api.deps import (
    ActorDep,
    AppDep,
    ExpectedVersion,
    MinPosition,
    RuntimeDep,
    StoreDep,
    ViewerDep,
    WriterDep,
)
from api.errors import ApiError, ErrorResponse
from api.paging import PageDep, int_key, next_cursor
from api.schemas import (
    TITLE_LIMIT,
    Fraction,
    HistoryOut,
    IssueKey,
    JsonObject,
    KeyResultWriteResult,
    LongText,
    NonNegative,
    NoteList,
    Number,
    ObjectiveOut,
    ProgressHistoryOut,
    RequestModel,
    Title,
    Tracker,
    UserId,
    WriteResult,
    unstorable,
)
from commands.actor import Actor
from commands.application import OkrApplication
from commands.authorization import may_see
from domain.cycle import check_calendar_moment
from domain.errors import InvalidCommand
from domain.key_result_locator import KeyResultLocator
from domain.objective import Objective
from domain.values import KeyResultStatus, Level, NoteTopic, ProgressMode, Visibility
from projections.history import history_page, objective_at, readable_by
from projections.notes import notes_page
from projections.objective_queries import objective_json, progress_history_page

router = APIRouter(prefix="/objectives", tags=["objectives"])

ERRORS: dict[int | str, dict[str, Any]] = {
    s: {"model": ErrorResponse} for s in (400, 401, 403, 404, 409, 412, 422)
}
READ_ERRORS: dict[int | str, dict[str, Any]] = {
    s: {"model": ErrorResponse} for s in (401, 404, 422, 503)
}
MAX_VERSION = 2**31 - 1
LIST_LIMIT = 200

Unit = Annotated[str, Field(max_length=50)]
Participants = Annotated[list[UserId], Field(max_length=LIST_LIMIT)]


# ---------------------------------------------------------------- request models


class DraftObjective(RequestModel):
    cycle_id: UUID
    title: Title
    description: LongText | None = None
    level: Level
    owner_team_id: UUID | None = Field(
        default=None, description="required for organization and team level"
    )
    owner_user_id: UserId | None = Field(
        default=None, description="individual level; defaults to the caller (unless admin)"
    )
    visibility: Visibility | None = Field(default=None, description="public when not given")
    aligned_to_objective_id: UUID | None = None
    aligned_to_key_result_id: UUID | None = None


class EditObjective(RequestModel):
    """Only the fields sent change; ``description: null`` clears it."""

    title: Title | None = None
    description: LongText | None = None
    visibility: Visibility | None = None

    @model_validator(mode="after")
    def _no_null_title_or_visibility(self) -> EditObjective:
        for name in ("title", "visibility"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} can't be null; leave it out to keep it")
        return self

    @property
    def new_description(self) -> str | None:
        if "description" in self.model_fields_set and self.description is None:
            return ""
        return self.description


class Alignment(RequestModel):
    objective_id: UUID | None = Field(default=None, description="align to this objective")
    key_result_id: UUID | None = Field(default=None, description="or to this key result")


class AddKeyResult(RequestModel):
    title: Title
    mode: ProgressMode
    weight: NonNegative | None = Field(default=None, description="default 1")
    start: Number | None = Field(default=None, description="numeric mode; default 0")
    target: Number | None = Field(default=None, description="numeric mode; may stay open")
    unit: Unit | None = Field(default=None, description="numeric mode")
    milestones: Annotated[list[Title], Field(max_length=LIST_LIMIT)] | None = Field(
        default=None, description="milestone mode: titles, in order"
    )
    assignee_id: UserId | None = None
    participant_ids: Participants | None = None


class EditKeyResult(RequestModel):
    """Only the fields sent change; ``null`` clears target, unit or assignee."""

    title: Title | None = None
    start: Number | None = None
    target: Number | None = None
    unit: Unit | None = None
    assignee_id: UserId | None = None
    participant_ids: Participants | None = None


class Weights(RequestModel):
    weights: Annotated[dict[UUID, NonNegative], JsonObject] = Field(
        description="key result id → weight; key results not named keep theirs"
    )


class CheckIn(RequestModel):
    percent: NonNegative | None = Field(default=None, description="percentage mode")
    current: Number | None = Field(default=None, description="numeric mode")
    milestones_done: Annotated[list[StrictInt], Field(max_length=LIST_LIMIT)] | None = Field(
        default=None, description="milestone mode: indices of all milestones done so far"
    )
    status: KeyResultStatus
    confidence: Fraction | None = None
    note: LongText | None = None


class LinkIssue(RequestModel):
    tracker: Tracker
    issue_key: IssueKey
    estimate: NonNegative | None = Field(default=None, description="default 1")
    url: Annotated[str, Field(max_length=2000)] | None = None
    title: Annotated[str, Field(max_length=TITLE_LIMIT)] | None = None


class AddNote(RequestModel):
    topic: NoteTopic
    text: Annotated[LongText, Field(min_length=1)]


class Retrospective(RequestModel):
    scores: Annotated[dict[UUID, Fraction], JsonObject] | None = Field(
        default=None, description="final score per key result, 0..1; others score their progress"
    )
    problems: LongText = ""
    improvements: LongText = ""
    next_focus: LongText = ""


# ---------------------------------------------------------------- helpers


def _sees(app: OkrApplication, actor: Actor, objective: Objective) -> bool:
    return may_see(actor, objective, app.team_managers(actor, objective.owner_team_id))


def _visible_objective(app: OkrApplication, actor: Actor, objective_id: UUID) -> Objective:
    """The current aggregate, if the caller may see it; 404 otherwise (never 403)."""
    objective = app.find(actor, objective_id, Objective)
    if objective is None or not _sees(app, actor, objective):
        raise ApiError(404, f"objective {objective_id} not found")
    return objective


def _require_visible_parent(
    app: OkrApplication, actor: Actor, objective_id: UUID | None, key_result_id: UUID | None
) -> None:
    """Aligning to a private objective (or one of its KRs) the caller can't see answers
    404, as if it did not exist. The commands check only the organization, so the API
    checks visibility here; a missing parent is left to the command (also 404)."""
    if key_result_id is not None:
        locator = app.find(actor, key_result_id, KeyResultLocator)
        parent = None if locator is None else app.find(actor, locator.objective_id, Objective)
        if parent is not None and not _sees(app, actor, parent):
            raise ApiError(404, f"key result {key_result_id} not found")
    elif objective_id is not None:
        parent = app.find(actor, objective_id, Objective)
        if parent is not None and not _sees(app, actor, parent):
            raise ApiError(404, f"objective {objective_id} not found")


def _as_utc(moment: datetime) -> datetime:
    """A naive time is UTC; a time outside the service's calendar is refused (422)."""
    try:
        check_calendar_moment("as_of", moment)
    except InvalidCommand as refused:  # a query parameter: the API's validation code
        raise ApiError(422, refused.message, code="validation_error") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _query_text(name: str, value: str) -> str:
    reason = unstorable(value)
    if reason:
        raise ApiError(422, f"{name}: {reason}", code="validation_error")
    return value


# ---------------------------------------------------------------- objectives


@router.post("", status_code=201, response_model=WriteResult, responses=ERRORS)
def draft_objective(body: DraftObjective, actor: WriterDep, app: AppDep) -> WriteResult:
    """Organization level: admin; team level: admin or a manager of the owner team;
    individual level: the owner user or an admin. Drafting needs the cycle in
    drafting or tracking. An alignment that would make a chain of aligned objectives
    longer than ``OKR_MAX_ALIGNMENT_DEPTH`` answers 409 ``alignment_too_deep``."""
    _require_visible_parent(app, actor, body.aligned_to_objective_id, body.aligned_to_key_result_id)
    written = app.draft_objective(
        actor,
        cycle_id=body.cycle_id,
        title=body.title,
        description=body.description,
        level=body.level.value,
        owner_team_id=body.owner_team_id,
        owner_user_id=body.owner_user_id,
        visibility=None if body.visibility is None else body.visibility.value,
        aligned_to_objective_id=body.aligned_to_objective_id,
        aligned_to_key_result_id=body.aligned_to_key_result_id,
    )
    return WriteResult.of(written)


@router.patch("/{objective_id}", response_model=WriteResult, responses=ERRORS)
def edit_objective(
    objective_id: UUID,
    body: EditObjective,
    actor: WriterDep,
    app: AppDep,
    expected_version: ExpectedVersion,
) -> WriteResult:
    """Editors: admins, the owner user, managers of the owner team."""
    written = app.edit_objective(
        actor,
        objective_id,
        title=body.title,
        description=body.new_description,
        visibility=None if body.visibility is None else body.visibility.value,
        expected_version=expected_version,
    )
    return WriteResult.of(written)


@router.put(
    "/{objective_id}/alignment",
    response_model=WriteResult,
    responses={**ERRORS, 503: {"model": ErrorResponse}},
)
def align_objective(
    objective_id: UUID,
    body: Alignment,
    actor: WriterDep,
    app: AppDep,
    runtime: RuntimeDep,
    expected_version: ExpectedVersion,
) -> WriteResult:
    """Align to an objective or to a key result of another objective; neither: unaligned.
    An alignment that would make the objective its own ancestor, or a chain of aligned
    objectives longer than ``OKR_MAX_ALIGNMENT_DEPTH``, answers 409."""
    _require_visible_parent(app, actor, body.objective_id, body.key_result_id)
    # What hangs below the objective is read from the objectives read model: let it
    # catch up with every write made so far (bounded, as ?min_position= is).
    aligning = body.objective_id is not None or body.key_result_id is not None
    if aligning and not runtime.wait_for(app.recorder.max_notification_id()):
        raise ApiError(503, "the read models are behind; retry the alignment", code="unavailable")
    written = app.align_objective(
        actor,
        objective_id,
        to_objective_id=body.objective_id,
        to_key_result_id=body.key_result_id,
        expected_version=expected_version,
    )
    return WriteResult.of(written)


@router.post("/{objective_id}/archive", response_model=WriteResult, responses=ERRORS)
def archive_objective(
    objective_id: UUID, actor: WriterDep, app: AppDep, expected_version: ExpectedVersion
) -> WriteResult:
    """Kept for audit, hidden from trees, dashboards and reviews."""
    return WriteResult.of(app.archive_objective(actor, objective_id, expected_version))


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
        return Response(body, media_type="application/json", headers={"ETag": f'"{current}"'})
    moment = None if as_of is None else _as_utc(as_of)
    _visible_objective(app, actor, objective_id)
    past = objective_at(app, store, objective_id, version=version, as_of=moment)
    if past is None:
        when = f"version {version}" if version is not None else f"{as_of}"
        raise ApiError(404, f"objective {objective_id} did not exist at {when}")
    return past


@router.get(
    "/{objective_id}/history",
    response_model=HistoryOut,
    responses=READ_ERRORS,
    dependencies=[MinPosition],
)
def read_history(
    objective_id: UUID, actor: ActorDep, viewer: ViewerDep, app: AppDep, page: PageDep
) -> HistoryOut:
    """The objective's events from the event store, a page at a time: who did what, when.
    Personal notes the caller may not read are left out."""
    objective = _visible_objective(app, actor, objective_id)
    after = int_key(page.after("history", str(objective_id)), 1)
    entries, resume = history_page(
        app,
        objective_id,
        readable_by(viewer, objective),
        after=after[0] if after else 0,
        limit=page.limit,
    )
    return HistoryOut.model_validate(
        {
            "events": [vars(entry) for entry in entries],
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
    page: PageDep,
) -> ProgressHistoryOut:
    """Every change of the objective's or one of its key results' progress, with its cause,
    a page at a time. A cause never names an objective the caller may not see."""
    _visible_objective(app, actor, objective_id)
    after = int_key(page.after("progress-history", str(objective_id)), 2)
    points, resume = progress_history_page(
        store,
        viewer,
        str(objective_id),
        after=None if after is None else (after[0], after[1]),
        limit=page.limit,
    )
    return ProgressHistoryOut.model_validate(
        {
            "points": points,
            "next_cursor": next_cursor(
                "progress-history", str(objective_id), None if resume is None else list(resume)
            ),
        }
    )


# ---------------------------------------------------------------- key results


@router.post(
    "/{objective_id}/key-results",
    status_code=201,
    response_model=KeyResultWriteResult,
    responses=ERRORS,
)
def add_key_result(
    objective_id: UUID,
    body: AddKeyResult,
    actor: WriterDep,
    app: AppDep,
    expected_version: ExpectedVersion,
) -> KeyResultWriteResult:
    """Editors. ``start``/``target``/``unit`` for numeric mode, ``milestones`` for milestone."""
    written = app.add_key_result(
        actor,
        objective_id,
        title=body.title,
        mode=body.mode.value,
        weight=body.weight,
        start=body.start,
        target=body.target,
        unit=body.unit,
        milestones=body.milestones,
        assignee_id=body.assignee_id,
        participant_ids=body.participant_ids,
        expected_version=expected_version,
    )
    return KeyResultWriteResult.of(written)


@router.patch(
    "/{objective_id}/key-results/{key_result_id}", response_model=WriteResult, responses=ERRORS
)
def edit_key_result(
    objective_id: UUID,
    key_result_id: UUID,
    body: EditKeyResult,
    actor: WriterDep,
    app: AppDep,
    expected_version: ExpectedVersion,
) -> WriteResult:
    """Editors. Only the fields sent change."""
    changes = body.model_dump(exclude_unset=True)
    written = app.edit_key_result(actor, objective_id, key_result_id, changes, expected_version)
    return WriteResult.of(written)


@router.post(
    "/{objective_id}/key-results/{key_result_id}/archive",
    response_model=WriteResult,
    responses=ERRORS,
)
def archive_key_result(
    objective_id: UUID,
    key_result_id: UUID,
    actor: WriterDep,
    app: AppDep,
    expected_version: ExpectedVersion,
) -> WriteResult:
    """Editors. The key result stays in history and leaves every formula."""
    written = app.archive_key_result(actor, objective_id, key_result_id, expected_version)
    return WriteResult.of(written)


@router.put("/{objective_id}/weights", response_model=WriteResult, responses=ERRORS)
def set_weights(
    objective_id: UUID,
    body: Weights,
    actor: WriterDep,
    app: AppDep,
    expected_version: ExpectedVersion,
) -> WriteResult:
    """Editors."""
    return WriteResult.of(app.set_weights(actor, objective_id, body.weights, expected_version))


@router.post(
    "/{objective_id}/key-results/{key_result_id}/check-ins",
    response_model=WriteResult,
    responses=ERRORS,
)
def check_in(
    objective_id: UUID,
    key_result_id: UUID,
    body: CheckIn,
    actor: WriterDep,
    app: AppDep,
    expected_version: ExpectedVersion,
) -> WriteResult:
    """Editors, the key result's assignee and participants; the cycle must be tracking.
    Send the value the mode needs: ``percent``, ``current`` or ``milestones_done``."""
    written = app.check_in(
        actor,
        objective_id,
        key_result_id,
        status=body.status.value,
        percent=body.percent,
        current=body.current,
        milestones_done=body.milestones_done,
        confidence=body.confidence,
        note=body.note,
        expected_version=expected_version,
    )
    return WriteResult.of(written)


@router.post(
    "/{objective_id}/key-results/{key_result_id}/issues",
    response_model=WriteResult,
    responses=ERRORS,
)
def link_issue(
    objective_id: UUID,
    key_result_id: UUID,
    body: LinkIssue,
    actor: WriterDep,
    app: AppDep,
    expected_version: ExpectedVersion,
) -> WriteResult:
    """Editors, assignee, participants. The link starts with the issue's current status."""
    written = app.link_issue(
        actor,
        objective_id,
        key_result_id,
        tracker=body.tracker,
        issue_key=body.issue_key,
        estimate=body.estimate,
        url=body.url,
        title=body.title,
        expected_version=expected_version,
    )
    return WriteResult.of(written)


@router.delete(
    "/{objective_id}/key-results/{key_result_id}/issues",
    response_model=WriteResult,
    responses=ERRORS,
)
def unlink_issue(
    objective_id: UUID,
    key_result_id: UUID,
    tracker: Annotated[str, Query(pattern=r"^[a-z][a-z0-9_-]{0,31}$")],
    issue_key: Annotated[str, Query(min_length=1, max_length=300)],
    actor: WriterDep,
    app: AppDep,
    expected_version: ExpectedVersion,
) -> WriteResult:
    """Editors, assignee, participants."""
    written = app.unlink_issue(
        actor,
        objective_id,
        key_result_id,
        tracker=tracker,
        issue_key=_query_text("issue_key", issue_key),
        expected_version=expected_version,
    )
    return WriteResult.of(written)


# ---------------------------------------------------------------- notes, retrospective


@router.post("/{objective_id}/notes", response_model=WriteResult, responses=ERRORS)
def add_note(
    objective_id: UUID,
    body: AddNote,
    actor: WriterDep,
    app: AppDep,
    expected_version: ExpectedVersion,
) -> WriteResult:
    """Anyone who may see the objective (the seed's communication records)."""
    written = app.add_note(
        actor,
        objective_id,
        topic=body.topic.value,
        text=body.text,
        expected_version=expected_version,
    )
    return WriteResult.of(written)


@router.get(
    "/{objective_id}/notes",
    response_model=NoteList,
    responses=READ_ERRORS,
    dependencies=[MinPosition],
)
def read_notes(
    objective_id: UUID, actor: ActorDep, viewer: ViewerDep, app: AppDep, page: PageDep
) -> NoteList:
    """The objective's notes, oldest first, a page at a time. Notes on ``career`` and
    ``appraisal`` only for their author, the owner user, managers of the owner team and
    admins; the others for anyone who may see the objective."""
    objective = _visible_objective(app, actor, objective_id)
    after = int_key(page.after("notes", str(objective_id)), 1)
    notes, resume = notes_page(
        app,
        objective_id,
        readable_by(viewer, objective),
        after=after[0] if after else 0,
        limit=page.limit,
    )
    return NoteList.model_validate(
        {
            "notes": notes,
            "next_cursor": next_cursor(
                "notes", str(objective_id), None if resume is None else [resume]
            ),
        }
    )


@router.put("/{objective_id}/retrospective", response_model=WriteResult, responses=ERRORS)
def record_retrospective(
    objective_id: UUID,
    body: Retrospective,
    actor: WriterDep,
    app: AppDep,
    expected_version: ExpectedVersion,
) -> WriteResult:
    """Editors, with the cycle in its retrospective phase. Recording again replaces it."""
    written = app.record_retrospective(
        actor,
        objective_id,
        scores=body.scores,
        problems=body.problems,
        improvements=body.improvements,
        next_focus=body.next_focus,
        expected_version=expected_version,
    )
    return WriteResult.of(written)
