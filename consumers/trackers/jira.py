"""Jira webhooks: payload → ``IssueEvent``, and the signature check.

This module owns how a Jira delivery reads as a canonical issue event, and
how a Jira Cloud delivery is authenticated. Only ``jira:issue_created`` and
``jira:issue_updated`` carry an issue's status; every other ``webhookEvent``
(comments, worklogs, sprints, boards, versions, projects, links, deletion…)
is a genuine delivery that is ignored with its reason (``UnsupportedPayload``),
never refused. A body without a ``webhookEvent`` is not Jira's JSON
(``InvalidIssueEvent``). See ``docs/trackers.md``.

Status: Jira workflows have any number of statuses, but each belongs to one
of three categories, and the category is what "done" means to Jira itself.

* The registration's mapping first (``TrackerMapping.statuses``): the status
  name ("QA"), then the category key (``indeterminate``).
* ``issue.fields.status.statusCategory.key``: ``new`` → ``todo``,
  ``indeterminate`` → ``in_progress``, ``done`` → ``done``.
* ``done`` becomes ``cancelled`` when the resolution (or, lacking one, the
  status name) says the work was not done: "Won't Do", "Won't Fix",
  "Duplicate", "Cannot Reproduce", "Incomplete", "Declined", "Rejected",
  "Obsolete", "Abandoned", "Not a Bug", "Cancelled". A status name the
  mapping maps is final; a category the mapping maps to ``done`` still goes
  through this check.
* The resolution is read only when the category is ``done``: Jira lets a
  resolution be set (or left behind) on an open issue, and an open issue with
  resolution "Fixed" is still open.
* Payloads without a category (Jira Server before 6, the category
  ``undefined``) fall back to well-known status names (Open, To Do, In
  Progress, Done, Closed, Resolved, …), and for any other name to the
  classic Jira rule "resolved means finished": a resolution → ``done``, none
  → ``todo``.
* An issue moved to another project (a changelog ``Key`` item) left its old
  key unfinished: the event is for the old key, ``cancelled``, raw status
  "moved to NEW-5". The new key is reported by its next delivery.

Story points: ``consumers/trackers/jira_story_points.py``.
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
    KEEP_ESTIMATE,
    UnsupportedPayload,
    as_mapping,
    as_text,
    build_event,
    dig,
    epoch_ms_to_utc,
    first_time,
    header,
    hex_signature_matches,
    require_text,
    signed_content_id,
    to_utc,
)
from consumers.trackers.jira_story_points import story_points
from consumers.trackers.mapping import DEFAULT_MAPPING, TrackerMapping
from consumers.trackers.status_names import mapped_status

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

# Why each family of other webhookEvents is ignored (the first matching prefix).
_IGNORED_EVENTS: Final = (
    ("jira:issue_deleted", "the issue was deleted; deletion is not a status (unlink it)"),
    ("comment_", "a comment does not change an issue's status"),
    ("worklog_", "logged work does not change an issue's status"),
    ("attachment_", "an attachment does not change an issue's status"),
    ("issuelink_", "an issue link does not change an issue's status"),
    ("issue_property_", "an issue property does not change an issue's status"),
    ("sprint_", "sprint events carry no issue status"),
    ("board_", "board events carry no issue status"),
    ("jira:version_", "version events carry no issue status"),
    ("project_", "project events carry no issue status"),
    ("user_", "user events carry no issue status"),
    ("option_", "a Jira setting changed; no issue status"),
    ("issuetype_", "issue type events carry no issue status"),
    ("filter_", "filter events carry no issue status"),
)


def _normalise_name(name: str) -> str:
    # Jira sites spell "Won't Do" with an ASCII or a typographic apostrophe
    # (or none at all).
    return " ".join(re.sub("['\u2019`]", "", name).lower().split())


def _status(
    fields: Mapping[str, Any], mapping: TrackerMapping
) -> tuple[IssueStatusName, str | None]:
    """``(canonical status, raw status name)``."""
    status = as_mapping(fields.get("status"))
    if status is None:
        raise InvalidIssueEvent("jira: issue.fields.status is missing")
    name = as_text(status.get("name"))
    category = as_text(dig(status, "statusCategory", "key"))
    resolution = as_text(dig(fields, "resolution", "name"))

    by_name = mapped_status(mapping, name)
    if by_name is not None:
        return by_name, name
    mapped = mapped_status(mapping, category)
    if mapped is None:
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


def _moved_from(payload: Mapping[str, Any], key: str) -> str | None:
    """The key the issue had before this delivery moved it to another project."""
    changelog = as_mapping(payload.get("changelog")) or {}
    items = changelog.get("items")
    for item in items if isinstance(items, list) else ():
        if not isinstance(item, Mapping):
            continue
        field = as_text(item.get("field"))
        old = as_text(item.get("fromString"))
        if field is not None and field.lower() == "key" and old is not None and old != key:
            return old
    return None


def _ignored_reason(event: str) -> str:
    for prefix, why in _IGNORED_EVENTS:
        if event.startswith(prefix):
            return f"jira: {event}: {why}"
    return f"jira: webhookEvent {event!r} is not an issue status event"


def _browse_url(issue: Mapping[str, Any], key: str) -> str | None:
    # Webhooks carry only the REST URL (…/rest/api/2/issue/10000); the page a
    # person opens is …/browse/KEY on the same base (context path included).
    rest = as_text(issue.get("self"))
    if rest is None or "/rest/api/" not in rest:
        return None
    return f"{rest.split('/rest/api/', 1)[0]}/browse/{key}"


def adapt(
    payload: Mapping[str, Any],
    headers: Mapping[str, str],
    mapping: TrackerMapping = DEFAULT_MAPPING,
) -> IssueEvent:
    """The canonical event for one ``jira:issue_created`` / ``jira:issue_updated``.

    Raises ``UnsupportedPayload`` (with why) for any other webhook event,
    and ``InvalidIssueEvent`` for a body that is not a Jira webhook or an
    issue event missing what the canonical event needs.
    """
    if not isinstance(payload, Mapping):
        raise InvalidIssueEvent("jira: the body is not a JSON object")
    event = as_text(payload.get("webhookEvent"))
    if event is None:
        raise InvalidIssueEvent("jira: no webhookEvent: not a Jira webhook")
    if event not in _ISSUE_EVENTS:
        raise UnsupportedPayload(_ignored_reason(event))
    issue = as_mapping(payload.get("issue"))
    if issue is None:
        raise UnsupportedPayload(f"jira: {event} payload has no issue")
    fields = as_mapping(issue.get("fields"))
    if fields is None:
        raise InvalidIssueEvent("jira: issue.fields is missing")

    key = require_text(TRACKER, issue.get("key"), "issue.key")
    status, raw_status = _status(fields, mapping)
    estimate = story_points(payload, issue, mapping)
    old_key = _moved_from(payload, key)
    if old_key is not None:
        # The old key left its project unfinished (SPEC §16): whatever the
        # status under the new key, the work tracked as old_key is not done.
        status, raw_status, estimate = "cancelled", f"moved to {key}", KEEP_ESTIMATE
    occurred_at = first_time(
        TRACKER,
        [
            ("timestamp", payload.get("timestamp"), epoch_ms_to_utc),
            ("issue.fields.updated", fields.get("updated"), to_utc),
            ("issue.fields.created", fields.get("created"), to_utc),
        ],
    )
    reported_key = old_key or key
    return build_event(
        # Not X-Atlassian-Webhook-Identifier: the signature does not cover it
        # (SPEC §9), so the signed body's digest names the event.
        event_id=signed_content_id(TRACKER, payload),
        tracker=TRACKER,
        issue_key=reported_key,
        status=status,
        raw_status=raw_status,
        occurred_at=occurred_at,
        title=as_text(fields.get("summary")),
        url=_browse_url(issue, reported_key),
        estimate=estimate,
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
