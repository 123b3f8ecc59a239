"""Lists are paged (SPEC §9 "Lists"): history, progress history, notes, cycles, teams.

``limit`` defaults to 100 and may not pass 500 (0, negative, 501: 422); a
cursor is opaque and a garbage one, or one of another list, objective or
organization, is 422, never a 500. Walking every page gives each item once, in
order, even while new items are appended; a page of history reads only its
own stretch of the event log. On both backends.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from entrypoints.bootstrap import Runtime, build_runtime
from entrypoints.settings import Settings
from projections.history import objective_history
from projections.objective_queries import progress_history
from tests.e2e.test_api_support import Api, Headers, assert_error


@pytest.fixture
def api(runtime: Runtime) -> Iterator[Api]:
    with TestClient(create_app(runtime)) as client:
        yield Api(client, runtime)


@dataclass
class Org:
    admin: Headers
    cycle: str
    objective: str
    kr: str
    other: str  # a second objective


def build(api: Api, *, check_ins: int = 12, notes: int = 15) -> Org:
    admin = api.token("ada", "admin")
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
    objectives = [
        api.post(
            "/objectives",
            admin,
            {"cycle_id": cycle, "title": title, "level": "team", "owner_team_id": team},
            201,
        )["id"]
        for title in ("Paged", "Other")
    ]
    kr = api.post(
        f"/objectives/{objectives[0]}/key-results",
        admin,
        {"title": "Grow", "mode": "percentage"},
        201,
    )["key_result_id"]
    api.post(f"/cycles/{cycle}/phase", admin, {"phase": "tracking"}, 200)
    for i in range(check_ins):
        api.post(
            f"/objectives/{objectives[0]}/key-results/{kr}/check-ins",
            admin,
            {"percent": float(i + 1), "status": "on_track"},
            200,
        )
    for i in range(notes):
        add_note(api, admin, objectives[0], f"note {i}")
    return Org(admin, cycle, objectives[0], kr, objectives[1])


def add_note(api: Api, who: Headers, objective: str, text: str) -> None:
    api.post(f"/objectives/{objective}/notes", who, {"topic": "progress", "text": text}, 200)


def lists(org: Org) -> dict[str, str]:
    """Each paged list: its path and the key of its items."""
    return {
        f"/objectives/{org.objective}/history": "events",
        f"/objectives/{org.objective}/progress-history": "points",
        f"/objectives/{org.objective}/notes": "notes",
        "/cycles": "cycles",
        "/teams": "teams",
    }


def walk(api: Api, who: Headers, path: str, key: str, limit: int) -> list[Any]:
    items: list[Any] = []
    cursor: str | None = None
    for _ in range(1000):
        params: dict[str, Any] = {"limit": limit}
        if cursor is not None:
            params["cursor"] = cursor
        page = api.get(path, who, **params)
        assert len(page[key]) <= limit
        items.extend(page[key])
        cursor = page["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError("the walk did not end")


def b64(document: Any) -> str:
    raw = document if isinstance(document, bytes) else json.dumps(document).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


# ---------------------------------------------------------------- limits


def test_limits_at_and_past_the_bounds(api: Api) -> None:
    org = build(api, check_ins=2, notes=2)
    for path, key in lists(org).items():
        for limit in (1, 500):
            assert isinstance(api.get(path, org.admin, limit=limit)[key], list)
        for limit in (0, -1, 501, 10**30, "ten", ""):
            response = api.call("GET", path, org.admin, params={"limit": limit})
            assert_error(response, 422, "validation_error")


def test_the_default_page_is_100_items(api: Api) -> None:
    org = build(api, check_ins=1, notes=130)
    notes = api.get(f"/objectives/{org.objective}/notes", org.admin)
    assert len(notes["notes"]) == 100 and notes["next_cursor"] is not None
    history = api.get(f"/objectives/{org.objective}/history", org.admin)
    assert len(history["events"]) == 100 and history["next_cursor"] is not None
    rest = api.get(
        f"/objectives/{org.objective}/notes", org.admin, cursor=notes["next_cursor"], limit=500
    )
    assert len(rest["notes"]) == 30 and rest["next_cursor"] is None


# ---------------------------------------------------------------- cursors


def test_garbage_cursors_answer_422(api: Api) -> None:
    org = build(api, check_ins=3, notes=3)
    garbage = [
        "garbage",
        "!!!!",
        "%00",
        "a" * 5000,
        b64(b"not json"),
        b64(b"\xff\xfe"),
        b64([]),
        b64({"k": "history"}),
        b64({"k": "history", "s": org.objective, "a": []}),
        b64({"k": "history", "s": org.objective, "a": "x"}),
        b64({"k": "history", "s": org.objective, "a": [-1]}),
        b64({"k": "history", "s": org.objective, "a": [True]}),
        b64({"k": "history", "s": org.objective, "a": [2**70]}),
        b64({"k": "history", "s": org.objective, "a": [1.5]}),
        b64({"k": "history", "s": org.objective, "a": ["\u0000"]}),
        b64({"k": "history", "s": org.objective, "a": [{"x": 1}]}),
        b64({"k": "cycles", "s": "acme", "a": ["not-a-uuid"]}),
        b64({"k": "teams", "s": "acme", "a": [str(UUID(int=7))]}),
        b64({"k": "progress-history", "s": org.objective, "a": [1]}),
        b64({"k": "progress-history", "s": org.objective, "a": ["1", "2"]}),
        b64({"k": "notes", "s": org.objective, "a": [1, 2]}),
    ]
    for path in lists(org):
        for cursor in garbage:
            response = api.call("GET", path, org.admin, params={"cursor": cursor})
            assert_error(response, 422, "validation_error")


def test_a_cursor_of_one_list_is_refused_by_every_other(api: Api) -> None:
    org = build(api, check_ins=3, notes=3)
    add_note(api, org.admin, org.other, "a note elsewhere")
    api.post("/teams", org.admin, {"name": "Second team"}, 201)
    api.post(
        "/cycles",
        org.admin,
        {"name": "R", "start_date": "2027-01-01", "end_date": "2027-03-31", "cadence": "quarter"},
        201,
    )
    cursors = {}
    for path, _ in lists(org).items():
        cursor = api.get(path, org.admin, limit=1)["next_cursor"]
        assert cursor is not None, path
        cursors[path] = cursor
    for path in lists(org):
        for source, cursor in cursors.items():
            if source == path:
                continue
            response = api.call("GET", path, org.admin, params={"cursor": cursor})
            assert_error(response, 422, "validation_error")
    # An objective's cursor on another objective of the same organization.
    for suffix in ("history", "progress-history", "notes"):
        cursor = cursors[f"/objectives/{org.objective}/{suffix}"]
        response = api.call(
            "GET", f"/objectives/{org.other}/{suffix}", org.admin, params={"cursor": cursor}
        )
        assert_error(response, 422, "validation_error")
    # Another organization's cursor on its own lists.
    eve = api.token("eve", "admin", org="globex")
    api.post("/teams", eve, {"name": "G1"}, 201)
    api.post("/teams", eve, {"name": "G2"}, 201)
    for path in ("/cycles", "/teams"):
        response = api.call("GET", path, eve, params={"cursor": cursors[path]})
        assert_error(response, 422, "validation_error")


# ---------------------------------------------------------------- walks


def test_walking_every_page_gives_the_whole_list_once_in_order(api: Api) -> None:
    org = build(api, check_ins=12, notes=15)
    for i in range(6):
        api.post("/teams", org.admin, {"name": f"Team {i:02d}"}, 201)
        api.post(
            "/cycles",
            org.admin,
            {
                "name": f"C{i}",
                "start_date": f"202{i}-01-01",
                "end_date": f"202{i}-03-31",
                "cadence": "quarter",
            },
            201,
        )
    for path, key in lists(org).items():
        whole = api.get(path, org.admin, limit=500)
        assert whole["next_cursor"] is None
        for limit in (1, 4, 7):
            assert walk(api, org.admin, path, key, limit) == whole[key], (path, limit)
    # The whole is the store's whole.
    runtime = api.runtime
    events = api.get(f"/objectives/{org.objective}/history", org.admin, limit=500)["events"]
    stored = objective_history(runtime.app, UUID(org.objective))
    assert [e["version"] for e in events] == [e.version for e in stored]
    points = api.get(f"/objectives/{org.objective}/progress-history", org.admin, limit=500)
    assert len(points["points"]) == len(progress_history(runtime.store, None, org.objective))
    assert len(points["points"]) >= 24


def test_pages_stay_stable_while_items_are_appended(api: Api) -> None:
    org = build(api, check_ins=6, notes=9)
    lists_of_objective = {
        f"/objectives/{org.objective}/history": "events",
        f"/objectives/{org.objective}/progress-history": "points",
        f"/objectives/{org.objective}/notes": "notes",
    }
    before = {
        path: api.get(path, org.admin, limit=500)[key] for path, key in lists_of_objective.items()
    }
    walked: dict[str, list[Any]] = {path: [] for path in lists_of_objective}
    cursors: dict[str, str | None] = {path: None for path in lists_of_objective}
    done: set[str] = set()
    step = 0
    while len(done) < len(lists_of_objective):
        for path, key in lists_of_objective.items():
            if path in done:
                continue
            params: dict[str, Any] = {"limit": 3}
            if cursors[path] is not None:
                params["cursor"] = cursors[path]
            page = api.get(path, org.admin, **params)
            walked[path].extend(page[key])
            cursors[path] = page["next_cursor"]
            if cursors[path] is None:
                done.add(path)
        if step < 4:  # new items arrive between pages
            add_note(api, org.admin, org.objective, f"late {step}")
            api.post(
                f"/objectives/{org.objective}/key-results/{org.kr}/check-ins",
                org.admin,
                {"percent": 50.0 + step, "status": "at_risk"},
                200,
            )
        step += 1
    for path, key in lists_of_objective.items():
        items = walked[path]
        assert items[: len(before[path])] == before[path], path
        assert len({json.dumps(i, sort_keys=True) for i in items}) == len(items), path
        assert items == api.get(path, org.admin, limit=500)[key][: len(items)], path


def test_a_history_page_reads_only_its_stretch_of_the_log(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    org = build(api, check_ins=1, notes=150)
    events = api.runtime.app.events
    original = events.get
    ranged: list[tuple[dict[str, Any], int]] = []

    def counting_get(originator_id: Any, **kwargs: Any) -> Iterator[Any]:
        count = 0
        for event in original(originator_id, **kwargs):
            count += 1
            yield event
        if kwargs.get("limit") is not None:
            ranged.append((kwargs, count))

    monkeypatch.setattr(events, "get", counting_get)
    for suffix, key in (("history", "events"), ("notes", "notes")):
        ranged.clear()
        first = api.get(f"/objectives/{org.objective}/{suffix}", org.admin, limit=10)
        second = api.get(
            f"/objectives/{org.objective}/{suffix}",
            org.admin,
            limit=10,
            cursor=first["next_cursor"],
        )
        assert len(first[key]) == len(second[key]) == 10
        assert ranged, "pages are read by version range"
        assert all(count <= 11 for _, count in ranged), ranged
        assert any((kwargs.get("gt") or 0) > 0 for kwargs, _ in ranged), ranged


def test_a_well_formed_cursor_past_the_end_answers_an_empty_last_page(api: Api) -> None:
    org = build(api, check_ins=2, notes=2)
    top = 2**63 - 1
    for suffix, key, after in (
        ("history", "events", [top]),
        ("notes", "notes", [top]),
        ("progress-history", "points", [top, top]),
    ):
        cursor = b64({"k": suffix, "s": org.objective, "a": after})
        page = api.get(f"/objectives/{org.objective}/{suffix}", org.admin, cursor=cursor)
        assert page == {key: [], "next_cursor": None}


def test_the_page_limits_are_settings(backend: Settings) -> None:
    runtime = build_runtime(backend.model_copy(update={"page_limit": 3, "max_page_limit": 5}))
    runtime.start_following()
    try:
        with TestClient(create_app(runtime)) as client:
            api = Api(client, runtime)
            org = build(api, check_ins=1, notes=8)
            path = f"/objectives/{org.objective}/notes"
            assert len(api.get(path, org.admin)["notes"]) == 3
            assert len(api.get(path, org.admin, limit=5)["notes"]) == 5
            assert_error(api.call("GET", path, org.admin, params={"limit": 6}), 422)
    finally:
        runtime.close()
