"""Tracker issues: read an issue's status and links; submit a canonical issue event.

``POST /issue-events`` takes the canonical event of SPEC §4 (the Kafka message
value) and applies it in-process, idempotently by ``event_id``. Webhooks with
the trackers' native payloads live in another router.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from api.deps import ActorDep, AppDep, MinPosition, StoreDep, ViewerDep
from api.errors import ApiError, ErrorResponse
from api.schemas import TRACKER_PATTERN, IssueEventResult, IssueOut, unstorable
from commands.issue_event import IssueEvent
from consumers.issue_event import InvalidIssueEvent, IssueEventSchema, parse_issue_event
from projections.issue_links import get_issue
from projections.objective_queries import get_objective

router = APIRouter(tags=["issues"])

ERRORS: dict[int | str, dict[str, Any]] = {
    s: {"model": ErrorResponse} for s in (400, 401, 403, 404, 409, 412, 422)
}


async def issue_event_body(request: Request) -> IssueEvent:
    """The canonical event, parsed by the wire schema as the Kafka consumer does.

    Read from the raw body: the model is strict, and strict validation of an
    already-decoded dict would refuse ISO 8601 strings for ``occurred_at``.
    The schema also refuses text no store can keep (NUL, lone surrogates).
    """
    raw = await request.body()
    if not raw.strip():
        raise ApiError(422, "body: a canonical issue event is required", code="validation_error")
    try:
        json.loads(raw)  # NaN and Infinity pass here, and fail validation below (422)
    except (ValueError, RecursionError):
        raise ApiError(400, "the body is not valid JSON") from None
    try:
        return parse_issue_event(raw)
    except InvalidIssueEvent as error:
        raise ApiError(422, error.reason, code="validation_error") from None


_EVENT_SCHEMA = IssueEventSchema.model_json_schema(ref_template="#/components/schemas/{model}")


@router.post(
    "/issue-events",
    response_model=IssueEventResult,
    responses=ERRORS,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _EVENT_SCHEMA}},
        }
    },
)
def submit_issue_event(
    event: Annotated[IssueEvent, Depends(issue_event_body)], actor: ActorDep, app: AppDep
) -> IssueEventResult:
    """Admin or an integration token. The same ``event_id`` twice changes nothing the
    second time; an event older than the last applied one is recorded, not applied."""
    outcome = app.report_issue_event(actor, event)
    return IssueEventResult(
        issue_id=outcome.issue_id,
        duplicate=outcome.duplicate,
        applied=outcome.applied,
        position=outcome.position,
    )


@router.get("/issues", response_model=IssueOut, responses=ERRORS, dependencies=[MinPosition])
def read_issue(
    tracker: Annotated[str, Query(pattern=TRACKER_PATTERN)],
    issue_key: Annotated[str, Query(min_length=1, max_length=300)],
    viewer: ViewerDep,
    store: StoreDep,
) -> IssueOut:
    """The issue's current status and the key results it moves (those the caller may see)."""
    reason = unstorable(issue_key)
    if reason:
        raise ApiError(422, f"issue_key: {reason}", code="validation_error")
    issue = get_issue(store, viewer.organization_id, tracker, issue_key)
    if issue is None:
        raise ApiError(404, f"issue {tracker}:{issue_key} not found")
    now = datetime.now(UTC)
    visible: dict[str, bool] = {}
    links = []
    for link in issue["links"]:
        objective_id = link["objective_id"]
        if objective_id not in visible:
            visible[objective_id] = get_objective(store, viewer, objective_id, now) is not None
        if visible[objective_id]:
            links.append(link)
    return IssueOut.model_validate({**issue, "key_results": links})
