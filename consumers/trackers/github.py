"""GitHub ``issues`` webhooks: payload → ``IssueEvent``, and the signature check.

This module owns how a GitHub issue's state reads as a canonical status and
how a GitHub delivery is authenticated. See ``docs/trackers.md`` for the
field-by-field table.

Status: GitHub has only ``open`` and ``closed``.

* ``closed`` with ``state_reason`` ``not_planned`` or ``duplicate`` → ``cancelled``;
  ``closed`` with ``completed``, ``null``, a missing reason (payloads before
  2022) or a reason GitHub adds later → ``done``: closing is "finished" unless
  GitHub says otherwise.
* ``open`` → ``in_progress`` when the issue carries an "in progress" label
  (``IN_PROGRESS_LABELS``: "in progress", "doing", "wip", …), else ``todo``.
  Being assigned does not count: assigning is planning, and
  ``issues.assigned`` fires on triage long before anyone starts.

Every ``issues`` action carries the whole issue as it is now, so an
``edited`` or ``labeled`` delivery is just as good a status observation as
``closed``; only ``deleted`` and ``transferred`` (the issue stops existing
under this key) are refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from consumers.issue_event import InvalidIssueEvent, IssueEvent, IssueStatusName
from consumers.trackers._common import (
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

__all__ = ["TRACKER", "adapt", "verify"]

TRACKER: Final = "github"

_CANCELLED_REASONS: Final = frozenset({"not_planned", "duplicate"})
_ENDING_ACTIONS: Final = frozenset({"deleted", "transferred"})


def _label_names(issue: Mapping[str, Any]) -> list[str]:
    labels = issue.get("labels")
    if not isinstance(labels, list):
        return []
    names = []
    for label in labels:
        # Issue objects carry label objects; be lenient with bare names too.
        name = as_text(label.get("name")) if isinstance(label, Mapping) else as_text(label)
        if name is not None:
            names.append(name)
    return names


def _status(issue: Mapping[str, Any], state: str) -> IssueStatusName:
    if state == "closed":
        reason = as_text(issue.get("state_reason"))
        return "cancelled" if reason in _CANCELLED_REASONS else "done"
    if state == "open":
        return "in_progress" if has_in_progress_label(_label_names(issue)) else "todo"
    raise InvalidIssueEvent(f"github: unknown issue.state {state!r}")


def adapt(payload: Mapping[str, Any], headers: Mapping[str, str]) -> IssueEvent:
    """The canonical event for one GitHub ``issues`` webhook delivery.

    Raises ``UnsupportedPayload`` for other GitHub events (push, pull request,
    issue comment, a deleted or transferred issue) and ``InvalidIssueEvent``
    for an issues payload missing what the canonical event needs.
    """
    if not isinstance(payload, Mapping):
        raise UnsupportedPayload("github: payload is not a JSON object")
    event_name = header(headers, "X-GitHub-Event")
    if event_name is not None and event_name.strip().lower() != "issues":
        raise UnsupportedPayload(f"github: {event_name!r} events are not issue events")
    issue = as_mapping(payload.get("issue"))
    if issue is None:
        raise UnsupportedPayload("github: payload has no issue")
    # Without the event header, these tell an issue_comment delivery and a
    # pull request (GitHub models PRs as issues) from an issues delivery.
    if "comment" in payload:
        raise UnsupportedPayload("github: issue comment events are not status events")
    if issue.get("pull_request") is not None:
        raise UnsupportedPayload("github: pull requests are not tracked issues")
    # as_text first: an untrusted list or dict here is unhashable.
    action = as_text(payload.get("action"))
    if action in _ENDING_ACTIONS:
        raise UnsupportedPayload(f"github: issues.{action} ends the issue, it has no status")

    repository = require_text(
        TRACKER, dig(payload, "repository", "full_name"), "repository.full_name"
    )
    number = require_int(TRACKER, issue.get("number"), "issue.number")
    state = require_text(TRACKER, issue.get("state"), "issue.state").lower()

    # Not X-GitHub-Delivery: the signature does not cover it (SPEC §9).
    event_id = signed_content_id(TRACKER, payload)
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
        event_id=event_id,
        tracker=TRACKER,
        issue_key=f"{repository}#{number}",
        status=_status(issue, state),
        raw_status=state,
        occurred_at=occurred_at,
        title=as_text(issue.get("title")),
        url=as_text(issue.get("html_url")),
        # GitHub issues have no estimate field.
        estimate=None,
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
