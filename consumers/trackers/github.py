"""GitHub ``issues`` and ``projects_v2_item`` webhooks: payload → ``IssueEvent``, and the signature.

This module owns how a GitHub issue's state, labels and Projects (v2)
Status column read as a canonical status and estimate, and how a GitHub
delivery is authenticated. Table of every event and action:
``docs/trackers.md`` (GitHub).

Status of an ``issues`` delivery (every action carries the whole issue as it
is now, so ``edited`` or ``labeled`` is as good an observation as ``closed``):

* ``closed``: ``state_reason`` ``not_planned`` or ``duplicate`` → ``cancelled``
  (SPEC §16: closed as a duplicate is not done), as is a label the
  registration maps to ``cancelled`` (teams close with "wontfix"); otherwise
  ``done`` (``completed``, ``null``, missing before 2022, or a reason GitHub
  adds later: closing means finished unless GitHub says otherwise).
* ``open``: the registration's mapped labels (``TrackerMapping.labels``), else
  the issue's Projects column when a ``projects_v2_item`` delivery told it
  (``ProjectItems``; not on ``reopened``, which says "not finished"), else
  ``in_progress`` for an "in progress" label (``IN_PROGRESS_LABELS``), else
  ``todo``. Being assigned does not count.
* ``transferred`` and ``deleted``: the issue leaves this key for good (moved to
  another repository, or gone); it is ``cancelled`` here, never ``done``
  (SPEC §16). Its new key, if any, is another issue to link.

Estimate: GitHub has none; a label matching a pattern (default
``points: N`` / ``estimate: N``, ``TrackerMapping.estimate_labels``) gives it.
The payload lists every label, so no matching label means cleared.

``projects_v2_item`` ``edited`` whose ``changes.field_value`` is the Status
single-select field moves the item's issue to the column's status
(``TrackerMapping.columns``, else the default names below). The payload names
the issue only by its GraphQL node id (``content_node_id``); the issue key is
the one an earlier ``issues`` delivery to the same registration gave that node
id (``ProjectItems``). Anything else is ignored with its reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, Protocol

from consumers.issue_event import InvalidIssueEvent, IssueEstimate, IssueEvent, IssueStatusName
from consumers.trackers._common import (
    KEEP_ESTIMATE,
    UnsupportedPayload,
    as_mapping,
    as_text,
    build_event,
    dig,
    first_time,
    has_in_progress_label,
    header,
    hex_signature_matches,
    require_int,
    require_text,
    signed_content_id,
    to_utc,
)
from consumers.trackers.labels import estimate_by_labels, status_by_labels
from consumers.trackers.mapping import DEFAULT_MAPPING, TrackerMapping, normalise
from consumers.trackers.status_names import is_canonical

__all__ = [
    "DEFAULT_COLUMNS",
    "NO_PROJECT_ITEMS",
    "TRACKER",
    "ProjectItems",
    "adapt",
    "issue_node",
    "project_item_node",
    "verify",
]

TRACKER: Final = "github"

_CANCELLED_REASONS: Final = frozenset({"not_planned", "duplicate"})
_LEAVING_ACTIONS: Final = frozenset({"deleted", "transferred"})
_STATUS_FIELD: Final = "status"

DEFAULT_COLUMNS: Final[Mapping[str, IssueStatusName]] = {
    "todo": "todo",
    "to do": "todo",
    "backlog": "todo",
    "new": "todo",
    "ready": "todo",
    "in progress": "in_progress",
    "doing": "in_progress",
    "in review": "in_progress",
    "review": "in_progress",
    "done": "done",
    "closed": "done",
    "complete": "done",
    "completed": "done",
    "shipped": "done",
    "cancelled": "cancelled",
    "canceled": "cancelled",
    "won't do": "cancelled",
    "wontfix": "cancelled",
}
"""Projects Status options read without a mapping (normalised names); GitHub's
default board has Todo / In Progress / Done."""


class ProjectItems(Protocol):
    """What earlier deliveries to one registration said of GitHub node ids."""

    def issue_key(self, node_id: str) -> str | None:
        """The issue key an ``issues`` delivery gave this node id, if any."""

    def column_status(self, node_id: str) -> str | None:
        """The status the issue's last Projects Status column gave, if any."""


class _NoProjectItems:
    def issue_key(self, node_id: str) -> str | None:
        return None

    def column_status(self, node_id: str) -> str | None:
        return None


NO_PROJECT_ITEMS: Final[ProjectItems] = _NoProjectItems()


