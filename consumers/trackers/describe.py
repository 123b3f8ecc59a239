"""What kind of delivery a tracker sent, in its own words, for the delivery log (SPEC §16).

The log shows an admin each delivery's event kind and action as the tracker
names them (GitHub ``issues`` / ``closed``, GitLab ``issue`` / ``close``, Jira
``jira:issue_updated`` / ``issue_generic``, Linear ``Issue`` / ``update``,
Azure DevOps ``workitem.updated``), so a hook subscribed to too much is easy
to spot. Read defensively from untrusted JSON: only strings, else nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from consumers.trackers._common import as_text, dig, header

__all__ = ["describe_delivery"]


def describe_delivery(
    tracker: str, payload: Any, headers: Mapping[str, str]
) -> tuple[str | None, str | None]:
    """``(event kind, action)`` of one delivery, each ``None`` when it does not say."""
    body: Mapping[str, Any] = payload if isinstance(payload, Mapping) else {}
    if tracker == "github":
        kind = header(headers, "X-GitHub-Event")
        return kind, as_text(body.get("action"))
    if tracker == "gitlab":
        kind = as_text(body.get("object_kind")) or header(headers, "X-Gitlab-Event")
        return kind, as_text(dig(body, "object_attributes", "action"))
    if tracker == "jira":
        return as_text(body.get("webhookEvent")), as_text(body.get("issue_event_type_name"))
    if tracker == "linear":
        return as_text(body.get("type")), as_text(body.get("action"))
    kind = as_text(body.get("eventType")) or as_text(body.get("type"))
    return kind, as_text(body.get("action"))
