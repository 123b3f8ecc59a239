"""Attacks on the delivery log and on registration mappings (SPEC §16), on both backends.

Another organization's registration id, a member who is no admin, a body
far too big, mappings at and past every limit, foreign cursors, and the same
delivery twice at once.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from api.app import create_app
from api.webhook_deliveries import KEEP_PER_REGISTRATION
from consumers.trackers.mapping import MAX_ESTIMATE_LABELS, MAX_MAPPED_NAMES, MAX_NAME_CHARS
from entrypoints.bootstrap import Runtime

Headers = dict[str, str]
CREATE = "/v1/webhook-registrations"


def closing(number: int = 7, updated_at: str = "2026-01-02T10:00:00Z") -> bytes:
    return json.dumps(
        {
            "action": "closed",
            "issue": {"number": number, "state": "closed", "updated_at": updated_at},
            "repository": {"full_name": "acme/app"},
        }
    ).encode()


class Api:
    def __init__(self, client: TestClient, runtime: Runtime) -> None:
        self.client, self.runtime = client, runtime

    def token(self, user: str, role: str = "admin", org: str = "acme") -> Headers:
        _, token = self.runtime.tokens.create(org, user, role)
        return {"Authorization": f"Bearer {token}"}

    def register(self, who: Headers, mapping: Any = None) -> dict[str, Any]:
        body: dict[str, Any] = {"tracker": "github"}
        if mapping is not None:
            body["mapping"] = mapping
        answer = self.client.post(CREATE, json=body, headers=who)
        assert answer.status_code == 201, answer.text
        made: dict[str, Any] = answer.json()
        return made

    def deliver(self, registration: dict[str, Any], body: bytes) -> Response:
        digest = hmac.new(registration["secret"].encode(), body, hashlib.sha256).hexdigest()
        headers = {"X-Hub-Signature-256": f"sha256={digest}", "X-GitHub-Event": "issues"}
        return self.client.post(registration["url"], content=body, headers=headers)

    def deliveries(self, registration_id: str, who: Headers, **params: Any) -> Response:
        return self.client.get(f"{CREATE}/{registration_id}/deliveries", headers=who, params=params)


@pytest.fixture
def api(runtime: Runtime) -> Iterator[Api]:
    with TestClient(create_app(runtime)) as client:
        yield Api(client, runtime)


def assert_error(answer: Response, status: int, code: str) -> None:
    assert answer.status_code == status, answer.text
    assert answer.json()["error"]["code"] == code


def test_the_log_shows_what_became_of_each_signed_delivery(api: Api) -> None:
    admin = api.token("ada")
    hook = api.register(admin)
    assert api.deliver(hook, closing()).status_code == 200
    assert api.deliver(hook, closing()).status_code == 200  # the same again
    push = json.dumps({"ref": "refs/heads/main"}).encode()
    digest = hmac.new(hook["secret"].encode(), push, hashlib.sha256).hexdigest()
    api.client.post(
        hook["url"],
        content=push,
        headers={"X-Hub-Signature-256": f"sha256={digest}", "X-GitHub-Event": "push"},
    )
    assert api.deliver(hook, b"[]").status_code == 400
    api.client.post(hook["url"], content=closing(8))  # unsigned: 401, never logged
    listed = api.deliveries(hook["id"], admin)
    assert listed.status_code == 200, listed.text
    rows = listed.json()["deliveries"]
    assert [r["outcome"] for r in rows] == ["rejected-bad-body", "ignored", "duplicate", "applied"]
    assert rows[1]["tracker_event"] == "push" and "'push'" in rows[1]["reason"]
    assert rows[3]["event_id"].startswith("github:sha256:") and rows[3]["issue_key"] == "acme/app#7"
    assert rows[3]["action"] == "closed"
    # No payload body is kept: nothing of it but what the log names.
    assert "refs/heads/main" not in listed.text


def test_another_organizations_registration_is_not_found(api: Api) -> None:
    beta_hook = api.register(api.token("bob", org="beta"))
    api.deliver(beta_hook, closing())
    acme_admin = api.token("ada")
    assert_error(api.deliveries(beta_hook["id"], acme_admin), 404, "not_found")
    assert_error(
        api.client.put(
            f"{CREATE}/{beta_hook['id']}/mapping", json={"mapping": None}, headers=acme_admin
        ),
        404,
        "not_found",
    )
    for odd in ("%00", "x" * 32, "0" * 33):
        assert_error(api.deliveries(odd, acme_admin), 404, "not_found")


@pytest.mark.parametrize("role", ["member", "integration"])
def test_only_admins_read_the_log_or_change_a_mapping(api: Api, role: str) -> None:
    hook = api.register(api.token("ada"))
    other = api.token("mo", role=role)
    assert_error(api.deliveries(hook["id"], other), 403, "forbidden")
    answer = api.client.put(f"{CREATE}/{hook['id']}/mapping", json={"mapping": None}, headers=other)
    assert_error(answer, 403, "forbidden")
    assert api.client.get(f"{CREATE}/{hook['id']}/deliveries").status_code == 401


def test_a_body_far_too_big_is_refused_and_not_logged(api: Api) -> None:
    admin = api.token("ada")
    hook = api.register(admin)
    body = b" " * (api.runtime.settings.max_webhook_body_bytes + 1)
    assert api.deliver(hook, body).status_code == 413
    assert api.deliveries(hook["id"], admin).json()["deliveries"] == []


def names(count: int, length: int = 8) -> dict[str, str]:
    return {f"{i:0{length}d}"[-length:]: "done" for i in range(count)}


def test_mappings_at_their_limits_are_taken_and_past_them_refused(api: Api) -> None:
    admin = api.token("ada")
    longest = "L" * MAX_NAME_CHARS
    at_limits = {
        "labels": names(MAX_MAPPED_NAMES),
        "statuses": {longest: "cancelled"},
        "columns": names(MAX_MAPPED_NAMES, 5),
        "estimate_field": longest,
        "estimate_labels": [f"p{i}: {{n}}" for i in range(MAX_ESTIMATE_LABELS)],
    }
    made = api.register(admin, at_limits)
    shown = api.client.get(f"{CREATE}/{made['id']}", headers=admin).json()["mapping"]
    assert len(shown["labels"]) == MAX_MAPPED_NAMES and shown["statuses"] == {
        "l" * 100: "cancelled"
    }
    past = [
        {"labels": names(MAX_MAPPED_NAMES + 1)},
        {"columns": names(MAX_MAPPED_NAMES + 1, 5)},
        {"statuses": {"L" * (MAX_NAME_CHARS + 1): "done"}},
        {"estimate_field": "F" * (MAX_NAME_CHARS + 1)},
        {"estimate_labels": ["p: {n}"] * (MAX_ESTIMATE_LABELS + 1)},
        {"estimate_labels": ["no number here"]},
        {"estimate_labels": ["{n} and {n}"]},
        {"labels": {"bug": "blocked"}},  # only the four canonical statuses
        {"labels": {"bug": None}},
        {"labels": {"": "done"}},
        {"labels": {"a\u0000b": "done"}},
        {"labels": {"Bug": "done", "bug": "todo"}},  # one name, two statuses
        {"labels": ["bug"]},
        {"workflow": {"doing": "in_progress"}},  # unknown key
        "labels",
    ]
    for mapping in past:
        answer = api.client.post(
            CREATE, json={"tracker": "github", "mapping": mapping}, headers=admin
        )
        assert_error(answer, 422, "validation_error")
        changed = api.client.put(
            f"{CREATE}/{made['id']}/mapping", json={"mapping": mapping}, headers=admin
        )
        assert_error(changed, 422, "validation_error")
    # Refused changes left the mapping as it was; a good one replaces it.
    assert api.client.get(f"{CREATE}/{made['id']}", headers=admin).json()["mapping"] == shown
    replaced = api.client.put(
        f"{CREATE}/{made['id']}/mapping",
        json={"mapping": {"labels": {"wip": "todo"}}},
        headers=admin,
    )
    assert replaced.status_code == 200 and replaced.json()["mapping"]["labels"] == {"wip": "todo"}


def test_a_hostile_estimate_pattern_is_matched_literally(api: Api) -> None:
    """A pattern is no regular expression: ``(a+)+`` is text, not a backtracking bomb."""
    admin = api.token("ada")
    hook = api.register(admin, {"estimate_labels": ["(a+)+$ {n}"]})
    body = json.dumps(
        {
            "action": "labeled",
            "issue": {
                "number": 9,
                "state": "open",
                "updated_at": "2026-01-02T10:00:00Z",
                "labels": [{"name": "a" * 5000 + "!"}, {"name": "(a+)+$ 3"}],
            },
            "repository": {"full_name": "acme/app"},
        }
    ).encode()
    assert api.deliver(hook, body).status_code == 200
    from domain.issue import Issue, issue_id

    issue = api.runtime.app.repository.get(issue_id("acme", "github", "acme/app#9"))
    assert isinstance(issue, Issue) and issue.estimate == 3.0


def test_cursors_of_another_registration_or_list_are_refused(api: Api) -> None:
    admin = api.token("ada")
    first, second = api.register(admin), api.register(admin)
    for number in range(3):
        api.deliver(first, closing(number))
        api.deliver(second, closing(number))
    page = api.deliveries(first["id"], admin, limit=1).json()
    assert page["next_cursor"]
    assert_error(
        api.deliveries(second["id"], admin, cursor=page["next_cursor"]), 422, "validation_error"
    )
    listed = api.client.get(CREATE, headers=admin, params={"limit": 1}).json()["next_cursor"]
    assert_error(api.deliveries(first["id"], admin, cursor=listed), 422, "validation_error")
    for limit in (0, 501):
        assert_error(api.deliveries(first["id"], admin, limit=limit), 422, "validation_error")
    seen, cursor = [], None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        answer = api.deliveries(first["id"], admin, **params).json()
        seen.extend(d["id"] for d in answer["deliveries"])
        cursor = answer["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 3


def test_the_same_delivery_twice_at_once_is_applied_once(api: Api) -> None:
    admin = api.token("ada")
    hook = api.register(admin)
    body = closing(42)
    answers: list[Response] = []
    start = threading.Barrier(2)

    def deliver() -> None:
        start.wait()
        answers.append(api.deliver(hook, body))

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(a.status_code for a in answers) == [200, 200]
    assert sorted(a.json()["duplicate"] for a in answers) == [False, True]
    outcomes = sorted(d["outcome"] for d in api.deliveries(hook["id"], admin).json()["deliveries"])
    assert outcomes == ["applied", "duplicate"]


def test_the_log_is_bounded_per_registration(api: Api) -> None:
    admin = api.token("ada")
    busy, quiet = api.register(admin), api.register(admin)
    log = api.runtime.webhooks.deliveries
    from api.webhook_deliveries import Outcome

    for _ in range(KEEP_PER_REGISTRATION + 5):
        log.record(busy["id"], Outcome.IGNORED, reason="test")
    log.record(quiet["id"], Outcome.IGNORED, reason="test")
    everything = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 500, **({"cursor": cursor} if cursor else {})}
        answer = api.deliveries(busy["id"], admin, **params).json()
        everything.extend(answer["deliveries"])
        cursor = answer["next_cursor"]
        if cursor is None:
            break
    assert len(everything) == KEEP_PER_REGISTRATION
    assert len(api.deliveries(quiet["id"], admin).json()["deliveries"]) == 1
    # Deleting the registration deletes its log.
    api.client.delete(f"{CREATE}/{busy['id']}", headers=admin)
    assert log.page(busy["id"], 10).deliveries == []


def test_a_title_holding_the_sealed_marker_or_nul_is_stored_defused_not_refused(
    api: Api,
) -> None:
    """Anyone may type anything into an issue title, including the marker of a sealed
    personal text (domain/personal.py) or a NUL: the delivery is genuine and must not be
    refused (SPEC §16), yet the text must not open as someone's sealed text. It was
    answered 400 (rejected-bad-body) before the tracker's texts were defused."""
    admin = api.token("ada")
    hook = api.register(admin)
    planted = "okr-sealed:1:" + "a" * 32 + ":AAAA\x00"
    body = json.dumps(
        {
            "action": "closed",
            "issue": {
                "number": 9,
                "state": "closed",
                "updated_at": "2026-01-02T10:00:00Z",
                "title": f"Fix {planted}",
            },
            "repository": {"full_name": "acme/app"},
        }
    ).encode()
    answer = api.deliver(hook, body)
    assert answer.status_code == 200, answer.text
    position = api.runtime.app.recorder.max_notification_id() or 0
    issue = api.client.get(
        "/v1/issues",
        headers=admin,
        params={"tracker": "github", "issue_key": "acme/app#9", "min_position": position},
    )
    assert issue.status_code == 200, issue.text
    title = issue.json()["title"]
    assert "okr-sealed:" not in title and "\x00" not in title
    assert title == "Fix okr-sealed :1:" + "a" * 32 + ":AAAA"


