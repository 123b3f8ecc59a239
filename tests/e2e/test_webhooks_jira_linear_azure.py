"""Jira, Linear and Azure DevOps over HTTP: a genuine delivery is never refused (SPEC §16).

Every event kind the three trackers' published schemas list
(tests/tracker_event_kinds.py), correctly signed, is posted to a
registration's URL: none gets a 4xx. Issue kinds are applied (200 in
embedded mode), the others acknowledged and ignored with their reason (202).
Azure DevOps, the fifth tracker, is also checked end to end: its secret, and
a deleted then restored work item.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from consumers.trackers import adapt
from tests.e2e.test_webhooks import (
    Client,
    make_client,
    runtime_of,
    signature_headers,
    stored_issue,
)
from tests.tracker_event_kinds import LOCAL_FIXTURES_DIR, published_kinds

__all__ = ["make_client"]  # the fixture, imported so pytest finds it here


def deliver(client: TestClient, tracker: str, payload: dict[str, Any]) -> Any:
    registration = runtime_of(client).webhooks.create("default", tracker)
    if tracker == "linear":  # a signed Linear delivery must be fresh
        payload = {**payload, "webhookTimestamp": int(time.time() * 1000)}
    body = json.dumps(payload).encode()
    headers = signature_headers(tracker, body, registration.secret)
    return client.post(registration.url, content=body, headers=headers)


@pytest.mark.parametrize("tracker", ["jira", "linear", "azure_devops"])
def test_every_published_kind_correctly_signed_is_never_refused(
    make_client: Client, tracker: str
) -> None:
    client = make_client()
    refused, answered = [], {}
    for kind_tracker, kind, payload in published_kinds():
        if kind_tracker != tracker:
            continue
        answer = deliver(client, tracker, payload)
        answered[kind] = answer.status_code
        if answer.status_code >= 400:
            refused.append(f"{kind}: {answer.status_code} {answer.text[:200]}")
        elif answer.status_code == 202:
            assert answer.json()["ignored"].startswith(f"{tracker}: "), kind
    assert not refused, "\n".join(refused)
    assert set(answered.values()) <= {200, 202}
    assert 200 in answered.values() and 202 in answered.values()


@pytest.mark.parametrize("tracker", ["jira", "linear", "azure_devops"])
def test_every_real_payload_of_this_repository_is_accepted(
    make_client: Client, tracker: str
) -> None:
    client = make_client()
    for path in sorted((LOCAL_FIXTURES_DIR / tracker).glob("*.json")):
        answer = deliver(client, tracker, json.loads(path.read_bytes()))
        assert answer.status_code in (200, 202), f"{path.name}: {answer.text}"


def azure_hook(client: TestClient) -> tuple[str, str]:
    registration = runtime_of(client).webhooks.create("default", "azure_devops")
    return registration.url, registration.secret


def test_azure_devops_secret_is_checked(make_client: Client) -> None:
    client = make_client()
    url, secret = azure_hook(client)
    body = (LOCAL_FIXTURES_DIR / "azure_devops" / "workitem.updated.asplabs.json").read_bytes()
    assert client.post(url, content=body).status_code == 401
    wrong = client.post(
        url, content=body, headers=signature_headers("azure_devops", body, "not-it")
    )
    assert wrong.status_code == 401
    assert wrong.json()["error"]["code"] == "unauthorized"
    header = client.post(url, content=body, headers={"X-Webhook-Secret": secret + "x"})
    assert header.status_code == 401
    # Nothing was applied by the refused deliveries.
    assert runtime_of(client).app.recorder.max_notification_id() in (None, 0)
    by_header = client.post(url, content=body, headers={"X-Webhook-Secret": secret})
    assert by_header.status_code == 200, by_header.text
    by_basic = client.post(
        url, content=body, headers=signature_headers("azure_devops", body, secret)
    )
    assert by_basic.status_code == 200
    assert by_basic.json()["duplicate"] is True  # the same body: the same event


def test_azure_devops_deleted_then_restored_work_item(make_client: Client) -> None:
    client = make_client()
    url, secret = azure_hook(client)
    for name, status in (("workitem.deleted", "cancelled"), ("workitem.restored", "todo")):
        body = (LOCAL_FIXTURES_DIR / "azure_devops" / f"{name}.asplabs.json").read_bytes()
        answer = client.post(
            url, content=body, headers=signature_headers("azure_devops", body, secret)
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["applied"] is True
        expected = adapt("azure_devops", json.loads(body), {})
        issue = stored_issue(client, "default", "azure_devops", "5")
        assert issue.status == status == expected.status


def test_a_linear_state_type_met_for_the_first_time_is_acknowledged_not_refused(
    make_client: Client,
) -> None:
    # Issue 16: this was answered 422, and Linear disables a failing webhook.
    # Seen failing (422) on the old adapter.
    client = make_client()
    path = LOCAL_FIXTURES_DIR / "linear" / "updateIssueEstimated.korosuke613.json"
    payload = json.loads(path.read_bytes())
    payload["data"]["state"] = {"id": "s", "name": "Paused", "color": "#000", "type": "paused"}
    answer = deliver(client, "linear", payload)
    assert answer.status_code == 202, answer.text
    assert "'paused'" in answer.json()["ignored"]
