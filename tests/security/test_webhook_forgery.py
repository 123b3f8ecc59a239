"""No one can forge, replay or redirect a tracker delivery (SPEC §9, "Webhooks in").

Before registrations, ``POST /v1/webhooks/{tracker}?organization=<any>``
applied an unsigned delivery in any organization when no secret was set (the
default); a signed delivery for one organization replayed with another
``?organization=`` was applied there; and a changed ``X-GitHub-Delivery``
made the same signed body count again. Each test here is one of those
attacks, or one on the registrations themselves, run on both backends.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from api.app import create_app
from api.routers import webhooks
from consumers.publisher import ORGANIZATION_HEADER
from domain.issue import Issue, issue_id
from entrypoints.bootstrap import Runtime, build_runtime
from entrypoints.settings import Settings
from tests.conftest import KAFKA_BOOTSTRAP

Headers = dict[str, str]

ISSUE_KEYS = {"github": "acme/app#7", "gitlab": "acme/app#7", "jira": "ACME-7", "linear": "ENG-7"}


def payload(tracker: str, **changes: Any) -> dict[str, Any]:
    """A small, genuine-looking issue delivery of each tracker, closing issue 7."""
    document: dict[str, Any] = {
        "github": {
            "action": "closed",
            "issue": {
                "number": 7,
                "state": "closed",
                "state_reason": "completed",
                "updated_at": "2026-01-02T10:00:00Z",
                "title": "Ship SSO",
            },
            "repository": {"full_name": "acme/app"},
        },
        "gitlab": {
            "object_kind": "issue",
            "project": {"path_with_namespace": "acme/app"},
            "object_attributes": {
                "iid": 7,
                "state": "closed",
                "updated_at": "2026-01-02T10:00:00Z",
                "title": "Ship SSO",
            },
        },
        "jira": {
            "webhookEvent": "jira:issue_updated",
            "timestamp": 1767348000000,
            "issue": {
                "id": "10001",
                "key": "ACME-7",
                "fields": {
                    "summary": "Ship SSO",
                    "status": {"name": "Done", "statusCategory": {"key": "done"}},
                },
            },
        },
        "linear": {
            "type": "Issue",
            "action": "update",
            "data": {
                "identifier": "ENG-7",
                "title": "Ship SSO",
                "state": {"type": "completed", "name": "Done"},
                "updatedAt": "2026-01-02T10:00:00Z",
            },
            # Linear's freshness check: a signed delivery is refused a minute late.
            "webhookTimestamp": int(time.time() * 1000),
        },
    }[tracker]
    document.update(changes)
    return document


def body_of(tracker: str, **changes: Any) -> bytes:
    return json.dumps(payload(tracker, **changes)).encode()


def signed(tracker: str, body: bytes, secret: str) -> Headers:
    """The headers the tracker sends with a delivery signed with ``secret``."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {
        "github": {"X-GitHub-Event": "issues", "X-Hub-Signature-256": f"sha256={digest}"},
        "gitlab": {"X-Gitlab-Event": "Issue Hook", "X-Gitlab-Token": secret},
        "jira": {"X-Hub-Signature": f"sha256={digest}"},
        "linear": {"Linear-Signature": digest},
    }[tracker]


class Api:
    def __init__(self, client: TestClient, runtime: Runtime) -> None:
        self.client = client
        self.runtime = runtime

    def token(self, user: str, role: str = "admin", org: str = "acme") -> Headers:
        _, token = self.runtime.tokens.create(org, user, role)
        return {"Authorization": f"Bearer {token}"}

    def register(self, who: Headers, tracker: str = "github") -> dict[str, Any]:
        answer = self.client.post(
            "/v1/webhook-registrations", json={"tracker": tracker}, headers=who
        )
        assert answer.status_code == 201, answer.text
        registration: dict[str, Any] = answer.json()
        return registration

    def deliver(self, url: str, body: bytes, headers: Headers | None = None) -> Response:
        answer = self.client.post(url, content=body, headers=headers or {})
        assert answer.status_code < 500, answer.text
        return answer

    def log_end(self) -> int:
        return self.runtime.app.recorder.max_notification_id() or 0

    def issue(self, organization: str, tracker: str) -> Issue | None:
        key = issue_id(organization, tracker, ISSUE_KEYS[tracker])
        if key not in self.runtime.app.repository:
            return None
        issue = self.runtime.app.repository.get(key)
        assert isinstance(issue, Issue)
        return issue


