"""Azure DevOps Boards service hooks: payload → ``IssueEvent``, and the secret check.

This module owns how an Azure DevOps work item event reads as a canonical
issue event, and how a delivery is authenticated. See ``docs/trackers.md``.

Events (``eventType``): ``workitem.created``, ``workitem.updated`` and
``workitem.restored`` carry the work item's state; ``workitem.deleted``
moves it to the recycle bin, from where it can be restored, so it is
``cancelled`` (raw status "deleted") until a ``workitem.restored`` brings
its state back. ``workitem.commented`` and every other event (builds,
releases, pipelines, pushes, pull requests…) are ignored with their reason.
A body without ``eventType`` is not an Azure DevOps service hook
(``InvalidIssueEvent``).

Status: ``System.State`` read through ``azure_devops_states`` (the
registration's mapping, else the shipped processes' state categories).

The work item: in ``workitem.updated`` the resource is the *update*
(``resource.id`` is the update's number), the work item id is
``resource.workItemId`` (0 in Microsoft's own sample) else
``resource.revision.id``; the changed fields are
``resource.fields[name] = {oldValue, newValue}`` and the whole item is
``resource.revision.fields``. In the other events the resource is the work
item itself. The issue key is the work item id alone ("42"): ids are unique
in an organization and survive a move to another project.

Estimate: ``Microsoft.VSTS.Scheduling.StoryPoints`` (Agile),
``…Effort`` (Scrum, Basic), ``…Size`` (CMMI), or the registration's
``estimate_field``. A change whose ``newValue`` is missing or null is
"cleared"; no change says the current value, if any, else nothing.

Authentication: service hooks sign nothing; a Web Hooks subscription can
send basic authentication or extra HTTP headers. The registration's secret
goes either as the basic authentication *password* (any user name) or as
the header ``X-Webhook-Secret``; both are compared in constant time.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from typing import Any, Final, Literal

from consumers.issue_event import InvalidIssueEvent, IssueEvent, IssueStatusName
from consumers.trackers._common import (
    KEEP_ESTIMATE,
    EstimateSaid,
    UnsupportedPayload,
    as_int,
    as_mapping,
    as_text,
    build_event,
    dig,
    first_time,
    header,
    signature_matches,
    signed_content_id,
    to_estimate,
    to_utc,
)
from consumers.trackers.azure_devops_states import status_of
from consumers.trackers.mapping import DEFAULT_MAPPING, TrackerMapping

__all__ = ["ESTIMATE_FIELDS", "SECRET_HEADER", "TRACKER", "adapt", "estimate_said", "verify"]

TRACKER: Final = "azure_devops"

SECRET_HEADER: Final = "X-Webhook-Secret"
"""The header a subscription can send the secret in, instead of basic authentication."""

_STATE_EVENTS: Final = frozenset({"workitem.created", "workitem.updated", "workitem.restored"})
_DELETED: Final = "workitem.deleted"

ESTIMATE_FIELDS: Final = (
    "Microsoft.VSTS.Scheduling.StoryPoints",
    "Microsoft.VSTS.Scheduling.Effort",
    "Microsoft.VSTS.Scheduling.Size",
)
"""Where the shipped processes keep a work item's estimate, first found wins."""

# Why each family of other events is ignored (the first matching prefix).
_IGNORED_EVENTS: Final = (
    ("workitem.commented", "a comment does not change a work item's state"),
    ("workitem.", "this work item event carries no state change"),
    ("build.", "builds carry no work item state"),
    ("ms.vss-release.", "releases carry no work item state"),
    ("ms.azure-devops-release.", "releases carry no work item state"),
    ("ms.vss-pipelines.", "pipeline runs carry no work item state"),
    ("run.", "pipeline runs carry no work item state"),
    ("git.", "code events carry no work item state"),
    ("tfvc.", "code events carry no work item state"),
    ("ms.vss-code.", "code events carry no work item state"),
    ("ms.vss-alerts.", "security alerts carry no work item state"),
)

# A subscription set to send "Minimal" or no resource details delivers work
# item events without their fields: genuine, but nothing to read (SPEC §16:
# acknowledged and ignored, with what to change).
_DETAILS_HINT: Final = " (set the subscription's 'Resource details to send' to All)"

_REST_ITEM = re.compile(r"^(https?://.+?)/_apis/wit/(?:workItems|recyclebin)/(\d+)", re.I)

Estimate = float | Literal[EstimateSaid.NOTHING] | None


class _WorkItem:
    """Field reads over one resource, whether it is the work item or an update of it."""

    def __init__(self, resource: Mapping[str, Any], is_update: bool) -> None:
        self.resource = resource
        self.is_update = is_update
        fields = as_mapping(resource.get("fields")) or {}
        self.changes = fields if is_update else {}
        revision = as_mapping(resource.get("revision")) or {}
        self.current = (as_mapping(revision.get("fields")) or {}) if is_update else fields
        self.revision = revision

    def changed(self, name: str) -> Mapping[str, Any] | None:
        """The ``{oldValue, newValue}`` of a field this update changed, else ``None``."""
        return as_mapping(self.changes.get(name))

    def value(self, name: str) -> Any:
        """The field's value after this event: the change's new value, else the item's."""
        change = self.changed(name)
        if change is not None and "newValue" in change:
            return change["newValue"]
        return self.current.get(name)

    def work_item_id(self) -> int | None:
        candidates = (
            (self.resource.get("workItemId"), self.revision.get("id"))
            if self.is_update
            else (self.resource.get("id"),)
        )
        for candidate in candidates:
            number = as_int(candidate)
            if number is not None and number > 0:
                return number
        return None

    def url(self, work_item_id: int) -> str | None:
        for links in (self.resource.get("_links"), self.revision.get("_links")):
            html = as_text(dig(links, "html", "href"))
            if html is not None:
                return html
        # Else the REST URL's base: …/_apis/wit/workItems/5 → …/_workitems/edit/5.
        for rest in (
            as_text(dig(self.resource, "_links", "parent", "href")),
            as_text(self.revision.get("url")),
            as_text(self.resource.get("url")),
        ):
            match = _REST_ITEM.match(rest or "")
            if match is not None and match.group(2) == str(work_item_id):
                return f"{match.group(1)}/_workitems/edit/{work_item_id}"
        return None


