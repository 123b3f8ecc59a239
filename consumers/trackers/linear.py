"""Linear ``Issue`` webhooks: payload → ``IssueEvent``, and the signature check.

This module owns how a Linear workflow state reads as a canonical status,
and how a Linear delivery is authenticated. See ``docs/trackers.md``.

Status comes from ``data.state.type``, which every Linear workflow state has
whatever the team named it: ``triage``/``backlog``/``unstarted`` → ``todo``,
``started`` → ``in_progress``, ``completed`` → ``done``, ``canceled`` →
``cancelled`` (Linear files duplicates under a canceled-type state too). An
unknown type is ignored (``UnsupportedPayload``), not guessed and never
refused (SPEC §16).

Only ``type: "Issue"`` with action ``create`` or ``update`` is a status
event; ``remove`` (deleted or archived away) and other entity types
(Comment, Project, …) are ``UnsupportedPayload``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from consumers.issue_event import (
    InvalidIssueEvent,
    IssueEvent,
    IssueStatusName,
)
from consumers.trackers._common import (
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
    keep_unless_given,
    signed_content_id,
    to_estimate,
    to_utc,
)
from consumers.trackers.mapping import DEFAULT_MAPPING, TrackerMapping

__all__ = ["TRACKER", "adapt", "verify"]

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


def _status(data: Mapping[str, Any]) -> tuple[IssueStatusName, str | None]:
    """``(canonical status, raw state name)``."""
    state_type = as_text(dig(data, "state", "type"))
    if state_type is None:
        raise InvalidIssueEvent("linear: data.state.type is missing")
    mapped = _STATE_TYPE_STATUS.get(state_type.lower())
    if mapped is None:
        raise UnsupportedPayload(f"linear: data.state.type {state_type[:64]!r} is not mapped")
    return mapped, as_text(dig(data, "state", "name"))


def adapt(
    payload: Mapping[str, Any],
    headers: Mapping[str, str],
    mapping: TrackerMapping = DEFAULT_MAPPING,
) -> IssueEvent:
    """The canonical event for one Linear ``Issue`` create/update webhook.

    Raises ``UnsupportedPayload`` for other entity types and for ``remove``,
    and ``InvalidIssueEvent`` for an issue webhook missing what the canonical
    event needs.
    """
    if not isinstance(payload, Mapping):
        raise UnsupportedPayload("linear: payload is not a JSON object")
    entity = as_text(payload.get("type"))
    if entity != "Issue":
        raise UnsupportedPayload(f"linear: type {entity!r} is not an issue")
    action = as_text(payload.get("action"))
    if action not in _STATUS_ACTIONS:
        raise UnsupportedPayload(f"linear: Issue action {action!r} is not a status event")
    data = as_mapping(payload.get("data"))
    if data is None:
        raise InvalidIssueEvent("linear: data is missing")

    issue_key = _issue_key(data)
    status, raw_status = _status(data)
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
        issue_key=issue_key,
        status=status,
        raw_status=raw_status,
        occurred_at=occurred_at,
        title=as_text(data.get("title")),
        url=as_text(data.get("url")) or as_text(payload.get("url")),
        estimate=keep_unless_given(to_estimate(data.get("estimate"))),
    )


def verify(body: bytes, headers: Mapping[str, str], secret: str) -> bool:
    """Whether ``Linear-Signature`` is the hex HMAC-SHA256 of the raw body.

    Linear also advises refusing a ``webhookTimestamp`` more than a minute
    old (replay protection); that needs a clock, so it is the webhook
    endpoint's job, not this pure check. An empty ``secret`` never verifies.
    """
    return hex_signature_matches(secret, body, header(headers, "Linear-Signature"))