def _label_names(issue: Mapping[str, Any]) -> list[str] | None:
    """The issue's label names; ``None`` when the payload has no label list."""
    labels = issue.get("labels")
    if not isinstance(labels, list):
        return None
    names = []
    for label in labels:
        # Issue objects carry label objects; be lenient with bare names too.
        name = as_text(label.get("name")) if isinstance(label, Mapping) else as_text(label)
        if name is not None:
            names.append(name)
    return names


def issue_node(payload: Mapping[str, Any]) -> tuple[str, str] | None:
    """``(node id, issue key)`` of an ``issues`` delivery, for ``ProjectItems`` to learn."""
    issue = as_mapping(payload.get("issue"))
    if issue is None or issue.get("pull_request") is not None or "projects_v2_item" in payload:
        return None
    node = as_text(issue.get("node_id"))
    repository = as_text(dig(payload, "repository", "full_name"))
    number = dig(issue, "number")
    if node is None or repository is None or not isinstance(number, int):
        return None
    return node, f"{repository}#{number}"


def project_item_node(payload: Mapping[str, Any]) -> str | None:
    """The issue node id of a ``projects_v2_item`` delivery, else ``None``."""
    item = as_mapping(payload.get("projects_v2_item"))
    if item is None or as_text(item.get("content_type")) != "Issue":
        return None
    return as_text(item.get("content_node_id"))


def _status(
    issue: Mapping[str, Any],
    state: str,
    labels: list[str],
    mapping: TrackerMapping,
    column: IssueStatusName | None,
) -> IssueStatusName:
    mapped = status_by_labels(labels, mapping)
    if state == "closed":
        reason = as_text(issue.get("state_reason"))
        if reason in _CANCELLED_REASONS or mapped == "cancelled":
            return "cancelled"
        return "done"
    if state == "open":
        if mapped is not None:
            return mapped
        if column is not None:
            return column
        return "in_progress" if has_in_progress_label(labels) else "todo"
    raise UnsupportedPayload(f"github: issue.state {state[:64]!r} is not mapped")


def _canonical(value: str | None) -> IssueStatusName | None:
    return value if is_canonical(value) else None


def _estimate(issue: Mapping[str, Any], mapping: TrackerMapping) -> IssueEstimate:
    labels = _label_names(issue)
    if labels is None:
        return KEEP_ESTIMATE
    return estimate_by_labels(labels, mapping)


def _event_name(payload: Mapping[str, Any], headers: Mapping[str, str]) -> str:
    name = header(headers, "X-GitHub-Event")
    if name is not None:
        return name.strip().lower()
    # Without the header, the body tells the events this adapter reads.
    if "projects_v2_item" in payload:
        return "projects_v2_item"
    if "comment" in payload:
        return "issue_comment"
    return "issues" if "issue" in payload else "unknown"


def adapt(
    payload: Mapping[str, Any],
    headers: Mapping[str, str],
    mapping: TrackerMapping = DEFAULT_MAPPING,
    items: ProjectItems = NO_PROJECT_ITEMS,
) -> IssueEvent:
    """The canonical event for one GitHub delivery.

    Raises ``UnsupportedPayload`` (ignored, with the reason) for every event
    and action that is not an issue status observation, and
    ``InvalidIssueEvent`` for an ``issues`` payload missing what any issue
    delivery has (its number, state, repository, a time).
    """
    if not isinstance(payload, Mapping):
        raise InvalidIssueEvent("github: payload is not a JSON object")
    event_name = _event_name(payload, headers)
    if event_name == "projects_v2_item":
        return _project_item(payload, mapping, items)
    if event_name != "issues":
        raise UnsupportedPayload(f"github: {event_name[:64]!r} events are not issue events")
    issue = as_mapping(payload.get("issue"))
    if issue is None:
        raise InvalidIssueEvent("github: an issues delivery without an issue object")
    if issue.get("pull_request") is not None:
        raise UnsupportedPayload("github: pull requests are not tracked issues")
    action = as_text(payload.get("action"))  # as_text: a list or dict is unhashable

    repository = require_text(
        TRACKER, dig(payload, "repository", "full_name"), "repository.full_name"
    )
    number = require_int(TRACKER, issue.get("number"), "issue.number")
    state = as_text(issue.get("state"))
    if state is None and action not in _LEAVING_ACTIONS:
        # octokit's pinned/unpinned examples carry no state: a genuine delivery
        # that says nothing of the status (ignored, not refused).
        raise UnsupportedPayload(f"github: issues.{action} without the issue's state")
    state = (state or "").lower()
    labels = _label_names(issue) or []
    node = as_text(issue.get("node_id"))
    if action in _LEAVING_ACTIONS:
        status: IssueStatusName = "cancelled"
        raw_status = action
    else:
        # The board's column says more than "open", but a reopen says the
        # issue is not finished whatever column it was left in.
        known = items.column_status(node) if node is not None and action != "reopened" else None
        column = _canonical(known)
        status, raw_status = _status(issue, state, labels, mapping, column), state

    # updated_at is the time of the snapshot the payload describes (it moves
    # with every change, closing included, and is never before closed_at).
    occurred_at = first_time(
        TRACKER,
        [
            ("issue.updated_at", issue.get("updated_at"), to_utc),
            ("issue.closed_at", issue.get("closed_at"), to_utc),
            ("issue.created_at", issue.get("created_at"), to_utc),
        ],
    )
    return build_event(
        # Not X-GitHub-Delivery: the signature does not cover it (SPEC §9).
        event_id=signed_content_id(TRACKER, payload),
        tracker=TRACKER,
        issue_key=f"{repository}#{number}",
        status=status,
        raw_status=raw_status,
        occurred_at=occurred_at,
        title=as_text(issue.get("title")),
        url=as_text(issue.get("html_url")),
        estimate=KEEP_ESTIMATE if action in _LEAVING_ACTIONS else _estimate(issue, mapping),
    )