def estimate_said(
    payload: Mapping[str, Any], mapping: TrackerMapping = DEFAULT_MAPPING
) -> Estimate:
    """What this delivery says of the estimate: a number, cleared (``None``) or nothing."""
    resource = as_mapping(payload.get("resource")) or {}
    return _estimate(_WorkItem(resource, payload.get("eventType") == "workitem.updated"), mapping)


def _estimate(item: _WorkItem, mapping: TrackerMapping) -> Estimate:
    configured = as_text(mapping.estimate_field)
    names = (configured.strip(),) if configured is not None else ESTIMATE_FIELDS
    for name in names:
        change = item.changed(name)
        if change is not None:
            new = change.get("newValue")
            if new is None:
                return None  # the field was emptied: cleared in Azure DevOps
            number = to_estimate(new)
            return number if number is not None else KEEP_ESTIMATE
    for name in names:
        number = to_estimate(item.current.get(name))
        if number is not None:
            return number
    return KEEP_ESTIMATE


def _state(
    event: str, item: _WorkItem, mapping: TrackerMapping
) -> tuple[IssueStatusName, str, Estimate]:
    """``(status, raw status, estimate)`` of the work item after ``event``."""
    if event == _DELETED:
        return "cancelled", "deleted", KEEP_ESTIMATE
    state = as_text(item.value("System.State"))
    if state is None:
        raise UnsupportedPayload(f"azure_devops: {event} carries no System.State{_DETAILS_HINT}")
    status = status_of(state, as_text(item.value("System.Reason")), mapping)
    if status is None:
        raise UnsupportedPayload(
            f"azure_devops: state {state!r} is not a state of the shipped processes"
            " (map it in the registration)"
        )
    return status, state, _estimate(item, mapping)


def _ignored_reason(event: str) -> str:
    for prefix, why in _IGNORED_EVENTS:
        if event.startswith(prefix):
            return f"azure_devops: {event}: {why}"
    return f"azure_devops: eventType {event!r} is not a work item state event"


def adapt(
    payload: Mapping[str, Any],
    headers: Mapping[str, str],
    mapping: TrackerMapping = DEFAULT_MAPPING,
) -> IssueEvent:
    """The canonical event for one work item service hook delivery.

    Raises ``UnsupportedPayload`` (with why) for events that carry no state,
    for a subscription sending no work item fields, and for a state nobody
    mapped; ``InvalidIssueEvent`` only for a body that is not a service hook
    delivery at all.
    """
    if not isinstance(payload, Mapping):
        raise InvalidIssueEvent("azure_devops: the body is not a JSON object")
    event = as_text(payload.get("eventType"))
    if event is None:
        raise InvalidIssueEvent("azure_devops: no eventType: not a service hook delivery")
    if event not in _STATE_EVENTS and event != _DELETED:
        raise UnsupportedPayload(_ignored_reason(event))
    resource = as_mapping(payload.get("resource"))
    if resource is None:
        raise UnsupportedPayload(f"azure_devops: {event} carries no resource{_DETAILS_HINT}")
    item = _WorkItem(resource, is_update=event == "workitem.updated")
    work_item_id = item.work_item_id()
    if work_item_id is None:
        raise UnsupportedPayload(f"azure_devops: {event} names no work item id{_DETAILS_HINT}")

    status, raw_status, estimate = _state(event, item, mapping)
    changed_at = ("System.ChangedDate", item.value("System.ChangedDate"), to_utc)
    notified_at = ("createdDate", payload.get("createdDate"), to_utc)
    # A deletion or a restore does not move System.ChangedDate: the time the
    # service hook raised the event is when it happened.
    edited = event in ("workitem.created", "workitem.updated")
    times = [changed_at, notified_at] if edited else [notified_at, changed_at]
    return build_event(
        # Service hooks sign nothing and their delivery id is not secret-bound
        # (SPEC §9): the authenticated body's digest names the event.
        event_id=signed_content_id(TRACKER, payload),
        tracker=TRACKER,
        issue_key=str(work_item_id),
        status=status,
        raw_status=raw_status,
        occurred_at=first_time(TRACKER, times),
        title=as_text(item.value("System.Title")),
        url=item.url(work_item_id),
        estimate=estimate,
    )


def _basic_password(value: str | None) -> str | None:
    if value is None:
        return None
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != "basic" or not token:
        return None
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    _, colon, password = decoded.partition(":")
    return password if colon else None


def verify(body: bytes, headers: Mapping[str, str], secret: str) -> bool:
    """Whether the delivery carries the registration's secret.

    Either as the password of ``Authorization: Basic …`` (the user name is
    not checked: Azure DevOps requires one, it means nothing here) or as
    ``X-Webhook-Secret``. Constant-time; an empty secret never verifies. The
    body is not covered (service hooks sign nothing): use HTTPS.
    """
    if not secret:
        return False
    by_basic = signature_matches(secret, _basic_password(header(headers, "Authorization")))
    by_header = signature_matches(secret, header(headers, SECRET_HEADER))
    return by_basic or by_header
