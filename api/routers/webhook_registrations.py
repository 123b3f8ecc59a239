"""Webhook registrations (SPEC §9): an admin gives a tracker a URL and a secret.

``POST /webhook-registrations`` answers the registration's delivery URL and
its secret, shown there and on rotation only. Listing, reading, rotating,
changing the mapping, reading the delivery log and deleting are for the
organization's admins; another organization's registration is not found
(404), whoever asks.

A registration's ``mapping`` (SPEC §16) says how its tracker's labels,
status names or categories and Projects columns read as statuses, and where
the estimate is; its rules are ``consumers.trackers.mapping``'s (a bad one is
422). ``GET /webhook-registrations/{id}/deliveries`` is its delivery log,
newest first (``api/webhook_deliveries.py``).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field, field_validator

from api.deps import ActorDep, RuntimeDep
from api.errors import ApiError, ErrorResponse
from api.paging import PageDep, next_cursor
from api.schemas import RequestModel
from api.webhook_deliveries import Delivery, check_delivery_position
from api.webhook_registry import (
    BadCursor,
    WebhookRegistration,
    WebhookRegistry,
    check_position,
)
from commands.actor import Actor
from commands.authorization import require_admin
from consumers.trackers import UnknownTracker, get_adapter
from consumers.trackers.mapping import mapping_from_json

__all__ = ["router"]

router = APIRouter(prefix="/webhook-registrations", tags=["webhooks"])

ERRORS: dict[int | str, dict[str, Any]] = {
    s: {"model": ErrorResponse} for s in (400, 401, 403, 404, 409, 422)
}

_LIST = "webhook-registrations"
_DELIVERIES = "webhook-deliveries"

_MAPPING_DESCRIPTION = (
    "how this tracker's words read (SPEC §16), every key optional:"
    " `labels` {label: status}, `statuses` {status name or category: status},"
    " `columns` {GitHub Projects Status option: status}, `estimate_field`"
    " (Jira story-points field id, Azure DevOps field), `estimate_labels`"
    ' [patterns with {n}, e.g. "points: {n}"]; statuses are todo, in_progress,'
    " done, cancelled; at most 100 names of 100 characters per object, 10 patterns"
)


def _checked_mapping(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is not None:
        mapping_from_json(value)  # InvalidMapping (a ValueError): 422 naming the rule
    return value


class RegisterWebhook(RequestModel):
    tracker: str = Field(max_length=32, description="github, gitlab, jira, linear or azure_devops")
    mapping: dict[str, Any] | None = Field(default=None, description=_MAPPING_DESCRIPTION)

    @field_validator("mapping")
    @classmethod
    def _valid_mapping(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        return _checked_mapping(value)

    @field_validator("tracker")
    @classmethod
    def _known_tracker(cls, value: str) -> str:
        try:
            return get_adapter(value).name
        except UnknownTracker as error:
            raise ValueError(str(error)) from None


class ChangeMapping(RequestModel):
    mapping: dict[str, Any] | None = Field(description=_MAPPING_DESCRIPTION + "; null: none")

    @field_validator("mapping")
    @classmethod
    def _valid_mapping(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        return _checked_mapping(value)


class DeliveryOut(BaseModel):
    """One correctly signed delivery; no payload is kept (it may hold personal data)."""

    id: str
    received_at: str
    tracker_event: str | None = Field(description="the tracker's event kind (issues, issue, …)")
    action: str | None = Field(description="the tracker's action (closed, update, …)")
    outcome: str = Field(
        description="applied | late | duplicate | published | ignored | rejected-bad-body"
        " | rejected-stale"
    )
    reason: str | None = Field(description="why it was ignored or refused")
    event_id: str | None = Field(description="the canonical event id, when it had one")
    issue_key: str | None

    @classmethod
    def of(cls, delivery: Delivery) -> DeliveryOut:
        return cls(
            id=delivery.delivery_id,
            received_at=delivery.received_at,
            tracker_event=delivery.tracker_event,
            action=delivery.action,
            outcome=delivery.outcome,
            reason=delivery.reason,
            event_id=delivery.event_id,
            issue_key=delivery.issue_key,
        )


class DeliveryList(BaseModel):
    deliveries: list[DeliveryOut]
    next_cursor: str | None = Field(description="pass as ?cursor= for older ones; null: end")


class WebhookRegistrationOut(BaseModel):
    """A registration as listed: never its secret."""

    id: str
    tracker: str
    url: str = Field(description="the path the tracker posts to: /v1/webhooks/{tracker}/{id}")
    mapping: dict[str, Any] | None
    created_at: str
    rotated_at: str | None

    @classmethod
    def of(cls, registration: WebhookRegistration) -> WebhookRegistrationOut:
        return cls(
            id=registration.registration_id,
            tracker=registration.tracker,
            url=registration.url,
            mapping=registration.mapping,
            created_at=registration.created_at,
            rotated_at=registration.rotated_at,
        )


class WebhookSecretOut(BaseModel):
    """The answer to create and rotate: the only time the secret is shown."""

    id: str
    tracker: str
    url: str = Field(description="the path the tracker posts to: /v1/webhooks/{tracker}/{id}")
    secret: str = Field(description="configure it in the tracker; it is not shown again")

    @classmethod
    def of(cls, registration: WebhookRegistration) -> WebhookSecretOut:
        return cls(
            id=registration.registration_id,
            tracker=registration.tracker,
            url=registration.url,
            secret=registration.secret,
        )


class WebhookRegistrationList(BaseModel):
    registrations: list[WebhookRegistrationOut]
    next_cursor: str | None = Field(description="pass as ?cursor= for the next page; null: end")


def _admin(actor: Actor) -> Actor:
    require_admin(actor, "manage webhook registrations")
    return actor


def _not_found(registration_id: str) -> ApiError:
    return ApiError(404, f"webhook registration {registration_id[:64]!r} not found")


@router.post("", status_code=201, response_model=WebhookSecretOut, responses=ERRORS)
def register_webhook(
    body: RegisterWebhook, actor: ActorDep, runtime: RuntimeDep
) -> WebhookSecretOut:
    """Admin only. The secret in the answer is shown this once."""
    _admin(actor)
    registry: WebhookRegistry = runtime.webhooks
    most = runtime.settings.webhook_registrations_per_organization
    if registry.count(actor.organization_id) >= most:
        raise ApiError(
            409,
            f"the organization already has {most} webhook registrations"
            " (OKR_WEBHOOK_REGISTRATIONS_PER_ORGANIZATION); delete one first",
            code="conflict",
        )
    try:
        registration = registry.create(actor.organization_id, body.tracker, body.mapping)
    except ValueError as error:  # a mapping too large
        raise ApiError(422, str(error), code="validation_error") from None
    return WebhookSecretOut.of(registration)


@router.get("", response_model=WebhookRegistrationList, responses=ERRORS)
def list_webhook_registrations(
    actor: ActorDep,
    runtime: RuntimeDep,
    paging: PageDep,
) -> WebhookRegistrationList:
    """Admin only. Oldest first; secrets are never listed."""
    _admin(actor)
    scope = actor.organization_id
    after = paging.after(_LIST, scope)
    try:
        page = runtime.webhooks.page(
            scope, paging.limit, None if after is None else check_position(after)
        )
    except BadCursor as error:
        raise ApiError(422, str(error), code="validation_error") from None
    return WebhookRegistrationList(
        registrations=[WebhookRegistrationOut.of(r) for r in page.registrations],
        next_cursor=next_cursor(_LIST, scope, None if page.last is None else list(page.last)),
    )


@router.get("/{registration_id}", response_model=WebhookRegistrationOut, responses=ERRORS)
def read_webhook_registration(
    registration_id: str, actor: ActorDep, runtime: RuntimeDep
) -> WebhookRegistrationOut:
    """Admin only. Without the secret."""
    _admin(actor)
    registration = runtime.webhooks.get(registration_id, actor.organization_id)
    if registration is None:
        raise _not_found(registration_id)
    return WebhookRegistrationOut.of(registration)


@router.post("/{registration_id}/rotate", response_model=WebhookSecretOut, responses=ERRORS)
def rotate_webhook_secret(
    registration_id: str, actor: ActorDep, runtime: RuntimeDep
) -> WebhookSecretOut:
    """Admin only. A new secret, shown this once; the old one stops working at once."""
    _admin(actor)
    registration = runtime.webhooks.rotate(registration_id, actor.organization_id)
    if registration is None:
        raise _not_found(registration_id)
    return WebhookSecretOut.of(registration)


@router.put("/{registration_id}/mapping", response_model=WebhookRegistrationOut, responses=ERRORS)
def change_webhook_mapping(
    registration_id: str, body: ChangeMapping, actor: ActorDep, runtime: RuntimeDep
) -> WebhookRegistrationOut:
    """Admin only. The next delivery is read with the new mapping."""
    _admin(actor)
    try:
        registration = runtime.webhooks.set_mapping(
            registration_id, actor.organization_id, body.mapping
        )
    except ValueError as error:  # past the stored size or depth
        raise ApiError(422, str(error), code="validation_error") from None
    if registration is None:
        raise _not_found(registration_id)
    return WebhookRegistrationOut.of(registration)


@router.get("/{registration_id}/deliveries", response_model=DeliveryList, responses=ERRORS)
def list_webhook_deliveries(
    registration_id: str, actor: ActorDep, runtime: RuntimeDep, paging: PageDep
) -> DeliveryList:
    """Admin only. The registration's recent deliveries, newest first (the last 1000,
    none older than 30 days); every correctly signed delivery is here."""
    _admin(actor)
    registry: WebhookRegistry = runtime.webhooks
    if registry.get(registration_id, actor.organization_id) is None:
        raise _not_found(registration_id)
    after = paging.after(_DELIVERIES, registration_id)
    before = None
    if after is not None:
        before = check_delivery_position(after)
        if before is None:
            raise ApiError(422, "cursor: not a cursor of this list", code="validation_error")
    page = registry.deliveries.page(registration_id, paging.limit, before)
    return DeliveryList(
        deliveries=[DeliveryOut.of(d) for d in page.deliveries],
        next_cursor=next_cursor(
            _DELIVERIES, registration_id, None if page.last is None else list(page.last)
        ),
    )


@router.delete("/{registration_id}", status_code=204, responses=ERRORS)
def delete_webhook_registration(
    registration_id: str, actor: ActorDep, runtime: RuntimeDep
) -> Response:
    """Admin only. Deliveries to its URL answer 404 from now on."""
    _admin(actor)
    if not runtime.webhooks.delete(registration_id, actor.organization_id):
        raise _not_found(registration_id)
    return Response(status_code=204)
