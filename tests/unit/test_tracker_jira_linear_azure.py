"""Jira, Linear and Azure DevOps adapters on real published payloads (SPEC §16).

Every JSON file under tests/fixtures/trackers/{jira,linear,azure_devops}
(sources in tests/fixtures/trackers/SOURCES.md) must have a hand-checked
entry in ``EXPECTED``: the event it becomes, or why it is ignored. Cases no
published sample shows (a state category, a cleared estimate, a move) are
one field changed on a real payload, and say which.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consumers.issue_event import InvalidIssueEvent, encode_issue_event, parse_issue_event
from consumers.trackers import (
    UnsupportedPayload,
    adapt,
    azure_devops,
    jira,
    linear,
)
from consumers.trackers._common import KEEP_ESTIMATE
from consumers.trackers.azure_devops_states import WELL_KNOWN_STATES
from consumers.trackers.jira_story_points import story_points
from consumers.trackers.mapping import TrackerMapping
from tests.tracker_event_kinds import LOCAL_FIXTURES_DIR, load_local, published_kinds

TRACKERS = ("jira", "linear", "azure_devops")


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def local_files() -> list[Path]:
    return sorted(path for t in TRACKERS for path in (LOCAL_FIXTURES_DIR / t).glob("*.json"))


def ignored(why: str) -> dict[str, Any]:
    return {"ignored": why}


MM_TES_41 = {
    "issue_key": "TES-41",
    "title": "Unit test summary 1",
    "url": "https://some-instance-test.atlassian.net/browse/TES-41",
}
AZURE_BUG_5 = {"issue_key": "5", "title": "Some great new idea!"}
AZURE_EDIT_5 = "http://good-company.some.ssl.host/DefaultCollection/_workitems/edit/5"

# Hand-checked against each payload.
EXPECTED: dict[tuple[str, str], dict[str, Any]] = {
    # --- Jira (webhookEvent decides; comments and deletion are ignored).
    ("jira", "comment_created.cloud.jenkins-jira-trigger.json"): ignored("comment_created"),
    ("jira", "webhook-cloud-comment-created.mattermost.json"): ignored("comment_created"),
    ("jira", "webhook-cloud-comment-updated.mattermost.json"): ignored("comment_updated"),
    ("jira", "webhook-cloud-comment-deleted.mattermost.json"): ignored("comment_deleted"),
    ("jira", "webhook-server-comment-created.mattermost.json"): ignored("comment_created"),
    ("jira", "webhook-issue-deleted.mattermost.json"): ignored("deletion is not a status"),
    # A custom field unrelated to story points changed: status only.
    ("jira", "issue_updated.custom_field.jenkins-jira-trigger.json"): {
        "issue_key": "TEST-16",
        "status": "todo",
        "raw_status": "To Do",
        "occurred_at": "2016-12-08T07:56:23.733Z",
    },
    ("jira", "webhook-cloud-issue-created-many-fields.mattermost.json"): {
        "issue_key": "KT-22",
        "status": "todo",
        "raw_status": "To Do",
        "title": "Lots of fields selected",
        "url": "https://mmtest.atlassian.net/browse/KT-22",
    },
    ("jira", "webhook-cloud-issue-updated-custom-field.mattermost.json"): {
        "issue_key": "TES-14",
        "status": "todo",
        "occurred_at": "2019-08-12T01:49:13.414Z",
    },
    # issue_event_type_name issue_commented: still a snapshot of the status.
    ("jira", "webhook-issue-comment-created-indentation.mattermost.json"): {
        "issue_key": "TEST-4",
        "status": "todo",
        "url": "http://localhost:8082/browse/TEST-4",
    },
    ("jira", "webhook-issue-updated-started-working.mattermost.json"): {
        **MM_TES_41,
        "status": "in_progress",
        "raw_status": "In Progress",
        "occurred_at": "2019-02-16T03:14:22.039Z",
    },
    ("jira", "webhook-issue-updated-resolved.mattermost.json"): {
        **MM_TES_41,
        "status": "done",
        "raw_status": "Done",
    },
    # Resolution "Done" removed and status back to "To Do" (category new).
    ("jira", "webhook-issue-updated-reopened.mattermost.json"): {
        **MM_TES_41,
        "status": "todo",
        "raw_status": "To Do",
    },
    ("jira", "webhook-issue-updated-sprint.mattermost.json"): {**MM_TES_41, "status": "todo"},
    ("jira", "webhook-server-issue-updated-closed.mattermost.json"): {
        "issue_key": "TES-4",
        "status": "done",
        "raw_status": "Closed",
        "occurred_at": "2019-08-14T03:07:58.358Z",
    },
    ("jira", "webhook-server-issue-updated-resolved.mattermost.json"): {
        "issue_key": "TES-4",
        "status": "done",
        "raw_status": "Resolved",
    },
    # --- Linear.
    ("linear", "updateIssueEstimated.korosuke613.json"): {
        "issue_key": "KOR-11",
        "status": "todo",
        "raw_status": "Todo",
        "estimate": 1.0,
        "occurred_at": "2021-01-30T11:31:12.983Z",
        "url": "https://linear.app/korosuke613/issue/KOR-11/webhook-test",
    },
    ("linear", "updateIssueDueDate.korosuke613.json"): {
        "issue_key": "KOR-11",
        "status": "todo",
        "raw_status": "Todo",
    },
    # --- Azure DevOps: the update's own id is 2 and workItemId 0; the item is 5.
    ("azure_devops", "workitem.updated.asplabs.json"): {
        **AZURE_BUG_5,
        "status": "todo",
        "raw_status": "Approved",
        "occurred_at": "2014-07-15T17:42:44.663Z",
        "url": AZURE_EDIT_5,
    },
    ("azure_devops", "workitem.created.asplabs.json"): {
        **AZURE_BUG_5,
        "status": "todo",
        "raw_status": "New",
        "occurred_at": "2014-07-15T17:42:44.663Z",
        "url": AZURE_EDIT_5,
    },
    ("azure_devops", "workitem.deleted.asplabs.json"): {
        **AZURE_BUG_5,
        "status": "cancelled",
        "raw_status": "deleted",
        "occurred_at": "2016-05-02T19:17:28.3644564Z",
    },
    ("azure_devops", "workitem.restored.asplabs.json"): {
        **AZURE_BUG_5,
        "status": "todo",
        "raw_status": "New",
        "occurred_at": "2016-05-02T19:18:15.5707279Z",
        "url": "https://good-company.some.ssl.host/web/wi.aspx?id=d81542e4-cdfa-4333-b082-1ae2d6c3ad16&id=5",
    },
    ("azure_devops", "workitem.commented.asplabs.json"): ignored("a comment"),
    ("azure_devops", "build.complete.asplabs.json"): ignored("builds"),
    ("azure_devops", "tfvc.checkin.asplabs.json"): ignored("code events"),
    ("azure_devops", "message.posted.asplabs.json"): ignored("not a work item state event"),
}


def params() -> list[Any]:
    return [pytest.param(p, id=f"{p.parent.name}/{p.name}") for p in local_files()]


@pytest.mark.parametrize("path", params())
def test_real_payload_maps_to_its_hand_checked_event(path: Path) -> None:
    expected = EXPECTED.get((path.parent.name, path.name))
    assert expected is not None, f"no hand-checked entry for {path.parent.name}/{path.name}"
    payload = json.loads(path.read_bytes())
    if "ignored" in expected:
        with pytest.raises(UnsupportedPayload, match=re.escape(expected["ignored"])):
            adapt(path.parent.name, payload, {})
        return
    event = adapt(path.parent.name, payload, {})
    for name, value in expected.items():
        got = getattr(event, name)
        assert got == (utc(value) if name == "occurred_at" else value), name
    assert event.tracker == path.parent.name
    assert parse_issue_event(encode_issue_event(event)) == event


def test_every_hand_checked_payload_is_on_disk() -> None:
    on_disk = {(p.parent.name, p.name) for p in local_files()}
    assert set(EXPECTED) == on_disk


@pytest.mark.parametrize("tracker", TRACKERS)
@pytest.mark.parametrize("payload", [[], "issue", None, 42, {}, {"hello": "world"}])
def test_a_body_that_is_not_the_trackers_json_is_invalid(tracker: str, payload: Any) -> None:
    with pytest.raises(InvalidIssueEvent):
        adapt(tracker, payload, {})


@pytest.mark.parametrize(
    ("tracker", "kind", "payload"),
    [pytest.param(*case, id=f"{case[0]}:{case[1]}") for case in published_kinds()],
)
def test_every_published_kind_is_mapped_or_ignored_never_invalid(
    tracker: str, kind: str, payload: dict[str, Any]
) -> None:
    try:
        event = adapt(tracker, payload, {})
    except UnsupportedPayload as why:
        assert str(why).startswith(f"{tracker}: ")
    else:
        assert event.tracker == tracker


# --- Jira ---------------------------------------------------------------------------------------


def jira_payload(name: str = "webhook-issue-updated-resolved.mattermost.json") -> dict[str, Any]:
    return load_local("jira", name)


def with_status(category: str, name: str, resolution: str | None) -> dict[str, Any]:
    payload = jira_payload()
    status = payload["issue"]["fields"]["status"]
    status["name"], status["statusCategory"]["key"] = name, category
    payload["issue"]["fields"]["resolution"] = None if resolution is None else {"name": resolution}
    return payload


@pytest.mark.parametrize(
    ("mapping", "category", "name", "resolution", "status"),
    [
        # A status name the registration maps wins over its category, and is final.
        ({"QA": "in_progress"}, "done", "QA", None, "in_progress"),
        ({"won't do": "done"}, "done", "Won't Do", "Won't Do", "done"),
        # A category the registration maps, then the not-done resolutions still apply.
        ({"indeterminate": "todo"}, "indeterminate", "Review", None, "todo"),
        ({"new": "in_progress"}, "new", "Backlog", None, "in_progress"),
        ({"done": "done"}, "done", "Closed", "Duplicate", "cancelled"),
        # A value that is not a canonical status is not a mapping.
        ({"QA": "shipped"}, "indeterminate", "QA", None, "in_progress"),
        # No mapping: categories, and resolutions that say "not done".
        ({}, "done", "Done", "Won't Do", "cancelled"),
        ({}, "done", "Done", "Duplicate", "cancelled"),
        ({}, "done", "Done", "Done", "done"),
    ],
)
def test_jira_status_follows_the_mapping_then_the_category(
    mapping: dict[str, str], category: str, name: str, resolution: str | None, status: str
) -> None:
    payload = with_status(category, name, resolution)
    event = jira.adapt(payload, {}, TrackerMapping(statuses=mapping))
    assert (event.status, event.raw_status) == (status, name)


def test_jira_issue_moved_to_another_project_cancels_its_old_key() -> None:
    # Derived: the real "resolved" payload with the changelog items Jira adds
    # when an issue is moved (field "Key", and "project"); the issue is Done
    # in the new project, but the old key's work was not finished there.
    payload = jira_payload()
    payload["changelog"]["items"] += [
        {"field": "project", "fieldtype": "jira", "fieldId": "project", "from": "10000",
         "fromString": "test1", "to": "10001", "toString": "Other"},
        {"field": "Key", "fieldtype": "jira", "from": None, "fromString": "OLD-7",
         "to": None, "toString": "TES-41"},
    ]  # fmt: skip
    event = jira.adapt(payload, {})
    assert (event.issue_key, event.status, event.raw_status) == (
        "OLD-7",
        "cancelled",
        "moved to TES-41",
    )
    assert event.url == "https://some-instance-test.atlassian.net/browse/OLD-7"
    # A Key item naming the same key is no move.
    payload["changelog"]["items"][-1]["fromString"] = "TES-41"
    assert jira.adapt(payload, {}).status == "done"


CUSTOM_FIELD = "webhook-cloud-issue-updated-custom-field.mattermost.json"


def test_jira_story_points_from_the_registrations_field_id_or_name() -> None:
    payload = jira_payload(CUSTOM_FIELD)  # real: customfield_10072 changed 1 → 12
    issue = payload["issue"]
    by_id = TrackerMapping(estimate_field="customfield_10072")
    by_name = TrackerMapping(estimate_field="MJK - Number Field")
    assert story_points(payload, issue, by_id) == 12.0
    assert story_points(payload, issue, by_name) == 12.0
    assert jira.adapt(payload, {}, by_id).estimate == 12.0
    # Not configured, not named "Story Points": the delivery says nothing of it.
    assert story_points(payload, issue, TrackerMapping()) is KEEP_ESTIMATE


def test_jira_story_points_emptied_in_jira_are_cleared() -> None:
    # Derived: the same real payload with the number field emptied (Jira
    # sends toString null and the field null; from/to are null for numbers).
    payload = jira_payload(CUSTOM_FIELD)
    payload["changelog"]["items"][0]["toString"] = None
    payload["issue"]["fields"]["customfield_10072"] = None
    mapping = TrackerMapping(estimate_field="customfield_10072")
    assert story_points(payload, payload["issue"], mapping) is None


def test_jira_story_points_by_their_default_names() -> None:
    # Derived: the real payload's item renamed as Jira Cloud names the field.
    payload = jira_payload(CUSTOM_FIELD)
    payload["changelog"]["items"][0]["field"] = "Story point estimate"
    assert story_points(payload, payload["issue"], TrackerMapping()) == 12.0
    payload["changelog"]["items"][0]["field"] = "Story Points"
    payload["issue"]["fields"]["customfield_10072"] = None
    assert story_points(payload, payload["issue"], TrackerMapping()) == 12.0  # toString
    payload["changelog"]["items"][0]["toString"] = ""
    assert story_points(payload, payload["issue"], TrackerMapping()) is None


def test_jira_without_an_estimate_change_keeps_the_estimate_unless_the_field_says_one() -> None:
    payload = jira_payload()  # real: resolution and status changed, no estimate
    mapping = TrackerMapping(estimate_field="customfield_10072")
    assert story_points(payload, payload["issue"], mapping) is KEEP_ESTIMATE
    payload["issue"]["fields"]["customfield_10072"] = 3
    assert story_points(payload, payload["issue"], mapping) == 3.0


def test_jira_non_numeric_new_value_says_nothing() -> None:
    payload = load_local("jira", "issue_updated.custom_field.jenkins-jira-trigger.json")
    mapping = TrackerMapping(estimate_field="My Customer Custom Field")  # "Barclays"
    assert story_points(payload, payload["issue"], mapping) is KEEP_ESTIMATE


# --- Linear ---------------------------------------------------------------------------------------


def linear_payload(**data: Any) -> dict[str, Any]:
    payload = load_local("linear", "updateIssueEstimated.korosuke613.json")
    payload["data"].update(data)
    return payload


@pytest.mark.parametrize(
    ("state_type", "mapping", "status"),
    [
        ("triage", {}, "todo"),
        ("backlog", {}, "todo"),
        ("unstarted", {}, "todo"),
        ("started", {}, "in_progress"),
        ("completed", {}, "done"),
        ("canceled", {}, "cancelled"),
        # The state name first, then the type.
        ("started", {"In Review": "done"}, "done"),
        ("started", {"started": "todo"}, "todo"),
        # A type Linear adds later, mapped by the team.
        ("paused", {"In Review": "in_progress"}, "in_progress"),
        ("paused", {"paused": "todo"}, "todo"),
    ],
)
def test_linear_state_by_mapping_then_type(
    state_type: str, mapping: dict[str, str], status: str
) -> None:
    payload = linear_payload(state={"id": "s", "name": "In Review", "type": state_type})
    event = linear.adapt(payload, {}, TrackerMapping(statuses=mapping))
    assert (event.status, event.raw_status) == (status, "In Review")


def test_linear_duplicate_is_cancelled_not_done() -> None:
    # Derived: Linear moves an issue marked as a duplicate to its canceled-type
    # "Duplicate" state.
    payload = linear_payload(state={"id": "s", "name": "Duplicate", "type": "canceled"})
    assert linear.adapt(payload, {}).status == "cancelled"


def test_linear_unknown_state_type_is_ignored_with_the_state_named() -> None:
    payload = linear_payload(state={"id": "s", "name": "Paused", "type": "paused"})
    with pytest.raises(UnsupportedPayload, match="'Paused' has type 'paused'"):
        linear.adapt(payload, {})


def test_linear_issue_moved_to_another_team_cancels_its_old_identifier() -> None:
    # Derived from the real payload, by the SDK schema: a move changes teamId
    # (old value in updatedFrom) and appends the old identifier to
    # previousIdentifiers. No published payload of a move was found.
    payload = linear_payload(previousIdentifiers=["OPS-3"])
    payload["updatedFrom"]["teamId"] = "0b5c4d2e-old-team"
    event = linear.adapt(payload, {})
    assert (event.issue_key, event.status, event.raw_status) == (
        "OPS-3",
        "cancelled",
        "moved to KOR-11",
    )
    # Not a move: the team did not change, or there is no earlier identifier.
    payload["updatedFrom"]["teamId"] = payload["data"]["teamId"]
    assert linear.adapt(payload, {}).issue_key == "KOR-11"
    moved_without_history = linear_payload()  # real: previousIdentifiers []
    moved_without_history["updatedFrom"]["teamId"] = "0b5c4d2e-old-team"
    assert linear.adapt(moved_without_history, {}).issue_key == "KOR-11"


def test_linear_estimate_set_cleared_or_unsaid() -> None:
    real = load_local("linear", "updateIssueEstimated.korosuke613.json")
    assert linear.estimate_said(real) == 1.0  # set: null → 1
    # Derived: the reverse edit, 1 → null.
    cleared = copy.deepcopy(real)
    cleared["data"]["estimate"], cleared["updatedFrom"]["estimate"] = None, 1
    assert linear.estimate_said(cleared) is None
    # Real: a due-date edit lists estimate null → null in updatedFrom: no change.
    due = load_local("linear", "updateIssueDueDate.korosuke613.json")
    assert linear.estimate_said(due) is KEEP_ESTIMATE
    # Derived: no updatedFrom at all (create).
    created = copy.deepcopy(due)
    del created["updatedFrom"]
    created["action"] = "create"
    assert linear.estimate_said(created) is KEEP_ESTIMATE


@pytest.mark.parametrize("entity", ["Comment", "Project", "Cycle", "IssueLabel", "IssueSLA"])
def test_linear_other_entities_and_remove_are_ignored(entity: str) -> None:
    with pytest.raises(UnsupportedPayload, match=f"type '{entity}'"):
        linear.adapt({**linear_payload(), "type": entity}, {})
    with pytest.raises(UnsupportedPayload, match="'remove'"):
        linear.adapt({**linear_payload(), "action": "remove"}, {})


# --- Azure DevOps ------------------------------------------------------------------------------


def azure_update(**changes: Any) -> dict[str, Any]:
    """The real workitem.updated sample with ``resource.fields`` changes replaced."""
    payload = load_local("azure_devops", "workitem.updated.asplabs.json")
    payload["resource"]["fields"].update(changes)
    return payload


@pytest.mark.parametrize("state", sorted(WELL_KNOWN_STATES))
def test_azure_every_shipped_state_maps_by_its_category(state: str) -> None:
    category = WELL_KNOWN_STATES[state]
    expected = {
        "Proposed": "todo",
        "InProgress": "in_progress",
        "Resolved": "done",
        "Completed": "done",
        "Removed": "cancelled",
    }[category]
    name = state.title()
    payload = azure_update(**{"System.State": {"oldValue": "New", "newValue": name}})
    payload["resource"]["fields"]["System.Reason"] = {"newValue": "Work finished"}
    event = azure_devops.adapt(payload, {})
    assert (event.status, event.raw_status) == (expected, name)


@pytest.mark.parametrize(
    ("state", "reason", "status"),
    [
        ("Closed", "Duplicate", "cancelled"),
        ("Resolved", "As Designed", "cancelled"),
        ("Done", "Won't Fix", "cancelled"),
        ("Closed", "Verified", "done"),
        ("Active", "Duplicate", "in_progress"),  # only a done state is checked
    ],
)
def test_azure_a_done_state_with_a_not_done_reason_is_cancelled(
    state: str, reason: str, status: str
) -> None:
    payload = azure_update(
        **{
            "System.State": {"oldValue": "New", "newValue": state},
            "System.Reason": {"oldValue": "New defect reported", "newValue": reason},
        }
    )
    assert azure_devops.adapt(payload, {}).status == status


def test_azure_a_teams_own_state_needs_the_mapping() -> None:
    payload = azure_update(**{"System.State": {"oldValue": "New", "newValue": "Ready for QA"}})
    with pytest.raises(UnsupportedPayload, match="'Ready for QA'"):
        azure_devops.adapt(payload, {})
    mapping = TrackerMapping(statuses={"ready for qa": "in_progress"})
    assert azure_devops.adapt(payload, {}, mapping).status == "in_progress"
    # A category can be remapped for the shipped states too.
    resolved = azure_update(**{"System.State": {"oldValue": "Active", "newValue": "Resolved"}})
    remapped = TrackerMapping(statuses={"Resolved": "in_progress"})
    assert azure_devops.adapt(resolved, {}, remapped).status == "in_progress"


def test_azure_state_falls_back_to_the_revision_when_unchanged() -> None:
    payload = load_local("azure_devops", "workitem.updated.asplabs.json")
    del payload["resource"]["fields"]["System.State"]
    assert azure_devops.adapt(payload, {}).raw_status == "New"  # revision.fields


@pytest.mark.parametrize("field", azure_devops.ESTIMATE_FIELDS)
def test_azure_estimate_set_cleared_or_unsaid(field: str) -> None:
    assert azure_devops.estimate_said(azure_update(**{field: {"newValue": 5}})) == 5.0
    assert azure_devops.estimate_said(azure_update(**{field: {"oldValue": 5}})) is None
    unchanged = azure_update()
    assert azure_devops.estimate_said(unchanged) is KEEP_ESTIMATE
    unchanged["resource"]["revision"]["fields"][field] = 8
    assert azure_devops.estimate_said(unchanged) == 8.0
    created = load_local("azure_devops", "workitem.created.asplabs.json")
    assert azure_devops.estimate_said(created) is KEEP_ESTIMATE
    created["resource"]["fields"][field] = 2.5
    assert azure_devops.estimate_said(created) == 2.5


def test_azure_estimate_from_the_registrations_field() -> None:
    custom = "Custom.TShirtPoints"
    payload = azure_update(**{custom: {"oldValue": 1, "newValue": 13}})
    payload["resource"]["fields"]["Microsoft.VSTS.Scheduling.StoryPoints"] = {"newValue": 2}
    assert azure_devops.estimate_said(payload, TrackerMapping(estimate_field=custom)) == 13.0
    assert azure_devops.estimate_said(payload) == 2.0


def test_azure_work_item_id_prefers_work_item_id_then_revision() -> None:
    payload = load_local("azure_devops", "workitem.updated.asplabs.json")
    payload["resource"]["workItemId"] = 42
    assert azure_devops.adapt(payload, {}).issue_key == "42"
    del payload["resource"]["workItemId"]
    del payload["resource"]["revision"]["id"]
    with pytest.raises(UnsupportedPayload, match="no work item id"):
        azure_devops.adapt(payload, {})


@pytest.mark.parametrize("event", ["created", "updated", "restored"])
def test_azure_a_subscription_without_resource_details_is_ignored_with_the_fix(
    event: str,
) -> None:
    # Derived: "Resource details to send: Minimal" keeps only the id and URL
    # of the resource, "None" drops it; both are genuine deliveries.
    payload = load_local("azure_devops", f"workitem.{event}.asplabs.json")
    resource = payload["resource"]
    payload["resource"] = {"id": resource["id"], "url": resource["url"]}
    if event == "updated":
        payload["resource"]["workItemId"] = 5
    with pytest.raises(UnsupportedPayload, match="Resource details to send"):
        azure_devops.adapt(payload, {})
    del payload["resource"]
    with pytest.raises(UnsupportedPayload, match="Resource details to send"):
        azure_devops.adapt(payload, {})


SECRET = "s3cret-for-azure"


def basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def test_azure_secret_as_basic_auth_password_or_header() -> None:
    body = (LOCAL_FIXTURES_DIR / "azure_devops" / "workitem.updated.asplabs.json").read_bytes()
    assert azure_devops.verify(body, basic("okr", SECRET), SECRET)
    assert azure_devops.verify(body, basic("", SECRET), SECRET)
    assert azure_devops.verify(body, {"x-webhook-secret": SECRET}, SECRET)
    assert not azure_devops.verify(body, basic("okr", SECRET + "x"), SECRET)
    assert not azure_devops.verify(body, basic(SECRET, "okr"), SECRET)  # user is not the secret
    assert not azure_devops.verify(body, {"X-Webhook-Secret": SECRET.upper()}, SECRET)
    assert not azure_devops.verify(body, {}, SECRET)
    assert not azure_devops.verify(body, basic("okr", ""), "")


@pytest.mark.parametrize(
    "value",
    ["", "Basic", "Basic !!!", "Bearer abc", "Basic " + base64.b64encode(b"nocolon").decode(),
     "Basic " + base64.b64encode(b"\xff\xfe:x").decode(), "\x00", "é\udcff"],
)  # fmt: skip
def test_azure_garbage_authorization_fails_without_raising(value: str) -> None:
    assert not azure_devops.verify(b"{}", {"Authorization": value}, SECRET)


# --- robustness ------------------------------------------------------------------------------


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=6,
)


def json_paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    paths: list[tuple[Any, ...]] = []
    children = (
        value.items()
        if isinstance(value, dict)
        else enumerate(value)
        if isinstance(value, list)
        else ()
    )
    for key, child in children:
        paths.append((*prefix, key))
        paths.extend(json_paths(child, (*prefix, key)))
    return paths


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, dict[str, Any], TrackerMapping]:
    path = draw(st.sampled_from(local_files()))
    payload: dict[str, Any] = json.loads(path.read_bytes())
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        target = draw(st.sampled_from(json_paths(payload)))
        parent: Any = payload
        for step in target[:-1]:
            parent = parent[step]
        if draw(st.booleans()):
            del parent[target[-1]]
        else:
            parent[target[-1]] = draw(json_values)
    mapping = TrackerMapping(
        statuses=draw(st.dictionaries(st.text(max_size=8), st.text(max_size=12), max_size=2)),
        estimate_field=draw(st.none() | st.text(max_size=20)),
    )
    return path.parent.name, payload, mapping


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_real_payloads_raise_only_payload_errors(
    case: tuple[str, dict[str, Any], TrackerMapping],
) -> None:
    tracker, payload, mapping = case
    module = {"jira": jira, "linear": linear, "azure_devops": azure_devops}[tracker]
    with contextlib.suppress(UnsupportedPayload, InvalidIssueEvent):
        event = module.adapt(payload, {}, mapping)
        assert event.occurred_at.tzinfo is UTC
