"""Attacks on the Azure DevOps delivery URL (SPEC §9, §16), on SQLite and PostgreSQL.

Azure DevOps service hooks sign nothing: the registration's secret travels
as the basic authentication password or as ``X-Webhook-Secret``. What is
tried here: no secret, a wrong one, the secret as the user name, another
organization's registration and secret, a registration of another tracker,
malformed and oversized ``Authorization`` headers, a body far too big, and
the same delivery twice at once.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from api.app import create_app
from domain.issue import Issue, issue_id
from entrypoints.bootstrap import Runtime

BODY = (
    Path(__file__).resolve().parents[1]
    / "fixtures"
    / "trackers"
    / "azure_devops"
    / "workitem.updated.asplabs.json"
).read_bytes()


def basic(password: str, user: str = "okr") -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime)) as test_client:
        yield test_client


def log_end(runtime: Runtime) -> int:
    return runtime.app.recorder.max_notification_id() or 0


def stored(runtime: Runtime, organization: str) -> Issue | None:
    key = issue_id(organization, "azure_devops", "5")
    if key not in runtime.app.repository:
        return None
    issue: object = runtime.app.repository.get(key)
    assert isinstance(issue, Issue)
    return issue


def assert_unauthorized(answer: Response) -> None:
    assert answer.status_code == 401, answer.text
    assert answer.json()["error"]["code"] == "unauthorized"


def test_only_the_registrations_secret_lets_a_delivery_in(
    runtime: Runtime, client: TestClient
) -> None:
    mine = runtime.webhooks.create("acme", "azure_devops")
    theirs = runtime.webhooks.create("globex", "azure_devops")
    for headers in (
        {},
        basic("not-the-secret"),
        basic("okr", user=mine.secret),  # the secret as the user name
        basic(theirs.secret),  # another organization's secret
        {"X-Webhook-Secret": theirs.secret},
        {"X-Hub-Signature": mine.secret, "X-Gitlab-Token": mine.secret},  # other trackers' ways
        {"Authorization": f"Bearer {mine.secret}"},
        {"Authorization": "Basic " + "A" * 20_000},
        {"Authorization": "Basic %%%"},
        {"Authorization": "Basic " + base64.b64encode(b"\xff\xfe:\xfd").decode()},
    ):
        assert_unauthorized(client.post(mine.url, content=BODY, headers=headers))
    assert log_end(runtime) == 0, "a refused delivery recorded something"

    good = client.post(mine.url, content=BODY, headers=basic(mine.secret))
    assert good.status_code == 200, good.text
    assert stored(runtime, "acme") is not None
    assert stored(runtime, "globex") is None  # the organization is the registration's


def test_another_trackers_registration_does_not_take_azure_devops(
    runtime: Runtime, client: TestClient
) -> None:
    jira = runtime.webhooks.create("acme", "jira")
    url = jira.url.replace("/jira/", "/azure_devops/")
    assert client.post(url, content=BODY, headers=basic(jira.secret)).status_code == 404
    assert log_end(runtime) == 0


def test_a_body_far_too_big_is_refused_before_anything(
    runtime: Runtime, client: TestClient
) -> None:
    registration = runtime.webhooks.create("acme", "azure_devops")
    document = json.loads(BODY)
    document["padding"] = "x" * (runtime.settings.max_webhook_body_bytes + 1)
    answer = client.post(
        registration.url, content=json.dumps(document).encode(), headers=basic(registration.secret)
    )
    assert answer.status_code == 413, answer.text
    assert log_end(runtime) == 0


def test_the_same_delivery_twice_at_once_is_applied_once(
    runtime: Runtime, client: TestClient
) -> None:
    registration = runtime.webhooks.create("acme", "azure_devops")
    barrier = threading.Barrier(2)
    answers: list[Response] = []

    def deliver() -> None:
        barrier.wait()
        answers.append(
            client.post(registration.url, content=BODY, headers=basic(registration.secret))
        )

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(a.status_code for a in answers) == [200, 200], [a.text for a in answers]
    assert sorted(a.json()["applied"] for a in answers) == [False, True]
    issue = stored(runtime, "acme")
    assert issue is not None and len(issue.applied_event_ids) == 1
