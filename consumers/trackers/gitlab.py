"""GitLab issue and work-item hooks: payload → ``IssueEvent``, and the token check.

This module owns how a GitLab issue (classic ``Issue Hook``, confidential
issues, and the newer work items: tasks, incidents, …) reads as a canonical
status, and how a GitLab delivery is authenticated. See ``docs/trackers.md``.

Status, most specific source first:

1. ``object_attributes.status.category`` (work items with configurable
   statuses): ``triage``/``to_do`` → ``todo``, ``in_progress`` →
   ``in_progress``, ``done`` → ``done``, ``canceled`` → ``cancelled``. It is
   the only place GitLab itself says "in progress" or "won't do".
2. otherwise ``object_attributes.state``: ``closed`` → ``done``, or
   ``cancelled`` when ``duplicated_to_id`` is set (closed as a duplicate);
   ``opened`` and the old ``reopened`` → ``in_progress`` when the issue
   carries an "in progress" label (``IN_PROGRESS_LABELS``, which also reads
   scoped labels such as ``workflow::doing``), else ``todo``.

Every issue hook carries the issue as it is now, whatever the ``action``
(open, close, reopen, update), so each one is a status observation.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from consumers.issue_event import InvalidIssueEvent, IssueEvent, IssueStatusName
from consumers.trackers._common import (
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
    payload: Mapping[str, Any], attributes: Mapping[str, Any]
) -> tuple[IssueStatusName, str]:
    """``(canonical status, raw status)``."""
    work_item_status = as_mapping(attributes.get("status"))
    category = as_text(dig(work_item_status, "category"))
    if category is not None:
        mapped = _CATEGORY_STATUS.get(category.lower())
        if mapped is not None:
            raw = as_text(dig(work_item_status, "name")) or category
            return mapped, raw
        # An unknown category (GitLab may add one) falls through to the state.

    state = require_text(TRACKER, attributes.get("state"), "object_attributes.state")
    normalised = state.lower()
    if normalised == "closed":
        duplicate = as_int(attributes.get("duplicated_to_id")) is not None
        return ("cancelled" if duplicate else "done"), state
    if normalised in ("opened", "reopened"):
        started = has_in_progress_label(_label_names(payload, attributes))
        return ("in_progress" if started else "todo"), state
    raise InvalidIssueEvent(f"gitlab: unknown object_attributes.state {state!r}")


def adapt(payload: Mapping[str, Any], headers: Mapping[str, str]) -> IssueEvent:
    """The canonical event for one GitLab issue or work-item hook.

    Raises ``UnsupportedPayload`` for any other hook (push, merge request,
    note, …) and ``InvalidIssueEvent`` for an issue hook missing what the
    canonical event needs.
    """
    if not isinstance(payload, Mapping):
        raise UnsupportedPayload("gitlab: payload is not a JSON object")
    # object_kind, not the X-Gitlab-Event header: the header names differ
    # between GitLab versions ("Issue Hook", "Confidential Issue Hook", work
    # items) while object_kind has been stable since the first issue hook.
    kind = as_text(payload.get("object_kind"))
    if kind not in _ISSUE_KINDS:
        raise UnsupportedPayload(f"gitlab: object_kind {kind!r} is not an issue")
    attributes = as_mapping(payload.get("object_attributes"))
    if attributes is None:
        raise InvalidIssueEvent("gitlab: object_attributes is missing")

    project = require_text(
        TRACKER, dig(payload, "project", "path_with_namespace"), "project.path_with_namespace"
    )
    iid = require_int(TRACKER, attributes.get("iid"), "object_attributes.iid")
    status, raw_status = _status(payload, attributes)
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
        estimate=to_estimate(attributes.get("weight")),
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