@pytest.fixture
def api(runtime: Runtime) -> Iterator[Api]:
    with TestClient(create_app(runtime)) as client:
        yield Api(client, runtime)


def assert_error(answer: Response, status: int, code: str) -> None:
    assert answer.status_code == status, answer.text
    assert answer.json()["error"]["code"] == code
    assert answer.json()["error"]["message"]


TRACKERS = ["github", "gitlab", "jira", "linear"]


# ------------------------------------------------------------------ signatures


@pytest.mark.parametrize("tracker", TRACKERS)
def test_every_tracker_needs_its_registrations_signature(api: Api, tracker: str) -> None:
    registration = api.register(api.token("ada"), tracker)
    url, secret = registration["url"], registration["secret"]
    assert url == f"/v1/webhooks/{tracker}/{registration['id']}"
    body = body_of(tracker)
    start = api.log_end()

    assert_error(api.deliver(url, body), 401, "unauthorized")
    assert_error(
        api.deliver(url, body, signed(tracker, body, "not-the-secret")), 401, "unauthorized"
    )
    if tracker != "gitlab":  # GitLab sends its token, it does not sign the body
        forged = body_of(tracker, forged=True)
        assert_error(api.deliver(url, forged, signed(tracker, body, secret)), 401, "unauthorized")
    assert api.log_end() == start, "a refused delivery recorded something"
    assert api.issue("acme", tracker) is None

    good = api.deliver(url, body, signed(tracker, body, secret))
    assert good.status_code == 200, good.text
    assert good.json()["applied"] is True
    issue = api.issue("acme", tracker)
    assert issue is not None and issue.status == "done"


def test_an_unsigned_delivery_records_nothing_anywhere(api: Api) -> None:
    registration = api.register(api.token("ada"))
    body = body_of("github")
    start = api.log_end()
    for headers in ({}, {"X-GitHub-Event": "issues", "X-GitHub-Delivery": "d-1"}):
        assert_error(api.deliver(registration["url"], body, headers), 401, "unauthorized")
    assert api.log_end() == start
    assert api.issue("acme", "github") is None


def test_the_old_endpoint_with_an_organization_in_the_query_is_gone(api: Api) -> None:
    api.register(api.token("ada"))
    body = body_of("github")
    for url in ("/v1/webhooks/github?organization=acme", "/v1/webhooks/github"):
        assert api.client.post(url, content=body).status_code in (404, 405)
    assert api.log_end() == 0


def test_a_stale_linear_delivery_is_refused_even_when_signed(api: Api) -> None:
    registration = api.register(api.token("ada"), "linear")
    body = body_of("linear", webhookTimestamp=int((time.time() - 300) * 1000))
    answer = api.deliver(registration["url"], body, signed("linear", body, registration["secret"]))
    assert_error(answer, 401, "unauthorized")
    assert "replay" in answer.json()["error"]["message"]
    assert api.log_end() == 0


def test_a_linear_timestamp_that_is_no_time_is_refused(api: Api) -> None:
    """Found attacking this change: NaN passed the freshness check and an integer
    beyond any float was a 500 (only for a holder of the secret, but still)."""
    registration = api.register(api.token("ada"), "linear")
    document = payload("linear")
    del document["webhookTimestamp"]
    for stamp in (b"NaN", b"Infinity", b"1" + b"0" * 400, b'"1700000000000"', b"true"):
        body = json.dumps(document).encode()[:-1] + b', "webhookTimestamp": ' + stamp + b"}"
        answer = api.deliver(
            registration["url"], body, signed("linear", body, registration["secret"])
        )
        assert_error(answer, 401, "unauthorized")
    assert api.log_end() == 0


