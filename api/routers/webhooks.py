"""Tracker webhooks: a tracker's native payload in, one canonical issue event out.

``POST /webhooks/{tracker}/{registration_id}`` (SPEC §4, §9) needs no bearer
token: the delivery must be signed with the secret of that registration
(``api/webhook_registry.py``, made by ``POST /webhook-registrations`` or
``okr webhook create``), else 401 and nothing is recorded. The organization
is the registration's, never anything in the request. The payload is
adapted by ``consumers.trackers`` (whose ``event_id`` is a digest of the
signed body, so a replay under another delivery id changes nothing); the
event is then published to Kafka when ``OKR_KAFKA_BOOTSTRAP`` is set (202:
the consumer applies it), else applied in-process (200, with what it did).

Answers are chosen for trackers, which retry a delivery that fails and
disable a hook that keeps failing (SPEC §16): a 5xx (database or broker
unavailable) is retried; a correctly signed delivery whose event, action,
state or hook kind is not mapped is acknowledged with 202 and ignored with
its reason; only a bad signature (401) or a body that is not the tracker's
JSON (400) is refused; the same delivery twice changes nothing (idempotent
by ``event_id``). Every correctly signed delivery is written to the
registration's delivery log (``api/webhook_deliveries.py``) with what became
of it. The registration's mapping is passed to the adapter.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections.abc import Mapping
from typing import Annotated, Any, Final, Literal
from uuid import UUID

from fastapi import APIRouter, FastAPI, Path, Request
from fastapi.responses import JSONResponse
from kafka.errors import KafkaError  # type: ignore[import-untyped]
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from api.deps import RuntimeDep
from api.errors import ApiError, ErrorResponse
from api.ports import Runtime
from api.webhook_deliveries import Outcome
from api.webhook_project_items import RegistrationItems
from api.webhook_registry import WebhookRegistration
from commands.actor import Actor
from commands.issue_event import IssueEvent
from consumers.issue_event import InvalidIssueEvent
from consumers.publisher import IssueEventPublisher
from consumers.store_errors import DATABASE_UNAVAILABLE
from consumers.trackers import (
    TrackerAdapter,
    UnknownTracker,
    UnsupportedPayload,
    adapt,
    get_adapter,
    github,
)
from consumers.trackers.describe import describe_delivery
from domain.values import TokenRole

__all__ = ["close_webhook_publisher", "router"]

router = APIRouter(prefix="/webhooks", tags=["webhooks"])

log = logging.getLogger(__name__)


LINEAR_MAX_AGE_SECONDS: Final = 60.0
"""Linear's advice: refuse a signed delivery whose ``webhookTimestamp`` is further
off than a minute, so a captured delivery cannot be replayed later."""


class WebhookApplied(BaseModel):
    """Applied in-process (no Kafka configured)."""

    event_id: str
    issue_id: UUID
    duplicate: bool = Field(description="this event_id was applied before: nothing changed")
    applied: bool = Field(description="false for a duplicate or an event older than the last one")
    position: int = Field(description="log position; pass as ?min_position= to read it back")


class WebhookPublished(BaseModel):
    """Published to Kafka; the consumer applies it."""

    event_id: str
    published: Literal[True] = True


class WebhookIgnored(BaseModel):
    """A genuine delivery that is not an issue status event (a push, a comment, a deletion)."""

    ignored: str = Field(description="why it was ignored")


_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorResponse, "description": "the body is not the tracker's JSON"},
    401: {"model": ErrorResponse, "description": "signature missing or wrong"},
    404: {
        "model": ErrorResponse,
        "description": "no such registration for this tracker, or no such tracker",
    },
    413: {"model": ErrorResponse, "description": "payload too large"},
    503: {"model": ErrorResponse, "description": "database or Kafka unavailable: retry"},
}

_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": WebhookApplied, "description": "applied in-process (no Kafka configured)"},
    202: {
        "model": WebhookPublished | WebhookIgnored,
        "description": "published to Kafka, or acknowledged and ignored",
    },
    **_ERRORS,
}

_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "the tracker's own webhook payload, byte for byte as it sent it",
        "content": {
            "application/json": {"schema": {"type": "object", "additionalProperties": True}}
        },
    }
}


@router.post(
    "/{tracker}/{registration_id}",
    response_model=WebhookApplied,
    responses=_RESPONSES,
    openapi_extra=_BODY,
    summary="Receive a tracker webhook",
)
async def receive_webhook(
    request: Request,
    runtime: RuntimeDep,
    tracker: Annotated[str, Path(description="github, gitlab, jira, linear or azure_devops")],
    registration_id: Annotated[
        str, Path(description="the id `POST /v1/webhook-registrations` answered")
    ],
) -> JSONResponse:
    """Signed with the registration's secret: GitHub ``X-Hub-Signature-256``,
    GitLab ``X-Gitlab-Token``, Jira ``X-Hub-Signature``, Linear
    ``Linear-Signature`` (and a ``webhookTimestamp`` within a minute)."""
    try:
        adapter = get_adapter(tracker)
    except UnknownTracker as error:
        raise ApiError(404, str(error)) from None
    try:
        registration = await run_in_threadpool(runtime.webhooks.get, registration_id)
    except DATABASE_UNAVAILABLE:
        raise ApiError(503, "the database is unavailable; retry the delivery") from None
    if registration is None or registration.tracker != adapter.name:
        raise ApiError(404, f"no {adapter.name} webhook registration {registration_id[:64]!r}")

    # Its size is already bounded by OKR_MAX_WEBHOOK_BODY_BYTES (api/body_limit.py),
    # counted while it was read.
    body = await request.body()
    headers = request.headers
    # Before the body is parsed: an unsigned caller costs one HMAC, nothing more,
    # and is not logged (anyone could fill the log).
    if not adapter.verify(body, headers, registration.secret):
        raise ApiError(401, f"the {adapter.name} signature is missing or does not match")
    return await run_in_threadpool(
        _receive, request.app, runtime, adapter, registration, body, dict(headers)
    )


def _receive(
    app: FastAPI,
    runtime: Runtime,
    adapter: TrackerAdapter,
    registration: WebhookRegistration,
    body: bytes,
    headers: Mapping[str, str],
) -> JSONResponse:
    """A correctly signed delivery: adapt, apply or publish, and log what became of it."""
    delivery = _Delivery(runtime, registration, headers)
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        delivery.log(Outcome.REJECTED_BAD_BODY, reason="the body is not valid JSON")
        raise ApiError(400, "the body is not valid JSON") from None
    delivery.describe(adapter.name, payload)
    if not isinstance(payload, dict):
        reason = f"the body must be a JSON object, not {type(payload).__name__}"
        delivery.log(Outcome.REJECTED_BAD_BODY, reason=reason)
        raise ApiError(400, reason)
    if adapter.name == "linear":
        try:
            _refuse_stale_linear_delivery(payload)
        except ApiError as stale:
            delivery.log(Outcome.REJECTED_STALE, reason=stale.message)
            raise

    items = runtime.webhooks.project_items.of(registration.registration_id)
    _learn_github_issue(adapter, payload, items)
    try:
        # The one conversion (consumers.trackers.adapt), with the registration's mapping.
        event = adapt(adapter.name, payload, headers, registration.tracker_mapping, items)
    except UnsupportedPayload as ignored:
        delivery.log(Outcome.IGNORED, reason=str(ignored))
        return _answer(202, WebhookIgnored(ignored=str(ignored)))
    except InvalidIssueEvent as invalid:
        delivery.log(Outcome.REJECTED_BAD_BODY, reason=invalid.reason)
        raise ApiError(400, invalid.reason) from None
    except DATABASE_UNAVAILABLE:
        raise ApiError(503, "the database is unavailable; retry the delivery") from None
    _remember_column(adapter, payload, event, items)

    organization = registration.organization_id
    if runtime.settings.kafka_bootstrap:
        _publish(app, runtime, event, organization)
        delivery.log(Outcome.PUBLISHED, event=event)
        return _answer(202, WebhookPublished(event_id=event.event_id))
    applied = _apply(runtime, adapter, event, organization)
    outcome = (
        Outcome.DUPLICATE
        if applied.duplicate
        else Outcome.APPLIED
        if applied.applied
        else Outcome.LATE
    )
    delivery.log(outcome, event=event)
    return _answer(200, applied)


class _Delivery:
    """One delivery's line in its registration's log; a log that cannot be
    written never fails the delivery (it was applied, or will be retried)."""

    def __init__(
        self, runtime: Runtime, registration: WebhookRegistration, headers: Mapping[str, str]
    ) -> None:
        self.runtime = runtime
        self.registration = registration
        self.kind, self.action = describe_delivery(registration.tracker, None, headers)

    def describe(self, tracker: str, payload: Any) -> None:
        kind, action = describe_delivery(tracker, payload, {})
        self.kind, self.action = kind or self.kind, action or self.action

    def log(
        self, outcome: Outcome, *, reason: str | None = None, event: IssueEvent | None = None
    ) -> None:
        try:
            self.runtime.webhooks.deliveries.record(
                self.registration.registration_id,
                outcome,
                tracker_event=self.kind,
                action=self.action,
                reason=reason,
                event_id=None if event is None else event.event_id,
                issue_key=None if event is None else event.issue_key,
            )
        except DATABASE_UNAVAILABLE as error:
            log.warning(
                "webhook delivery log not written (%s): %s", type(error).__name__, outcome.value
            )


def _learn_github_issue(
    adapter: TrackerAdapter, payload: dict[str, Any], items: RegistrationItems
) -> None:
    """Remember the node id of the issue a GitHub issues delivery names, mapped or
    not (``api/webhook_project_items``): a later board move finds its issue."""
    if adapter.name != github.TRACKER:
        return
    learned = github.issue_node(payload)
    if learned is None:
        return
    try:
        items.learn_issue(*learned)
    except DATABASE_UNAVAILABLE:
        raise ApiError(503, "the database is unavailable; retry the delivery") from None


def _remember_column(
    adapter: TrackerAdapter, payload: dict[str, Any], event: IssueEvent, items: RegistrationItems
) -> None:
    """The status a board move gave the issue, for its later issues deliveries."""
    node = github.project_item_node(payload) if adapter.name == github.TRACKER else None
    if node is None:
        return
    try:
        items.remember_column(node, event.status)
    except DATABASE_UNAVAILABLE:
        raise ApiError(503, "the database is unavailable; retry the delivery") from None


def _answer(status: int, body: BaseModel) -> JSONResponse:
    return JSONResponse(status_code=status, content=body.model_dump(mode="json"))


def _refuse_stale_linear_delivery(payload: dict[str, Any]) -> None:
    sent = payload.get("webhookTimestamp")
    if isinstance(sent, bool) or not isinstance(sent, int | float):
        raise ApiError(401, "linear: a signed delivery needs a numeric webhookTimestamp")
    try:
        off = abs(time.time() - sent / 1000)
    except OverflowError:  # an integer beyond any float
        off = math.inf
    # "not <=" so that NaN (json.loads reads it) is refused too.
    if not off <= LINEAR_MAX_AGE_SECONDS:
        raise ApiError(401, "linear: webhookTimestamp is more than a minute off (replay?)")


def _apply(
    runtime: Runtime, adapter: TrackerAdapter, event: IssueEvent, organization: str
) -> WebhookApplied:
    actor = Actor(organization, f"webhook:{adapter.name}", TokenRole.INTEGRATION)
    try:
        (outcome,) = runtime.app.apply_issue_events(actor, [event])
    except DATABASE_UNAVAILABLE:
        raise ApiError(503, "the event store is unavailable; retry the delivery") from None
    return WebhookApplied(
        event_id=event.event_id,
        issue_id=outcome.issue_id,
        duplicate=outcome.duplicate,
        applied=outcome.applied,
        position=outcome.position,
    )


# One producer per application, made on first use: a producer holds
# connections and a sender thread, too costly to make per request.
_PUBLISHER_LOCK = threading.Lock()


def _publish(app: FastAPI, runtime: Runtime, event: IssueEvent, organization: str) -> None:
    settings = runtime.settings
    assert settings.kafka_bootstrap is not None
    try:
        with _PUBLISHER_LOCK:
            publisher: IssueEventPublisher | None = getattr(
                app.state, "issue_event_publisher", None
            )
            if publisher is None:
                publisher = IssueEventPublisher(settings.kafka_bootstrap, settings.kafka_topic)
                app.state.issue_event_publisher = publisher
        publisher.publish(event, organization)
    except KafkaError as error:
        raise ApiError(
            503, f"Kafka is unavailable ({type(error).__name__}); retry the delivery"
        ) from None


def close_webhook_publisher(app: FastAPI) -> None:
    """Flush and close the producer, if a webhook made one (call on shutdown)."""
    with _PUBLISHER_LOCK:
        publisher: IssueEventPublisher | None = getattr(app.state, "issue_event_publisher", None)
        app.state.issue_event_publisher = None
    if publisher is not None:
        publisher.close()