def test_nothing_older_than_the_retention_is_answered_or_kept(api: Api) -> None:
    """``KEEP_DAYS``: a delivery older than that is not answered even by a registration
    that has received nothing since (it used to be, until the next write pruned it),
    and the next write prunes it."""
    from datetime import UTC, datetime, timedelta

    from api.webhook_deliveries import KEEP_DAYS, Outcome

    admin = api.token("ada")
    quiet = api.register(admin)
    log = api.runtime.webhooks.deliveries
    old = log.record(quiet["id"], Outcome.IGNORED, reason="long ago")
    recent = log.record(quiet["id"], Outcome.IGNORED, reason="lately")
    long_ago = datetime.now(UTC) - timedelta(days=KEEP_DAYS, minutes=1)
    with api.runtime.store.transaction() as tx:
        tx.execute(
            "UPDATE okr_webhook_deliveries SET received_at = :at WHERE delivery_id = :id",
            {"at": long_ago.isoformat(timespec="microseconds"), "id": old.delivery_id},
        )
    shown = api.deliveries(quiet["id"], admin).json()["deliveries"]
    assert [d["reason"] for d in shown] == ["lately"]
    log.record(quiet["id"], Outcome.IGNORED, reason="now")
    with api.runtime.store.transaction(commit=False) as tx:
        kept = tx.fetchall(
            "SELECT delivery_id FROM okr_webhook_deliveries WHERE registration_id = :r",
            {"r": quiet["id"]},
        )
    assert old.delivery_id not in {row["delivery_id"] for row in kept}
    assert recent.delivery_id in {row["delivery_id"] for row in kept}
