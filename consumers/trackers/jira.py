"""Jira issue webhooks: payload → ``IssueEvent``, and the signature check.

This module owns how a Jira issue's workflow status reads as a canonical
status, and how a Jira Cloud delivery is authenticated. Only
``jira:issue_created`` and ``jira:issue_updated`` are issue status events;
comment, worklog, link and delete events are ``UnsupportedPayload``.
See ``docs/trackers.md``.

Status: Jira workflows have any number of statuses, but each belongs to one
of three categories, and the category is what "done" means to Jira itself.

* ``issue.fields.status.statusCategory.key``: ``new`` → ``todo``,
  ``indeterminate`` → ``in_progress``, ``done`` → ``done``.
* ``done`` becomes ``cancelled`` when the resolution (or, lacking one, the
  status name) says the work was not done: "Won't Do", "Won't Fix",
  "Duplicate", "Cannot Reproduce", "Incomplete", "Declined", "Rejected",
  "Obsolete", "Abandoned", "Not a Bug", "Cancelled".
* The resolution is read only when the category is ``done``: Jira lets a
  resolution be set (or left behind) on an open issue, and an open issue with
  resolution "Fixed" is still open.
* Payloads without a category (Jira Server before 6, the category
  ``undefined``) fall back to well-known status names (Open, To Do, In
  Progress, Done, Closed, Resolved, …), and for any other name to the
  classic Jira rule "resolved means finished": a resolution → ``done``, none
  → ``todo``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from consumers.issue_event import (
    InvalidIssueEvent,
    IssueEvent,
    IssueStatusName,
)
from consumers.trackers._common import (
    UnsupportedPayload,
    as_mapping,
    as_text,
    build_event,
    dig,
    epoch_ms_to_utc,
    first_time,
    header,
    hex_signature_matches,
    keep_unless_given,
    require_text,
    signed_content_id,
    to_estimate,
    to_utc,
)
from consumers.trackers.mapping import DEFAULT_MAPPING, TrackerMapping

__all__ = ["TRACKER", "adapt", "verify"]

TRACKER: Final = "jira"

_ISSUE_EVENTS: Final = frozenset({"jira:issue_created", "jira:issue_updated"})

_CATEGORY_STATUS: Final[Mapping[str, IssueStatusName]] = {
    "new": "todo",
    "indeterminate": "in_progress",
    "done": "done",
}

# Compared after _normalise_name (lowercase, apostrophes dropped).
_NOT_DONE_NAMES: Final = frozenset(
    {
        "wont do",
        "wont fix",
        "wontfix",
        "duplicate",
        "cannot reproduce",
        "cant reproduce",
        "incomplete",
        "declined",
        "rejected",
        "obsolete",
        "abandoned",
        "not a bug",
        "cancelled",
        "canceled",
    }
)

_STATUS_BY_NAME: Final[Mapping[str, IssueStatusName]] = {
    "open": "todo",
    "to do": "todo",
    "todo": "todo",
    "new": "todo",
    "backlog": "todo",
    "reopened": "todo",
    "selected for development": "todo",
    "in progress": "in_progress",
    "in review": "in_progress",
    "in development": "in_progress",
    "done": "done",
    "closed": "done",
    "resolved": "done",
}

_STORY_POINT_FIELD_NAMES: Final = frozenset({"story points", "story point estimate"})


def _normalise_name(name: str) -> str:
    # Jira sites spell "Won't Do" with an ASCII or a typographic apostrophe
    # (or none at all).
    return " ".join(re.sub("['\u2019`]", "", name).lower().split())


def _status(fields: Mapping[str, Any]) -> tuple[IssueStatusName, str | None]:
    """``(canonical status, raw status name)``."""
    status = as_mapping(fields.get("status"))
    if status is None:
        raise InvalidIssueEvent("jira: issue.fields.status is missing")
    name = as_text(status.get("name"))
    category = as_text(dig(status, "statusCategory", "key"))
    resolution = as_text(dig(fields, "resolution", "name"))

    mapped = _CATEGORY_STATUS.get(category.lower()) if category else None
    if mapped is None:
        if name is None:
            raise InvalidIssueEvent(
                "jira: issue.fields.status has neither statusCategory.key nor name"
            )
        mapped = _STATUS_BY_NAME.get(_normalise_name(name))
    if mapped is None:
        mapped = "done" if resolution is not None else "todo"

    if mapped == "done":
        reasons = (resolution, name)
        if any(r is not None and _normalise_name(r) in _NOT_DONE_NAMES for r in reasons):
            mapped = "cancelled"
    return mapped, name


def _browse_url(issue: Mapping[str, Any], key: str) -> str | None:
    # Webhooks carry only the REST URL (…/rest/api/2/issue/10000); the page a
    # person opens is …/browse/KEY on the same base (context path included).
    rest = as_text(issue.get("self"))
    if rest is None or "/rest/api/" not in rest:
        return None
    return f"{rest.split('/rest/api/', 1)[0]}/browse/{key}"


def _story_points(payload: Mapping[str, Any], issue: Mapping[str, Any]) -> float | None:
    # Custom fields arrive by id only (customfield_10016 is story points on
    # one site and something else on the next), so a value is recognised
    # only when the payload also carries the id → name map ("names", present
    # when a relay or automation fetched the issue with expand=names).
    names = as_mapping(issue.get("names")) or as_mapping(payload.get("names"))
    fields = as_mapping(issue.get("fields"))
    if names is None or fields is None:
        return None
    for field_id, field_name in names.items():
        if not isinstance(field_name, str):
            continue
        if _normalise_name(field_name) in _STORY_POINT_FIELD_NAMES:
            estimate = to_estimate(fields.get(field_id))
            if estimate is not None:
                return estimate
    return None


def adapt(
    payload: Mapping[str, Any],
    headers: Mapping[str, str],
    mapping: TrackerMapping = DEFAULT_MAPPING,
) -> IssueEvent:
    """The canonical event for one ``jira:issue_created`` / ``jira:issue_updated``.

    Raises ``UnsupportedPayload`` for any other webhook event (or a payload
    without an issue) and ``InvalidIssueEvent`` for an issue event missing
    what the canonical event needs.
    """
    if not isinstance(payload, Mapping):
        raise UnsupportedPayload("jira: payload is not a JSON object")
    event = as_text(payload.get("webhookEvent"))
    if event is None or event not in _ISSUE_EVENTS:
        raise UnsupportedPayload(f"jira: webhookEvent {event!r} is not an issue status event")
    issue = as_mapping(payload.get("issue"))
    if issue is None:
        raise UnsupportedPayload(f"jira: {event} payload has no issue")
    fields = as_mapping(issue.get("fields"))
    if fields is None:
        raise InvalidIssueEvent("jira: issue.fields is missing")

    key = require_text(TRACKER, issue.get("key"), "issue.key")
    status, raw_status = _status(fields)
    occurred_at = first_time(
        TRACKER,
        [
            ("timestamp", payload.get("timestamp"), epoch_ms_to_utc),
            ("issue.fields.updated", fields.get("updated"), to_utc),
            ("issue.fields.created", fields.get("created"), to_utc),
        ],
    )
    return build_event(
        # Not X-Atlassian-Webhook-Identifier: the signature does not cover it
        # (SPEC §9), so the signed body's digest names the event.
        event_id=signed_content_id(TRACKER, payload),
        tracker=TRACKER,
        issue_key=key,
        status=status,
        raw_status=raw_status,
        occurred_at=occurred_at,
        title=as_text(fields.get("summary")),
        url=_browse_url(issue, key),
        estimate=keep_unless_given(_story_points(payload, issue)),
    )


def verify(body: bytes, headers: Mapping[str, str], secret: str) -> bool:
    """Whether ``X-Hub-Signature`` is ``sha256=`` + hex HMAC-SHA256 of the body.

    That is what Jira Cloud sends for a webhook registered with a secret
    (``method=signature``, method always ``sha256`` today). Jira Server/Data
    Center does not sign webhooks: there, put the endpoint behind a secret
    URL or a proxy and configure no secret. An empty ``secret`` never verifies.
    """
    given = header(headers, "X-Hub-Signature")
    if given is None:
        return False
    method, _, digest = given.strip().partition("=")
    if method.lower() != "sha256":
        return False
    return hex_signature_matches(secret, body, digest)
