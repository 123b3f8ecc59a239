"""``/history`` answers every event in the public shape of SPEC §11, on both backends.

Each event carries the envelope ``{id, type, schema_version, aggregate_id,
aggregate_version, position, occurred_at, actor, data}`` plus §7's ``version``.
Its ``position`` is its notification id in the log: increasing, equal to what
the event store holds and to the ``position`` the write answered. Its ``id``
is the same on every read, and unique.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from entrypoints.bootstrap import Runtime
from tests.e2e.test_api_support import Api, Headers

ENVELOPE = {
    "id",
    "type",
    "schema_version",
    "aggregate_id",
    "aggregate_version",
    "position",
    "occurred_at",
    "actor",
    "data",
    "version",
}


@pytest.fixture
def api(runtime: Runtime) -> Iterator[Api]:
    with TestClient(create_app(runtime)) as client:
        yield Api(client, runtime)


def _story(api: Api, admin: Headers) -> tuple[str, dict[int, tuple[int, bool]]]:
    """An objective through many kinds of event, interleaved with another objective's
    events (so its positions are not contiguous); ``{version: (position, exact)}`` as
    writes answered them (``exact``: the write stored only this event; a write that
    also stored events of other aggregates answers the last of them)."""
    today = datetime.now(UTC).date()
    cycle = api.post(
        "/cycles",
        admin,
        {
            "name": "Q",
            "start_date": (today - timedelta(days=10)).isoformat(),
            "end_date": (today + timedelta(days=80)).isoformat(),
            "cadence": "quarter",
        },
        201,
    )["id"]
    api.post(f"/cycles/{cycle}/phase", admin, {"phase": "drafting"}, 200)
    team = api.post("/teams", admin, {"name": "Platform"}, 201)["id"]
    written: dict[int, tuple[int, bool]] = {}

    def remember(answer: dict[str, Any], exact: bool = True) -> None:
        written[answer["version"]] = (answer["position"], exact)

    drafted = api.post(
        "/objectives",
        admin,
        {"cycle_id": cycle, "title": "Public", "level": "team", "owner_team_id": team},
        201,
    )
    objective = drafted["id"]
    remember(drafted, exact=False)  # and the cycle's index of objectives, if any
    other = api.post(
        "/objectives",
        admin,
        {"cycle_id": cycle, "title": "Other", "level": "team", "owner_team_id": team},
        201,
    )["id"]
    added = api.post(
        f"/objectives/{objective}/key-results",
        admin,
        {"title": "Grow", "mode": "percentage"},
        201,
    )
    kr = added["key_result_id"]
    remember(added, exact=False)  # and the key result's locator
    api.post(f"/objectives/{other}/key-results", admin, {"title": "X", "mode": "percentage"}, 201)
    remember(api.patch(f"/objectives/{objective}", admin, {"title": "Public, edited"}, 200))
    api.post(f"/cycles/{cycle}/phase", admin, {"phase": "tracking"}, 200)
    for percent in (10.0, 35.0):
        remember(
            api.post(
                f"/objectives/{objective}/key-results/{kr}/check-ins",
                admin,
                {"percent": percent, "status": "on_track", "note": f"at {percent}"},
                200,
            )
        )
        api.patch(f"/objectives/{other}", admin, {"title": f"Other {percent}"}, 200)
    remember(
        api.post(
            f"/objectives/{objective}/key-results/{kr}/issues",
            admin,
            {"tracker": "github", "issue_key": "acme/x#1", "estimate": 2},
            200,
        ),
        exact=False,  # and the events
    )
    remember(
        api.post(
            f"/objectives/{objective}/notes", admin, {"topic": "progress", "text": "fine"}, 200
        )
    )
    return objective, written


def _log_positions(runtime: Runtime, aggregate: str) -> dict[int, int]:
    """``{version: notification id}`` of the aggregate's events, as the log holds them."""
    found = {}
    for n in runtime.app.recorder.select_notifications(1, 100_000):
        if str(n.originator_id) == aggregate:
            found[n.originator_version] = n.id
    return found


def test_history_answers_the_public_envelope_with_log_positions(api: Api) -> None:
    admin = api.token("ada", "admin")
    objective, written = _story(api, admin)
    first = api.get(f"/objectives/{objective}/history", admin, limit=500)
    events = first["events"]
    assert first["next_cursor"] is None and len(events) == 7
    log = _log_positions(api.runtime, objective)

    for event in events:
        assert set(event) >= ENVELOPE, event  # (reads may carry more, e.g. names)
        assert event["aggregate_id"] == objective
        assert event["aggregate_version"] == event["version"]
        assert event["schema_version"] == 1
        assert event["actor"] == "ada"
        datetime.fromisoformat(event["occurred_at"])
        UUID(event["id"])
    assert [e["version"] for e in events] == list(range(1, len(events) + 1))
    positions = [e["position"] for e in events]
    assert positions == sorted(positions) and len(set(positions)) == len(positions)
    assert {e["version"]: e["position"] for e in events} == log
    # Another objective's events lie between: positions are the log's, not a count.
    assert positions[-1] - positions[0] > len(positions) - 1
    # What each write answered as its position is where its event stands.
    assert set(written) == set(log)
    for version, (position, exact) in written.items():
        assert log[version] == position if exact else log[version] <= position
    assert [e["type"] for e in events][:3] == ["Drafted", "KeyResultAdded", "Edited"]
    check_ins = [e for e in events if e["type"] == "CheckedIn"]
    assert len(check_ins) == 2
    assert {"at", "percent", "note", "status", "key_result_id"} <= set(check_ins[0]["data"])
    assert check_ins[0]["data"]["note"] == "at 10.0"

    # Ids: stable across reads, unique per event, and a page boundary changes nothing.
    again = api.get(f"/objectives/{objective}/history", admin, limit=500)["events"]
    assert [e["id"] for e in again] == [e["id"] for e in events]
    assert len({e["id"] for e in events}) == len(events)
    paged: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = api.get(f"/objectives/{objective}/history", admin, **params)
        paged.extend(page["events"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert paged == events

    # A position is a log position: a read may wait for it.
    last = positions[-1]
    api.get(f"/objectives/{objective}", admin, min_position=last)


def test_the_openapi_document_describes_the_public_shape(api: Api) -> None:
    schema = api.client.get("/openapi.json").json()["components"]["schemas"]["HistoryEvent"]
    assert set(schema["properties"]) >= ENVELOPE
    assert set(schema["required"]) >= ENVELOPE
    assert "schema_version" in schema["properties"]
    assert "version of this type's data" in schema["properties"]["schema_version"]["description"]
