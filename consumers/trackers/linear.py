"""Linear webhooks: payload → ``IssueEvent``, and the signature check.

This module owns how a Linear workflow state reads as a canonical status,
and how a Linear delivery is authenticated. See ``docs/trackers.md``.

Status comes from ``data.state``, which every Linear workflow state has
whatever the team named it:

* the registration's mapping first (``TrackerMapping.statuses``): the state
  name ("In Review"), then the state type;
* else the type: ``triage``/``backlog``/``unstarted`` → ``todo``,
  ``started`` → ``in_progress``, ``completed`` → ``done``, ``canceled`` →
  ``cancelled`` (Linear files duplicates under a canceled-type state too, so
  an issue closed as a duplicate is never done);
* a type Linear adds later, unmapped, is ignored with its reason
  (``UnsupportedPayload``): a guess could count unfinished work as done, and
  a refusal would make Linear retry and then disable the webhook.

Estimate: ``data.estimate``; on an update, ``updatedFrom`` holds the
previous values, so a number there with ``data.estimate`` null means the
estimate was cleared. A null estimate that was null before says nothing
(``KEEP_ESTIMATE``): 2021 payloads list unchanged null properties in
``updatedFrom`` too.

An issue moved to another team (``updatedFrom.teamId``, and its old
identifier last in ``data.previousIdentifiers``) left its old identifier
unfinished: the event is for the old identifier, ``cancelled``, raw status
"moved to NEW-3"; the new identifier is reported by its next delivery.

Only ``type: "Issue"`` with action ``create`` or ``update`` is a status
event; ``remove`` (deleted or archived away), other entity types (Comment,
Project, Cycle, IssueLabel, …) and the non-entity webhooks (IssueSLA,
OAuthApp, AppUserNotification, …) are ignored with their reason. A body
without ``type`` and ``action`` is not Linear's JSON (``InvalidIssueEvent``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, Literal

from consumers.issue_event import (
    InvalidIssueEvent,
    IssueEvent,
    IssueStatusName,
)
from consumers.trackers._common import (
    KEEP_ESTIMATE,
    EstimateSaid,
    UnsupportedPayload,
    as_int,
    as_mapping,
    as_text,
    build_event,
    dig,
    epoch_ms_to_utc,
    first_time,
    header,
    hex_signature_matches,
    signed_content_id,
    to_estimate,
    to_utc,
)
from consumers.trackers.mapping import DEFAULT_MAPPING, TrackerMapping
from consumers.trackers.status_names import mapped_status

__all__ = ["TRACKER", "adapt", "estimate_said", "verify"]

TRACKER: Final = "linear"

_STATUS_ACTIONS: Final = frozenset({"create", "update"})

_STATE_TYPE_STATUS: Final[Mapping[str, IssueStatusName]] = {
    "triage": "todo",
    "backlog": "todo",
    "unstarted": "todo",
    "started": "in_progress",
    "completed": "done",
    "canceled": "cancelled",
    "cancelled": "cancelled",
}


def _issue_key(data: Mapping[str, Any]) -> str:
    identifier = as_text(data.get("identifier"))
    if identifier is not None:
        return identifier
    # Older payloads have no identifier; it is always "<team key>-<number>".
    team_key = as_text(dig(data, "team", "key"))
    number = as_int(data.get("number"))
    if team_key is None or number is None:
        raise InvalidIssueEvent("linear: neither data.identifier nor data.team.key + data.number")
    return f"{team_key}-{number}"


def _status(data: Mapping[str, Any], mapping: TrackerMapping) -> tuple[IssueStatusName, str | None]:
    """``(canonical status, raw state name)``, or ``UnsupportedPayload`` for an unknown type."""
    state_type = as_text(dig(data, "state", "type"))
    name = as_text(dig(data, "state", "name"))
    if state_type is None:
        raise InvalidIssueEvent("linear: data.state.type is missing")
    mapped = mapped_status(mapping, name, state_type) or _STATE_TYPE_STATUS.get(state_type.lower())
    if mapped is None:
        raise UnsupportedPayload(
            f"linear: workflow state {name!r} has type {state_type!r}, which is not mapped"
            " (map the state name in the registration)"
        )
    return mapped, name


def _moved_from(payload: Mapping[str, Any], data: Mapping[str, Any], key: str) -> str | None:
    """The identifier the issue had before this update moved it to another team.

    A move changes ``teamId`` (its old value is in ``updatedFrom``) and gives
    the issue a new identifier, the old one appended to
    ``previousIdentifiers``.
    """
    updated_from = as_mapping(payload.get("updatedFrom")) or {}
    if "teamId" not in updated_from or updated_from.get("teamId") == data.get("teamId"):
        return None
    previous = data.get("previousIdentifiers")
    old = as_text(previous[-1]) if isinstance(previous, list) and previous else None
    return old if old is not None and old != key else None


def estimate_said(payload: Mapping[str, Any]) -> float | Literal[EstimateSaid.NOTHING] | None:
    """What this delivery says of the estimate: a number, cleared (``None``) or nothing."""
    data = as_mapping(payload.get("data")) or {}
    current = to_estimate(data.get("estimate"))
    if current is not None:
        return current
    previous = dig(payload, "updatedFrom", "estimate")
    if to_estimate(previous) is not None and data.get("estimate") is None:
        # It had a value and now has none: cleared in Linear. A null before
        # and after is no change: old payloads list unchanged null
        # properties in updatedFrom too.
        return None
    return KEEP_ESTIMATE


def adapt(
    payload: Mapping[str, Any],
    headers: Mapping[str, str],
    mapping: TrackerMapping = DEFAULT_MAPPING,
) -> IssueEvent:
    """The canonical event for one Linear ``Issue`` create/update webhook.

    Raises ``UnsupportedPayload`` (with why) for other entity types, for
    ``remove`` and for a state type nobody mapped, and ``InvalidIssueEvent``
    for a body that is not a Linear webhook or an issue webhook missing what
    the canonical event needs.
    """
    if not isinstance(payload, Mapping):
        raise InvalidIssueEvent("linear: the body is not a JSON object")
    entity = as_text(payload.get("type"))
    action = as_text(payload.get("action"))
    if entity is None or action is None:
        raise InvalidIssueEvent("linear: no type and action: not a Linear webhook")
    if entity != "Issue":
        raise UnsupportedPayload(f"linear: type {entity!r} webhooks carry no issue status")
    if action == "remove":
        raise UnsupportedPayload(
            "linear: Issue action 'remove': the issue was deleted or archived,"
            " which is not a status (unlink it)"
        )
    if action not in _STATUS_ACTIONS:
        raise UnsupportedPayload(f"linear: Issue action {action!r} is not a status event")
    data = as_mapping(payload.get("data"))
    if data is None:
        raise InvalidIssueEvent("linear: data is missing")

    issue_key = _issue_key(data)
    status, raw_status = _status(data, mapping)
    estimate = estimate_said(payload)
    old_key = _moved_from(payload, data, issue_key)
    if old_key is not None:
        # The old identifier left its team unfinished (SPEC §16), as a Jira
        # issue moved to another project.
        status, raw_status, estimate = "cancelled", f"moved to {issue_key}", KEEP_ESTIMATE
    # data.updatedAt is when the issue changed; webhookTimestamp is when this
    # delivery was sent (later, and possibly re-stamped on a retry), so it
    # only stands in when updatedAt is missing.
    occurred_at = first_time(
        TRACKER,
        [
            ("data.updatedAt", data.get("updatedAt"), to_utc),
            ("webhookTimestamp", payload.get("webhookTimestamp"), epoch_ms_to_utc),
            ("createdAt", payload.get("createdAt"), to_utc),
        ],
    )
    return build_event(
        # Not Linear-Delivery: the signature does not cover it (SPEC §9). The
        # send time is left out so that a retry of the same event, re-stamped,
        # keeps its id.
        event_id=signed_content_id(TRACKER, payload, restamped_fields=("webhookTimestamp",)),
        tracker=TRACKER,
        issue_key=old_key or issue_key,
        status=status,
        raw_status=raw_status,
        occurred_at=occurred_at,
        title=as_text(data.get("title")),
        url=None if old_key else as_text(data.get("url")) or as_text(payload.get("url")),
        estimate=estimate,
    )


def verify(body: bytes, headers: Mapping[str, str], secret: str) -> bool:
    """Whether ``Linear-Signature`` is the hex HMAC-SHA256 of the raw body.

    Linear also advises refusing a ``webhookTimestamp`` more than a minute
    old (replay protection); that needs a clock, so it is the webhook
    endpoint's job, not this pure check. An empty ``secret`` never verifies.
    """
    return hex_signature_matches(secret, body, header(headers, "Linear-Signature"))