def column_of(payload: Mapping[str, Any]) -> str | None:
    """The Status option an ``edited`` projects item moved to, else ``None``."""
    value = as_mapping(dig(payload, "changes", "field_value"))
    if value is None or as_text(value.get("field_type")) != "single_select":
        return None
    field_name = as_text(value.get("field_name"))
    if field_name is None or normalise(field_name) != _STATUS_FIELD:
        return None
    return as_text(dig(value, "to", "name"))


def column_status(column: str, mapping: TrackerMapping) -> IssueStatusName | None:
    """The status a Projects Status column maps to (the registration's first)."""
    name = normalise(column)
    return _canonical(mapping.columns.get(name)) or DEFAULT_COLUMNS.get(name)


def _project_item(
    payload: Mapping[str, Any], mapping: TrackerMapping, items: ProjectItems
) -> IssueEvent:
    action = as_text(payload.get("action"))
    item = as_mapping(payload.get("projects_v2_item"))
    if item is None:
        raise InvalidIssueEvent("github: a projects_v2_item delivery without the item")
    if action != "edited":
        raise UnsupportedPayload(f"github: projects_v2_item.{action} does not change a status")
    content_type = as_text(item.get("content_type"))
    if content_type != "Issue":
        raise UnsupportedPayload(f"github: a project item of type {content_type!r} is no issue")
    column = column_of(payload)
    if column is None:
        raise UnsupportedPayload("github: the project item's Status field did not change")
    status = column_status(column, mapping)
    if status is None:
        raise UnsupportedPayload(f"github: project column {column[:64]!r} is not mapped")
    node = require_text(TRACKER, item.get("content_node_id"), "projects_v2_item.content_node_id")
    issue_key = items.issue_key(node)
    if issue_key is None:
        raise UnsupportedPayload(
            "github: no issues delivery to this registration named the item's issue yet"
        )
    occurred_at = first_time(
        TRACKER, [("projects_v2_item.updated_at", item.get("updated_at"), to_utc)]
    )
    return build_event(
        event_id=signed_content_id(TRACKER, payload),
        tracker=TRACKER,
        issue_key=issue_key,
        status=status,
        raw_status=f"project: {column}"[:200],
        occurred_at=occurred_at,
        title=None,
        url=None,
        estimate=KEEP_ESTIMATE,
    )


def verify(body: bytes, headers: Mapping[str, str], secret: str) -> bool:
    """Whether ``X-Hub-Signature-256`` is ``sha256=`` + hex HMAC-SHA256 of the body.

    The legacy SHA-1 ``X-Hub-Signature`` is not accepted: GitHub sends both,
    and accepting the weaker one would only widen what a forger can try.
    An empty ``secret`` never verifies.
    """
    given = header(headers, "X-Hub-Signature-256")
    if given is None:
        return False
    method, _, digest = given.strip().partition("=")
    if method.lower() != "sha256":
        return False
    return hex_signature_matches(secret, body, digest)
