"""GitLab issue and work-item hooks: payload → ``IssueEvent``, and the token check.

This module owns how a GitLab issue (classic ``Issue Hook``, confidential
issues, and the newer work items: tasks, incidents, …) reads as a canonical
status, and how a GitLab delivery is authenticated. See ``docs/trackers.md``.

Status, most specific source first (table: ``docs/trackers.md``, GitLab):

1. closed as moved (``moved_to_id``) or as a duplicate (``duplicated_to_id``)
   → ``cancelled``: the work goes on elsewhere, it is not done here (SPEC §16);
2. the registration's ``statuses`` mapping, by the work item's status name
   or category (``object_attributes.status``);
3. the status category (work items with configurable statuses):
   ``triage``/``to_do`` → ``todo``, ``in_progress`` → ``in_progress``,
   ``done`` → ``done``, ``canceled`` → ``cancelled``;
4. ``object_attributes.state``: ``closed`` → ``done``; ``opened`` (and the
   old ``reopened``) → the registration's mapped labels (scoped
   ``workflow::…`` labels), else ``in_progress`` for an "in progress" label,
   else ``todo``. A state GitLab adds later is ignored, never refused.

Estimate: ``weight``; ``null`` is cleared in GitLab, a hook without the key
says nothing of it. Group hooks' work items without a project (epics) and
every other ``object_kind`` are ignored with the reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from consumers.issue_event import InvalidIssueEvent, IssueEstimate, IssueEvent, IssueStatusName
from consumers.trackers._common import (
    KEEP_ESTIMATE,
    UnsupportedPayload,
    as_int,
    as_mapping,
    as_text,
    build_event,
    dig,
    first_time,
    has_in_progress_label,
    header,
    require_int,
    require_text,
    signature_matches,
    signed_content_id,
    to_estimate,
    to_utc,
)
from consumers.trackers.labels import status_by_labels
from consumers.trackers.mapping import DEFAULT_MAPPING, TrackerMapping
from consumers.trackers.status_names import mapped_status

__all__ = ["TRACKER", "adapt", "verify"]

TRACKER: Final = "gitlab"

_ISSUE_KINDS: Final = frozenset({"issue", "work_item"})

_CATEGORY_STATUS: Final[Mapping[str, IssueStatusName]] = {
    "triage": "todo",
    "to_do": "todo",
    "in_progress": "in_progress",
    "done": "done",
    "canceled": "cancelled",
    "cancelled": "cancelled",
}


def _label_names(payload: Mapping[str, Any], attributes: Mapping[str, Any]) -> list[str]:
    # Newer hooks put labels both at the top level and in object_attributes;
    # older ones have neither. Read both, duplicates are harmless.
    names = []
    for labels in (payload.get("labels"), attributes.get("labels")):
        if isinstance(labels, list):
            for label in labels:
                title = as_text(label.get("title")) if isinstance(label, Mapping) else None
                if title is not None:
                    names.append(title)
    return names


def _status(
    payload: Mapping[str, Any], attributes: Mapping[str, Any], mapping: TrackerMapping
) -> tuple[IssueStatusName, str]:
    """``(canonical status, raw status)``; ``UnsupportedPayload`` for a state never seen."""
    state = require_text(TRACKER, attributes.get("state"), "object_attributes.state")
    normalised = state.lower()
    if normalised == "closed":
        if as_int(attributes.get("moved_to_id")) is not None:
            return "cancelled", "moved"
        if as_int(attributes.get("duplicated_to_id")) is not None:
            return "cancelled", "duplicate"

    work_item_status = as_mapping(attributes.get("status"))
    name = as_text(dig(work_item_status, "name"))
    category = as_text(dig(work_item_status, "category"))
    mapped = mapped_status(mapping, name, category)
    if mapped is not None:
        return mapped, name or category or state
    if category is not None:
        by_category = _CATEGORY_STATUS.get(category.lower())
        if by_category is not None:
            return by_category, name or category
        # An unknown category (GitLab may add one) falls through to the state.

    labels = _label_names(payload, attributes)
    by_label = status_by_labels(labels, mapping)
    if normalised == "closed":
        # A label the registration maps to cancelled ("won't do") still counts.
        return ("cancelled" if by_label == "cancelled" else "done"), state
    if normalised in ("opened", "reopened"):
        if by_label is not None:
            return by_label, state
        return ("in_progress" if has_in_progress_label(labels) else "todo"), state
    raise UnsupportedPayload(f"gitlab: object_attributes.state {state[:64]!r} is not mapped")


def _estimate(attributes: Mapping[str, Any]) -> IssueEstimate:
    if "weight" not in attributes:
        return KEEP_ESTIMATE
    weight = attributes.get("weight")
    if weight is None:
        return None  # cleared in GitLab
    number = to_estimate(weight)
    return KEEP_ESTIMATE if number is None else number


def adapt(
    payload: Mapping[str, Any],
    headers: Mapping[str, str],
    mapping: TrackerMapping = DEFAULT_MAPPING,
) -> IssueEvent:
    """The canonical event for one GitLab issue or work-item hook.

    Raises ``UnsupportedPayload`` (ignored, with the reason) for any other
    hook (push, merge request, note, …), for a group's work item without a
    project (an epic) and for a state GitLab adds later; ``InvalidIssueEvent``
    for an issue hook missing what every issue hook has.
    """
    if not isinstance(payload, Mapping):
        raise InvalidIssueEvent("gitlab: payload is not a JSON object")
    # object_kind, not the X-Gitlab-Event header: the header names differ
    # between GitLab versions ("Issue Hook", "Confidential Issue Hook", work
    # items) while object_kind has been stable since the first issue hook.
    kind = as_text(payload.get("object_kind"))
    if kind not in _ISSUE_KINDS:
        shown = kind[:64] if kind is not None else None
        raise UnsupportedPayload(f"gitlab: object_kind {shown!r} is not an issue")
    attributes = as_mapping(payload.get("object_attributes"))
    if attributes is None:
        raise InvalidIssueEvent("gitlab: object_attributes is missing")
    if payload.get("project") is None:
        kind_name = as_text(attributes.get("type")) or kind
        raise UnsupportedPayload(
            f"gitlab: a group's {kind_name[:64]} has no project (group hook): not tracked"
        )

    project = require_text(
        TRACKER, dig(payload, "project", "path_with_namespace"), "project.path_with_namespace"
    )
    iid = require_int(TRACKER, attributes.get("iid"), "object_attributes.iid")
    status, raw_status = _status(payload, attributes, mapping)
    occurred_at = first_time(
        TRACKER,
        [
            ("object_attributes.updated_at", attributes.get("updated_at"), to_utc),
            ("object_attributes.closed_at", attributes.get("closed_at"), to_utc),
            ("object_attributes.created_at", attributes.get("created_at"), to_utc),
        ],
    )
    return build_event(
        # Not the Idempotency-Key / X-Gitlab-*-UUID headers: nothing binds
        # them to the body (SPEC §9), so the body's digest names the event.
        event_id=signed_content_id(TRACKER, payload),
        tracker=TRACKER,
        issue_key=f"{project}#{iid}",
        status=status,
        raw_status=raw_status,
        occurred_at=occurred_at,
        title=as_text(attributes.get("title")),
        url=as_text(attributes.get("url")),
        estimate=_estimate(attributes),
    )


def verify(body: bytes, headers: Mapping[str, str], secret: str) -> bool:
    """Whether ``X-Gitlab-Token`` equals the configured secret (constant time).

    GitLab does not sign the body; the token is a shared secret sent as is.
    ``body`` is unused and kept for the common signature. An empty ``secret``
    never verifies.
    """
    del body
    if not secret:
        return False
    return signature_matches(secret, header(headers, "X-Gitlab-Token"))
