"""Every event kind Jira, Linear and Azure DevOps publish, as a delivery to post (SPEC §16).

The lists are copied from each tracker's published schema (sources in
tests/fixtures/trackers/SOURCES.md): jira.js ``src/webhooks/events.ts``
(Atlassian's event names), Linear's SDK (``WebhookResourceType`` and the
payload union in ``packages/sdk/src/webhooks/types.ts``) and Microsoft's
"Service hook events" page. A kind with a real published sample uses it
unchanged; every other kind is the real envelope closest to it with only
its discriminator (``webhookEvent``, ``type``/``action``, ``eventType``)
swapped, which is all an adapter reads before ignoring it.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, Final

LOCAL_FIXTURES_DIR: Final = Path(__file__).resolve().parent / "fixtures" / "trackers"

JIRA_WEBHOOK_EVENTS: Final = (
    "jira:issue_created",
    "jira:issue_updated",
    "jira:issue_deleted",
    "issue_property_set",
    "issue_property_deleted",
    "worklog_created",
    "worklog_updated",
    "worklog_deleted",
    "comment_created",
    "comment_updated",
    "comment_deleted",
    "attachment_created",
    "attachment_deleted",
    "issuelink_created",
    "issuelink_deleted",
    "issuetype_created",
    "issuetype_updated",
    "issuetype_deleted",
    "project_created",
    "project_updated",
    "project_deleted",
    "project_soft_deleted",
    "project_restored_deleted",
    "project_archived",
    "project_restored_archived",
    "jira:version_created",
    "jira:version_updated",
    "jira:version_deleted",
    "jira:version_released",
    "jira:version_unreleased",
    "jira:version_moved",
    "jira:version_merged",
    "filter_created",
    "filter_updated",
    "filter_deleted",
    "user_created",
    "user_updated",
    "user_deleted",
    "option_voting_changed",
    "option_watching_changed",
    "option_unassigned_issues_changed",
    "option_subtasks_changed",
    "option_issuelinks_changed",
    "option_timetracking_changed",
    "option_timetracking_provider_changed",
    "sprint_created",
    "sprint_updated",
    "sprint_deleted",
    "sprint_started",
    "sprint_closed",
    "board_created",
    "board_updated",
    "board_deleted",
    "board_configuration_changed",
    "app_access_to_objects_blocked",
    "app_access_to_objects_in_container_blocked",
    "jira_expression_evaluation_failed",
)

LINEAR_ENTITY_TYPES: Final = (
    "Attachment",
    "AuditEntry",
    "Comment",
    "Customer",
    "CustomerNeed",
    "Cycle",
    "Document",
    "Initiative",
    "InitiativeUpdate",
    "Issue",
    "IssueLabel",
    "Project",
    "ProjectLabel",
    "ProjectUpdate",
    "Reaction",
    "Release",
    "ReleaseNote",
    "User",
)
LINEAR_ENTITY_ACTIONS: Final = ("create", "update", "remove")
LINEAR_OTHER_WEBHOOKS: Final = (
    ("IssueSLA", "set"),
    ("IssueSLA", "highRisk"),
    ("IssueSLA", "breached"),
    ("OAuthApp", "revoked"),
    ("OAuthAuthorization", "create"),
    ("AppUserNotification", "issueAssignedToYou"),
    ("AppUserTeamAccessChanged", "update"),
    ("PermissionChange", "update"),
    ("AgentSessionEvent", "created"),
    ("AgentSessionEvent", "prompted"),
)

AZURE_DEVOPS_EVENT_TYPES: Final = (
    "build.complete",
    "ms.vss-release.release-created-event",
    "ms.vss-release.release-abandoned-event",
    "ms.vss-release.deployment-approval-completed-event",
    "ms.vss-release.deployment-approval-pending-event",
    "ms.vss-release.deployment-completed-event",
    "ms.vss-release.deployment-started-event",
    "ms.azure-devops-release.release-created-event",
    "ms.azure-devops-release.release-abandoned-event",
    "ms.vss-pipelines.run-state-changed-event",
    "run.statechanged",
    "run.stagestatechanged",
    "run.stageapprovalpending",
    "run.stageapprovalcompleted",
    "tfvc.checkin",
    "git.push",
    "git.pullrequest.created",
    "git.pullrequest.merged",
    "git.pullrequest.merge.attempted",
    "git.pullrequest.updated",
    "ms.vss-code.git-pullrequest-comment-event",
    "ms.vss-alerts.alert-created-event",
    "ms.vss-alerts.alert-state-changed-event",
    "ms.vss-alerts.alert-updated-event",
    "message.posted",
    "workitem.created",
    "workitem.updated",
    "workitem.deleted",
    "workitem.restored",
    "workitem.commented",
)

# Kinds with a real published sample of their own.
_REAL_SAMPLES: Final = {
    ("jira", "jira:issue_created"): "webhook-cloud-issue-created-many-fields.mattermost.json",
    ("jira", "jira:issue_updated"): "webhook-issue-updated-started-working.mattermost.json",
    ("jira", "jira:issue_deleted"): "webhook-issue-deleted.mattermost.json",
    ("jira", "comment_created"): "webhook-cloud-comment-created.mattermost.json",
    ("jira", "comment_updated"): "webhook-cloud-comment-updated.mattermost.json",
    ("jira", "comment_deleted"): "webhook-cloud-comment-deleted.mattermost.json",
    ("linear", "Issue/update"): "updateIssueEstimated.korosuke613.json",
    ("azure_devops", "workitem.created"): "workitem.created.asplabs.json",
    ("azure_devops", "workitem.updated"): "workitem.updated.asplabs.json",
    ("azure_devops", "workitem.deleted"): "workitem.deleted.asplabs.json",
    ("azure_devops", "workitem.restored"): "workitem.restored.asplabs.json",
    ("azure_devops", "workitem.commented"): "workitem.commented.asplabs.json",
    ("azure_devops", "build.complete"): "build.complete.asplabs.json",
    ("azure_devops", "tfvc.checkin"): "tfvc.checkin.asplabs.json",
    ("azure_devops", "message.posted"): "message.posted.asplabs.json",
}

# The real envelope a kind without its own sample is derived from.
_ENVELOPES: Final = {
    "jira": "webhook-cloud-comment-created.mattermost.json",
    "linear": "updateIssueEstimated.korosuke613.json",
    "azure_devops": "build.complete.asplabs.json",
}


def load_local(tracker: str, name: str) -> dict[str, Any]:
    """A fixture of this repository (tests/fixtures/trackers/<tracker>/<name>)."""
    document: dict[str, Any] = json.loads((LOCAL_FIXTURES_DIR / tracker / name).read_bytes())
    return document


def _payload(tracker: str, kind: str) -> dict[str, Any]:
    sample = _REAL_SAMPLES.get((tracker, kind))
    if sample is not None:
        return load_local(tracker, sample)
    payload = copy.deepcopy(load_local(tracker, _ENVELOPES[tracker]))
    if tracker == "jira":
        payload["webhookEvent"] = kind
    elif tracker == "linear":
        entity, action = kind.split("/")
        payload["type"], payload["action"] = entity, action
        if entity != "Issue":
            payload["data"] = {"id": "00000000-0000-4000-8000-000000000000"}
    else:
        payload["eventType"] = kind
    return payload


def published_kinds() -> list[tuple[str, str, dict[str, Any]]]:
    """``(tracker, kind, payload)`` for every kind the three trackers publish."""
    kinds = [("jira", event) for event in JIRA_WEBHOOK_EVENTS]
    kinds += [
        ("linear", f"{entity}/{action}")
        for entity in LINEAR_ENTITY_TYPES
        for action in LINEAR_ENTITY_ACTIONS
    ]
    kinds += [("linear", f"{entity}/{action}") for entity, action in LINEAR_OTHER_WEBHOOKS]
    kinds += [("azure_devops", event) for event in AZURE_DEVOPS_EVENT_TYPES]
    return [(tracker, kind, _payload(tracker, kind)) for tracker, kind in kinds]