# ------------------------------------------------------------ organizations


def test_a_delivery_signed_for_one_organization_cannot_land_in_another(api: Api) -> None:
    acme = api.register(api.token("ada", org="acme"))
    beta = api.register(api.token("bob", org="beta"))
    body = body_of("github")
    for_acme = signed("github", body, acme["secret"])

    # Replayed at beta's registration (and with beta named in the query): 401.
    for url in (beta["url"], f"{beta['url']}?organization=beta"):
        assert_error(api.deliver(url, body, for_acme), 401, "unauthorized")
    assert api.log_end() == 0
    assert api.issue("beta", "github") is None

    # At acme's own URL it lands in acme, whatever the query says.
    answer = api.deliver(f"{acme['url']}?organization=beta", body, for_acme)
    assert answer.status_code == 200, answer.text
    assert api.issue("acme", "github") is not None
    assert api.issue("beta", "github") is None


def test_a_changed_delivery_id_does_not_make_a_signed_body_count_again(api: Api) -> None:
    registration = api.register(api.token("ada"))
    body = body_of("github")
    headers = signed("github", body, registration["secret"])
    first = api.deliver(registration["url"], body, {**headers, "X-GitHub-Delivery": "d-1"})
    assert first.status_code == 200 and first.json()["applied"] is True
    issue = api.issue("acme", "github")
    assert issue is not None
    version, end = issue.version, api.log_end()

    for delivery in ("d-2", "d-3", ""):
        again = api.deliver(registration["url"], body, {**headers, "X-GitHub-Delivery": delivery})
        assert again.status_code == 200, again.text
        assert again.json()["event_id"] == first.json()["event_id"]
        assert (again.json()["duplicate"], again.json()["applied"]) == (True, False)
    replayed = api.issue("acme", "github")
    assert replayed is not None and replayed.version == version
    assert list(replayed.applied_event_ids) == [first.json()["event_id"]]
    assert api.log_end() == end


def test_the_wrong_tracker_in_the_path_is_not_found(api: Api) -> None:
    registration = api.register(api.token("ada"), "github")
    body = body_of("gitlab")
    for tracker in ("gitlab", "jira", "bitbucket"):
        url = f"/v1/webhooks/{tracker}/{registration['id']}"
        answer = api.deliver(url, body, signed("gitlab", body, registration["secret"]))
        assert_error(answer, 404, "not_found")
    unknown = api.deliver(f"/v1/webhooks/github/{uuid.uuid4().hex}", body_of("github"))
    assert_error(unknown, 404, "not_found")
    assert_error(api.deliver("/v1/webhooks/github/" + "x" * 5000, body), 404, "not_found")
    assert api.log_end() == 0


def test_a_deleted_registration_is_not_found(api: Api) -> None:
    admin = api.token("ada")
    registration = api.register(admin)
    body = body_of("github")
    deleted = api.client.delete(f"/v1/webhook-registrations/{registration['id']}", headers=admin)
    assert deleted.status_code == 204, deleted.text
    answer = api.deliver(registration["url"], body, signed("github", body, registration["secret"]))
    assert_error(answer, 404, "not_found")
    gone = api.client.get(f"/v1/webhook-registrations/{registration['id']}", headers=admin)
    assert_error(gone, 404, "not_found")
    again = api.client.delete(f"/v1/webhook-registrations/{registration['id']}", headers=admin)
    assert_error(again, 404, "not_found")
    assert api.log_end() == 0


def test_after_a_rotation_only_the_new_secret_verifies(api: Api) -> None:
    admin = api.token("ada")
    registration = api.register(admin)
    rotated = api.client.post(
        f"/v1/webhook-registrations/{registration['id']}/rotate", headers=admin
    )
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()
    assert (new["id"], new["url"]) == (registration["id"], registration["url"])
    assert new["secret"] != registration["secret"]

    body = body_of("github")
    old = api.deliver(registration["url"], body, signed("github", body, registration["secret"]))
    assert_error(old, 401, "unauthorized")
    assert api.log_end() == 0
    fresh = api.deliver(registration["url"], body, signed("github", body, new["secret"]))
    assert fresh.status_code == 200, fresh.text
    shown = api.client.get(f"/v1/webhook-registrations/{registration['id']}", headers=admin)
    assert shown.json()["rotated_at"] is not None


def test_two_rotations_at_once_both_answer_and_one_secret_works(api: Api) -> None:
    admin = api.token("ada")
    registration = api.register(admin)
    url = f"/v1/webhook-registrations/{registration['id']}/rotate"
    barrier = threading.Barrier(2)
    answers: list[Response] = []

    def rotate() -> None:
        barrier.wait()
        answers.append(api.client.post(url, headers=admin))

    threads = [threading.Thread(target=rotate) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert [a.status_code for a in answers] == [200, 200], [a.text for a in answers]
    secrets = [a.json()["secret"] for a in answers] + [registration["secret"]]
    assert len(set(secrets)) == 3

    working = []
    for secret in secrets:
        body = body_of("github", attempt=secret)  # each try its own event
        answer = api.deliver(registration["url"], body, signed("github", body, secret))
        assert answer.status_code in (200, 401), answer.text
        if answer.status_code == 200:
            working.append(secret)
    assert len(working) == 1 and working[0] != registration["secret"]


# ------------------------------------------------------------ who may manage


@pytest.mark.parametrize("role", ["member", "integration"])
def test_only_admins_manage_registrations(api: Api, role: str) -> None:
    registration = api.register(api.token("ada"))
    who = api.token("mallory", role)
    path = f"/v1/webhook-registrations/{registration['id']}"
    attempts = [
        api.client.post("/v1/webhook-registrations", json={"tracker": "github"}, headers=who),
        api.client.get("/v1/webhook-registrations", headers=who),
        api.client.get(path, headers=who),
        api.client.post(f"{path}/rotate", headers=who),
        api.client.delete(path, headers=who),
    ]
    for answer in attempts:
        assert_error(answer, 403, "forbidden")
        assert registration["secret"] not in answer.text
    # Nothing changed: the registration and its secret still work.
    body = body_of("github")
    answer = api.deliver(registration["url"], body, signed("github", body, registration["secret"]))
    assert answer.status_code == 200, answer.text
    anonymous = api.client.get("/v1/webhook-registrations")
    assert_error(anonymous, 401, "unauthorized")


def test_another_organizations_registration_is_not_found(api: Api) -> None:
    acme = api.register(api.token("ada", org="acme"))
    intruder = api.token("bob", org="beta")
    path = f"/v1/webhook-registrations/{acme['id']}"
    for answer in (
        api.client.get(path, headers=intruder),
        api.client.post(f"{path}/rotate", headers=intruder),
        api.client.delete(path, headers=intruder),
    ):
        assert_error(answer, 404, "not_found")
        assert acme["secret"] not in answer.text
    listed = api.client.get("/v1/webhook-registrations", headers=intruder).json()
    assert listed == {"registrations": [], "next_cursor": None}
    # Acme's registration is untouched: same secret, still there.
    body = body_of("github")
    answer = api.deliver(acme["url"], body, signed("github", body, acme["secret"]))
    assert answer.status_code == 200, answer.text


def test_registrations_are_validated(api: Api) -> None:
    admin = api.token("ada")
    create = "/v1/webhook-registrations"
    for bad in (
        {"tracker": "bitbucket"},
        {"tracker": ""},
        {"tracker": "x" * 10_000},
        {},
        {"tracker": "github", "mapping": [1, 2]},
        {"tracker": "github", "mapping": {"labels": "x" * 70_000}},
        {"tracker": "github", "organization_id": "beta"},
    ):
        assert_error(api.client.post(create, json=bad, headers=admin), 422, "validation_error")
    mapped = api.client.post(
        create,
        json={"tracker": "GitLab", "mapping": {"labels": {"Workflow::Doing": "in_progress"}}},
        headers=admin,
    )
    assert mapped.status_code == 201, mapped.text
    assert mapped.json()["tracker"] == "gitlab"
    shown = api.client.get(f"{create}/{mapped.json()['id']}", headers=admin).json()
    assert shown["mapping"] == {
        "labels": {"workflow::doing": "in_progress"},
        "statuses": {},
        "columns": {},
        "estimate_field": None,
        "estimate_labels": [],
    }
    assert "secret" not in shown


def test_registrations_per_organization_are_bounded(runtime: Runtime) -> None:
    runtime.settings = runtime.settings.model_copy(
        update={"webhook_registrations_per_organization": 2}
    )
    with TestClient(create_app(runtime)) as client:
        api = Api(client, runtime)
        admin, other = api.token("ada"), api.token("bob", org="beta")
        first = api.register(admin)
        api.register(admin)
        refused = client.post("/v1/webhook-registrations", json={"tracker": "jira"}, headers=admin)
        assert_error(refused, 409, "conflict")
        api.register(other)  # another organization has its own allowance
        client.delete(f"/v1/webhook-registrations/{first['id']}", headers=admin)
        api.register(admin)


def test_the_list_is_paged_and_never_shows_a_secret(api: Api) -> None:
    admin = api.token("ada")
    made = [api.register(admin, tracker) for tracker in TRACKERS * 2]
    api.register(api.token("bob", org="beta"))
    seen: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = api.client.get("/v1/webhook-registrations", params=params, headers=admin)
        assert page.status_code == 200, page.text
        assert len(page.json()["registrations"]) <= 3
        seen.extend(page.json()["registrations"])
        for registration in made:
            assert registration["secret"] not in page.text
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert [r["id"] for r in seen] == [r["id"] for r in made]
    assert all(
        set(r) == {"id", "tracker", "url", "mapping", "created_at", "rotated_at"} for r in seen
    )
    everything = api.client.get("/v1/webhook-registrations", headers=admin).json()
    assert len(everything["registrations"]) == 8 and everything["next_cursor"] is None
    for params in ({"limit": 0}, {"limit": 501}, {"cursor": "not-a-cursor"}, {"cursor": "W10"}):
        answer = api.client.get("/v1/webhook-registrations", params=params, headers=admin)
        assert_error(answer, 422, "validation_error")


def test_odd_ids_cursors_and_mappings_are_4xx_never_500(api: Api) -> None:
    """Found attacking this change: on PostgreSQL a NUL in an id or a cursor was a
    500 (TEXT refuses it), and a NaN or a 950-deep mapping was stored, then broke
    every later list (500)."""
    admin = api.token("ada")
    api.register(admin)
    for odd in ("%00", "%C3%A9", "%ED%A0%80", "A" * 32, "0" * 31, "0" * 33):
        for method, path in (
            ("GET", f"/v1/webhook-registrations/{odd}"),
            ("POST", f"/v1/webhook-registrations/{odd}/rotate"),
            ("DELETE", f"/v1/webhook-registrations/{odd}"),
            ("POST", f"/v1/webhooks/github/{odd}"),
        ):
            answer = api.client.request(method, path, headers=admin, content=b"{}")
            assert_error(answer, 404, "not_found")
    for position in (["\u0000", "x"], ["2026-01-01T00:00:00.000000+00:00", "\u0000"], [1, 2]):
        cursor = base64.urlsafe_b64encode(json.dumps(position).encode()).decode()
        answer = api.client.get(
            "/v1/webhook-registrations", params={"cursor": cursor}, headers=admin
        )
        assert_error(answer, 422, "validation_error")
    json_headers = {**admin, "Content-Type": "application/json"}
    for mapping in ('{"a": NaN}', '{"a": -Infinity}', '{"a": ' + "[" * 950 + "]" * 950 + "}"):
        body = ('{"tracker": "github", "mapping": ' + mapping + "}").encode()
        answer = api.client.post("/v1/webhook-registrations", content=body, headers=json_headers)
        assert answer.status_code in (400, 422), answer.text
    # Issue 16: a mapping has a shape; free-form nesting is refused, not stored.
    deep = {"a": {"b": {"c": ["in_progress"]}}}
    refused = api.client.post(
        "/v1/webhook-registrations", json={"tracker": "jira", "mapping": deep}, headers=admin
    )
    assert_error(refused, 422, "validation_error")
    fine = {"statuses": {"QA": "in_progress"}}
    made = api.client.post(
        "/v1/webhook-registrations", json={"tracker": "jira", "mapping": fine}, headers=admin
    )
    assert made.status_code == 201, made.text
    listed = api.client.get("/v1/webhook-registrations", headers=admin)
    assert listed.status_code == 200, listed.text
    mappings = [r["mapping"] for r in listed.json()["registrations"]]
    assert mappings[0] is None and mappings[1]["statuses"] == {"qa": "in_progress"}


def test_a_body_over_the_webhook_limit_is_refused(api: Api) -> None:
    registration = api.register(api.token("ada"))
    body = b" " * (api.runtime.settings.max_webhook_body_bytes + 1)
    answer = api.deliver(registration["url"], body, signed("github", body, registration["secret"]))
    assert answer.status_code == 413, answer.text
    assert api.log_end() == 0


# ----------------------------------------------------------------- with Kafka


@pytest.mark.kafka
def test_with_kafka_the_registrations_organization_is_published(
    tmp_path: Path, backend: Settings
) -> None:
    from kafka import KafkaConsumer, TopicPartition
    from kafka.admin import KafkaAdminClient

    topic = f"okr.test.webhook-forgery.{uuid.uuid4().hex[:10]}"
    try:
        admin = KafkaAdminClient(bootstrap_servers=KAFKA_BOOTSTRAP, request_timeout_ms=10_000)
    except Exception as error:
        pytest.fail(f"Kafka is not reachable at {KAFKA_BOOTSTRAP} ({error})", pytrace=False)
    admin.create_topics(
        {topic: {"num_partitions": 1, "replication_factor": 1}}, wait_for_metadata=True
    )
    settings = backend.model_copy(update={"kafka_bootstrap": KAFKA_BOOTSTRAP, "kafka_topic": topic})
    runtime = build_runtime(settings)
    app = create_app(runtime)
    try:
        with TestClient(app) as client:
            api = Api(client, runtime)
            beta = api.register(api.token("bob", org="beta"))
            acme = api.register(api.token("ada", org="acme"))
            body = body_of("github")
            # Signed for acme, posted at beta's URL: refused, nothing published.
            forged = api.deliver(beta["url"], body, signed("github", body, acme["secret"]))
            assert_error(forged, 401, "unauthorized")
            answer = api.deliver(
                f"{beta['url']}?organization=acme", body, signed("github", body, beta["secret"])
            )
            assert answer.status_code == 202, answer.text
            webhooks.close_webhook_publisher(app)

        reader = KafkaConsumer(bootstrap_servers=KAFKA_BOOTSTRAP, enable_auto_commit=False)
        try:
            partition = TopicPartition(topic, 0)
            reader.assign([partition])
            reader.seek_to_beginning(partition)
            records: list[Any] = []
            deadline = time.monotonic() + 20
            while not records and time.monotonic() < deadline:
                for batch in reader.poll(timeout_ms=500).values():
                    records.extend(batch)
            for batch in reader.poll(timeout_ms=500).values():
                records.extend(batch)
        finally:
            reader.close()
        assert len(records) == 1
        assert dict(records[0].headers) == {ORGANIZATION_HEADER: b"beta"}
        assert json.loads(records[0].value)["event_id"] == answer.json()["event_id"]
    finally:
        runtime.close()
        admin.delete_topics([topic])
        admin.close()
