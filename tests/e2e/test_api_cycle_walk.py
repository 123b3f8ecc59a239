"""One whole OKR cycle over HTTP, as the seed describes it:
launch → drafting → tracking → retrospective → closed.

Every number is checked against a hand computation (tolerance 1e-6). Each
read passes the position of the previous write as ``min_position``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from entrypoints.bootstrap import Runtime
from tests.e2e.test_api_support import Api, assert_error, close


@pytest.fixture
def api(runtime: Runtime) -> Iterator[Api]:
    with TestClient(create_app(runtime)) as client:
        yield Api(client, runtime)


def pace(start: date, end: date, at: datetime) -> float:
    """Expected progress by hand: elapsed / length, the end date inclusive."""
    opens = datetime(start.year, start.month, start.day, tzinfo=UTC)
    closes = datetime(end.year, end.month, end.day, tzinfo=UTC) + timedelta(days=1)
    return min(1.0, max(0.0, (at - opens) / (closes - opens)))


def kr_of(objective: dict[str, Any], kr_id: str) -> dict[str, Any]:
    return next(kr for kr in objective["key_results"] if kr["id"] == kr_id)


def ids(nodes: list[dict[str, Any]]) -> set[str]:
    return {node["id"] for node in nodes}


def issue_event(
    event_id: str, key: str, status: str, at: str, tracker: str = "github", **extra: Any
) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "tracker": tracker,
        "issue_key": key,
        "status": status,
        "occurred_at": at,
        **extra,
    }


def test_a_whole_cycle(api: Api) -> None:
    ada = api.token("ada", "admin")  # OKR admin
    mia = api.token("mia")  # manages Platform
    max_ = api.token("max")  # manages Mobile
    ivy = api.token("ivy")  # Platform member, owns an individual objective
    leo = api.token("leo")  # Platform member, assignee of a milestone KR
    ci = api.token("ci-bot", "integration")

    # ------------------------------------------------------------------ launch
    today = datetime.now(UTC).date()
    start, end = today - timedelta(days=30), today + timedelta(days=60)
    cycle = api.post(
        "/cycles",
        ada,
        {
            "name": "Q4",
            "start_date": start.isoformat(),
            "end_date": end.isoformat(),
            "cadence": "quarter",
        },
        201,
    )
    cid = cycle["id"]
    assert set(cycle) == {"id", "version", "position"}

    engineering = api.post("/teams", ada, {"name": "Engineering"}, 201)["id"]
    platform = api.post("/teams", ada, {"name": "Platform", "parent_id": engineering}, 201)["id"]
    mobile = api.post("/teams", ada, {"name": "Mobile", "parent_id": engineering}, 201)["id"]
    api.post(f"/teams/{platform}/members", ada, {"user_id": "mia", "role": "manager"}, 200)
    api.post(f"/teams/{platform}/members", mia, {"user_id": "ivy", "role": "member"}, 200)
    api.post(f"/teams/{platform}/members", mia, {"user_id": "leo", "role": "member"}, 200)
    api.post(f"/teams/{mobile}/members", ada, {"user_id": "max", "role": "manager"}, 200)
    api.post(f"/teams/{mobile}/members", mia, {"user_id": "mia", "role": "manager"}, 403)

    teams = {t["name"]: t for t in api.get("/teams", leo)["teams"]}
    assert teams["Platform"]["parent_id"] == engineering
    assert teams["Mobile"]["parent_id"] == engineering
    assert teams["Engineering"]["parent_id"] is None
    assert {(m["user_id"], m["role"]) for m in teams["Platform"]["members"]} == {
        ("mia", "manager"),
        ("ivy", "member"),
        ("leo", "member"),
    }
    assert api.get(f"/teams/{mobile}", ivy)["members"] == [
        {"user_id": "max", "display_name": None, "role": "manager"}  # no directory entry
    ]

    org_objective = {
        "cycle_id": cid,
        "title": "Delight our customers",
        "level": "organization",
        "owner_team_id": engineering,
    }
    assert_error(api.call("POST", "/objectives", ada, json=org_objective), 409, "phase_rule")

    # ---------------------------------------------------------------- drafting
    api.post(f"/cycles/{cid}/phase", ada, {"phase": "drafting"}, 200)

    o1 = api.post("/objectives", ada, org_objective, 201)["id"]
    k1_written = api.post(
        f"/objectives/{o1}/key-results",
        ada,
        {"title": "NPS survey coverage", "mode": "percentage", "weight": 2},
        201,
    )
    assert set(k1_written) == {"id", "version", "position", "key_result_id"}
    assert k1_written["id"] == o1
    k1 = k1_written["key_result_id"]
    k2 = api.post(
        f"/objectives/{o1}/key-results",
        ada,
        {"title": "Team objectives delivered", "mode": "aligned"},
        201,
    )["key_result_id"]
    k3 = api.post(
        f"/objectives/{o1}/key-results",
        ada,
        {"title": "Cut p95 latency", "mode": "numeric", "start": 800, "target": 200, "unit": "ms"},
        201,
    )["key_result_id"]

    # Platform's team objective hangs from the org objective's aligned KR.
    o2 = api.post(
        "/objectives",
        mia,
        {
            "cycle_id": cid,
            "title": "Ship a rock-solid platform",
            "description": "fewer pages, faster deploys",
            "level": "team",
            "owner_team_id": platform,
            "aligned_to_key_result_id": k2,
        },
        201,
    )["id"]
    a1 = api.post(
        f"/objectives/{o2}/key-results",
        mia,
        {
            "title": "Migrate to the new cluster",
            "mode": "milestone",
            "weight": 3,
            "milestones": ["design", "build", "rollout", "cleanup"],
            "assignee_id": "leo",
        },
        201,
    )["key_result_id"]
    a2 = api.post(
        f"/objectives/{o2}/key-results",
        mia,
        {"title": "Close the SSO epic", "mode": "issues", "participant_ids": ["ivy"]},
        201,
    )["key_result_id"]
    a3 = api.post(
        f"/objectives/{o2}/key-results",
        mia,
        {"title": "Raise test coverage", "mode": "numeric", "start": 60, "unit": "%"},
        201,
    )["key_result_id"]

    # Mobile's objective aligns to the org objective itself; weights all zero.
    o3 = api.post(
        "/objectives",
        max_,
        {
            "cycle_id": cid,
            "title": "Mobile app 2.0",
            "level": "team",
            "owner_team_id": mobile,
            "aligned_to_objective_id": o1,
        },
        201,
    )["id"]
    m1 = api.post(
        f"/objectives/{o3}/key-results",
        max_,
        {"title": "Beta adoption", "mode": "percentage", "weight": 0},
        201,
    )["key_result_id"]
    m2 = api.post(
        f"/objectives/{o3}/key-results",
        max_,
        {"title": "Store rating", "mode": "percentage", "weight": 0},
        201,
    )["key_result_id"]

    # Ivy's private, team-based individual objective, aligned to the org KR.
    o4 = api.post(
        "/objectives",
        ivy,
        {
            "cycle_id": cid,
            "title": "Grow as a platform engineer",
            "level": "individual",
            "visibility": "private",
            "aligned_to_key_result_id": k2,
        },
        201,
    )["id"]
    p1 = api.post(
        f"/objectives/{o4}/key-results",
        ivy,
        {"title": "Pair on SSO", "mode": "percentage"},
        201,
    )["key_result_id"]

    # A near-duplicate draft, archived after the review flags it.
    o5 = api.post(
        "/objectives",
        mia,
        {
            "cycle_id": cid,
            "title": "Ship a rock solid platform!",
            "level": "team",
            "owner_team_id": platform,
        },
        201,
    )["id"]

    review = api.get(f"/cycles/{cid}/review", ada)
    assert review["cycle_id"] == cid
    found = {
        (w["code"], w["objective_id"], w["key_result_id"], w["other_objective_id"])
        for w in review["warnings"]
    }
    duplicate = [w for w in review["warnings"] if w["code"] == "near_duplicate_title"]
    assert len(duplicate) == 1
    assert {duplicate[0]["objective_id"], duplicate[0]["other_objective_id"]} == {o2, o5}
    assert found - {
        (w["code"], w["objective_id"], None, w["other_objective_id"]) for w in duplicate
    } == {
        ("numeric_without_target", o2, a3, None),
        ("too_few_key_results", o3, None, None),
        ("all_weights_zero", o3, None, None),
        ("too_few_key_results", o4, None, None),
        ("too_few_key_results", o5, None, None),
        ("not_aligned", o5, None, None),
    }
    # Leo may not see Ivy's private objective, nor its warnings.
    assert o4 not in {w["objective_id"] for w in api.get(f"/cycles/{cid}/review", leo)["warnings"]}

    api.post(f"/objectives/{o5}/archive", mia, None, 200)
    api.post(f"/objectives/{o5}/archive", mia, None, 409)  # archived already
    review = api.get(f"/cycles/{cid}/review", ada)["warnings"]
    assert o5 not in {w["objective_id"] for w in review}
    assert o5 not in {w.get("other_objective_id") for w in review}

    # Alignment may not loop: O1 under O2 would make O1 its own ancestor.
    loop = api.call("PUT", f"/objectives/{o1}/alignment", ada, json={"objective_id": o2})
    assert_error(loop, 409, "alignment_cycle")

    # ---------------------------------------------------------------- tracking
    api.post(f"/cycles/{cid}/phase", ada, {"phase": "tracking"}, 200)
    api.patch(f"/objectives/{o2}/key-results/{a3}", mia, {"target": 90}, 200)

    api.post(
        f"/objectives/{o1}/key-results/{k1}/check-ins",
        ada,
        {"percent": 40, "status": "on_track", "confidence": 0.8},
        200,
    )
    api.post(
        f"/objectives/{o1}/key-results/{k3}/check-ins",
        ada,
        {"current": 500, "status": "at_risk", "note": "cache rollout slipped"},
        200,
    )
    a1_checked = api.post(
        f"/objectives/{o2}/key-results/{a1}/check-ins",
        leo,
        {"milestones_done": [0, 1], "status": "on_track", "confidence": 0.9},
        200,
    )
    after_a1 = datetime.now(UTC)
    time.sleep(0.01)
    api.post(
        f"/objectives/{o2}/key-results/{a3}/check-ins",
        mia,
        {"current": 72, "status": "behind", "confidence": 0.3},
        200,
    )
    # Leo works on a1 only: a3 is not his.
    api.post(
        f"/objectives/{o2}/key-results/{a3}/check-ins",
        leo,
        {"current": 80, "status": "on_track"},
        403,
    )
    api.post(
        f"/objectives/{o3}/key-results/{m1}/check-ins",
        max_,
        {"percent": 50, "status": "on_track"},
        200,
    )
    api.post(
        f"/objectives/{o3}/key-results/{m2}/check-ins",
        max_,
        {"percent": 100, "status": "on_track"},
        200,
    )
    api.post(
        f"/objectives/{o4}/key-results/{p1}/check-ins",
        ivy,
        {"percent": 20, "status": "postponed"},
        200,
    )

    # Issues: an event for an issue nobody links yet is recorded, and moves nothing.
    early = api.post(
        "/issue-events",
        ci,
        issue_event("gh-9-done", "acme/app#9", "done", "2026-11-20T09:00:00Z", estimate=2),
        200,
    )
    assert early["applied"] is True and early["duplicate"] is False
    # Ivy (a participant of a2) links three issues; the fourth arrives with its status.
    for key, estimate in (("acme/app#1", 3), ("acme/app#2", 1)):
        api.post(
            f"/objectives/{o2}/key-results/{a2}/issues",
            ivy,
            {"tracker": "github", "issue_key": key, "estimate": estimate},
            200,
        )
    api.post(
        f"/objectives/{o2}/key-results/{a2}/issues",
        ivy,
        {"tracker": "jira", "issue_key": "PLAT-7", "title": "SAML metadata"},
        200,
    )
    api.post(
        f"/objectives/{o2}/key-results/{a2}/issues",
        ivy,
        {"tracker": "github", "issue_key": "acme/app#9"},
        200,
    )
    api.post(
        f"/objectives/{o2}/key-results/{a2}/issues",
        ivy,
        {"tracker": "github", "issue_key": "acme/app#9"},
        409,
    )
    api.post(
        f"/objectives/{o2}/key-results/{a2}/issues",
        ivy,
        {"tracker": "github", "issue_key": "acme/app#10"},
        200,
    )
    api.delete(
        f"/objectives/{o2}/key-results/{a2}/issues",
        ivy,
        200,
        tracker="github",
        issue_key="acme/app#10",
    )
    moved = api.post(
        "/issue-events",
        ci,
        issue_event("gh-1-done", "acme/app#1", "done", "2026-11-21T10:00:00Z", raw_status="closed"),
        200,
    )
    assert moved["applied"] is True and moved["position"] > 0
    again = api.post(
        "/issue-events",
        ci,
        issue_event("gh-1-done", "acme/app#1", "done", "2026-11-21T10:00:00Z", raw_status="closed"),
        200,
    )
    assert again["duplicate"] is True and again["applied"] is False
    stale = api.post(
        "/issue-events",
        ada,
        issue_event("gh-1-reopened-late", "acme/app#1", "todo", "2026-11-01T10:00:00Z"),
        200,
    )
    assert stale["applied"] is False and stale["duplicate"] is False
    api.post(
        "/issue-events",
        ci,
        issue_event("gh-2-wip", "acme/app#2", "in_progress", "2026-11-21T11:00:00Z"),
        200,
    )
    api.post(
        "/issue-events",
        ci,
        issue_event("jira-7-cancel", "PLAT-7", "cancelled", "2026-11-21T12:00:00Z", tracker="jira"),
        200,
    )
    api.post(
        "/issue-events",
        ivy,
        issue_event("gh-2-sneaky", "acme/app#2", "done", "2026-11-22T11:00:00Z"),
        403,
    )

    issue = api.get("/issues", leo, tracker="github", issue_key="acme/app#1")
    assert issue["status"] == "done" and issue["raw_status"] == "closed"
    assert issue["key_results"] == [{"objective_id": o2, "key_result_id": a2}]
    assert api.get("/issues", leo, tracker="github", issue_key="acme/app#10")["key_results"] == []

    # Hand computation, tracking phase:
    #   a1 milestones 2/4 = 0.5 (w 3); a2 issues done 3+2 of 3+1+2 (PLAT-7 cancelled) = 5/6
    #   (w 1); a3 numeric (72-60)/(90-60) = 0.4 (w 1)
    #   k1 0.4 (w 2); k3 (500-800)/(200-800) = 0.5 (w 1); O4 = 0.2; O3 = plain mean 0.75
    a2_progress = 5 / 6
    o2_progress = (3 * 0.5 + 1 * a2_progress + 1 * 0.4) / 5
    k2_progress = (o2_progress + 0.2) / 2
    o1_progress = (2 * 0.4 + 1 * k2_progress + 1 * 0.5) / 4
    before = datetime.now(UTC)
    doc = api.get(f"/objectives/{o2}", leo)
    after = datetime.now(UTC)
    assert pace(start, end, before) - 1e-6 <= doc["expected_progress"] <= pace(start, end, after)
    assert close(doc["progress"], o2_progress)
    assert doc["status"] == "behind"
    assert close(kr_of(doc, a1)["progress"], 0.5)
    assert kr_of(doc, a1)["milestones"] == [
        {"title": "design", "done": True},
        {"title": "build", "done": True},
        {"title": "rollout", "done": False},
        {"title": "cleanup", "done": False},
    ]
    assert kr_of(doc, a1)["status"] == "on_track" and close(kr_of(doc, a1)["confidence"], 0.9)
    assert kr_of(doc, a1)["last_check_in_at"] is not None
    assert close(kr_of(doc, a2)["progress"], a2_progress)
    assert kr_of(doc, a2)["status"] is None and kr_of(doc, a2)["participant_ids"] == ["ivy"]
    assert sorted(
        (i["tracker"], i["issue_key"], i["status"], i["estimate"]) for i in kr_of(doc, a2)["issues"]
    ) == [
        ("github", "acme/app#1", "done", 3.0),
        ("github", "acme/app#2", "in_progress", 1.0),
        ("github", "acme/app#9", "done", 2.0),
        ("jira", "PLAT-7", "cancelled", None),
    ]
    assert close(kr_of(doc, a3)["progress"], 0.4)
    assert (kr_of(doc, a3)["start"], kr_of(doc, a3)["target"]) == (60.0, 90.0)
    assert kr_of(doc, a3)["current"] == 72.0 and kr_of(doc, a3)["unit"] == "%"
    assert "retrospective" not in doc
    assert doc["aligned_to_key_result_id"] == k2 and doc["owner_team_id"] == platform

    o1_doc = api.get(f"/objectives/{o1}", leo)
    assert close(kr_of(o1_doc, k2)["progress"], k2_progress)
    assert close(kr_of(o1_doc, k3)["progress"], 0.5)
    assert close(o1_doc["progress"], o1_progress)
    assert o1_doc["status"] == "at_risk"
    o3_doc = api.get(f"/objectives/{o3}", leo)
    assert close(o3_doc["progress"], 0.75) and o3_doc["status"] == "on_track"
    o4_doc = api.get(f"/objectives/{o4}", ivy)
    assert close(o4_doc["progress"], 0.2) and o4_doc["status"] == "postponed"
    api.get(f"/objectives/{o4}", leo, expect=404)

    # Re-weighting moves progress: a2 now weighs 2.
    api.put(f"/objectives/{o2}/weights", mia, {"weights": {a2: 2}}, 200)
    o2_progress = (3 * 0.5 + 2 * a2_progress + 1 * 0.4) / 6
    k2_progress = (o2_progress + 0.2) / 2
    o1_progress = (2 * 0.4 + 1 * k2_progress + 1 * 0.5) / 4

    tree = api.get(f"/cycles/{cid}/tree", ada)
    assert tree["cycle_id"] == cid
    assert ids(tree["objectives"]) == {o1}
    root = tree["objectives"][0]
    assert close(root["progress"], o1_progress)
    assert ids(root["children"]) == {o2, o3, o4}
    children = {c["id"]: c for c in root["children"]}
    assert close(children[o2]["progress"], o2_progress)
    assert close(children[o3]["progress"], 0.75)
    assert all(c["children"] == [] for c in root["children"])
    assert all(
        close(node["expected_progress"], root["expected_progress"]) for node in children.values()
    )
    # Leo can't see Ivy's private objective anywhere; the team filter keeps Platform's subtree.
    assert ids(api.get(f"/cycles/{cid}/tree", leo)["objectives"][0]["children"]) == {o2, o3}
    assert ids(api.get(f"/cycles/{cid}/tree", leo, team_id=platform)["objectives"]) == {o2}

    board = api.get(f"/cycles/{cid}/dashboard", ada)
    assert board["objective_count"] == 4
    assert close(board["mean_progress"], (o1_progress + o2_progress + 0.75 + 0.2) / 4)
    assert board["counts_by_status"] == {
        "on_track": 1,
        "at_risk": 1,
        "behind": 1,
        "postponed": 1,
    }
    assert {(s["objective_id"], s["key_result_id"]) for s in board["stale_key_results"]} == {
        (o1, k2),
        (o2, a2),
    }
    assert board["achievement_rate"] is None
    platform_board = api.get(f"/cycles/{cid}/dashboard", leo, team_id=platform)
    assert platform_board["objective_count"] == 1 and platform_board["team_id"] == platform
    assert close(platform_board["mean_progress"], o2_progress)
    assert api.get(f"/cycles/{cid}/dashboard", leo)["objective_count"] == 3

    # Notes: anyone who may see the objective.
    api.post(f"/objectives/{o2}/notes", leo, {"topic": "coaching", "text": "pairing on k8s"}, 200)
    api.post(f"/objectives/{o4}/notes", leo, {"topic": "career", "text": "hi"}, 404)

    # History: every event, with its actor; what moved a2 carries the issue event's id.
    events = api.get(f"/objectives/{o2}/history", leo)["events"]
    assert [e["version"] for e in events] == list(range(1, len(events) + 1))
    types = [e["type"] for e in events]
    assert types[0] == "Drafted" and events[0]["actor"] == "mia"
    assert types.count("KeyResultAdded") == 3 and types.count("IssueLinked") == 5
    checked = [e for e in events if e["type"] == "CheckedIn"]
    assert [(e["actor"], e["data"]["key_result_id"]) for e in checked] == [("leo", a1), ("mia", a3)]
    moved_by = [e["data"]["event_id"] for e in events if e["type"] == "IssueStatusChanged"]
    assert moved_by == ["gh-1-done", "gh-2-wip", "jira-7-cancel"]
    note = next(e for e in events if e["type"] == "NoteAdded")
    assert note["actor"] == "leo" and note["data"]["text"] == "pairing on k8s"
    assert events[-1]["type"] == "NoteAdded"

    # Progress history: each change with its cause.
    points = api.get(f"/objectives/{o2}/progress-history", leo)["points"]
    causes = [(p["key_result_id"], p["cause"]["type"]) for p in points]
    assert (a1, "check_in") in causes and (None, "weight_change") in causes
    issue_points = [p for p in points if p["cause"]["type"] == "issue_event"]
    assert {p["cause"]["event_id"] for p in issue_points} >= {"gh-1-done", "jira-7-cancel"}
    own = [p for p in points if p["key_result_id"] is None]
    assert close(own[-1]["progress"], o2_progress)
    a1_point = next(
        p for p in points if p["key_result_id"] == a1 and p["cause"]["type"] == "check_in"
    )
    assert close(a1_point["progress"], 0.5) and a1_point["cause"]["actor"] == "leo"
    o1_points = api.get(f"/objectives/{o1}/progress-history", ada)["points"]
    rolled = [p for p in o1_points if p["cause"]["type"] == "child_progress"]
    assert {p["cause"]["child_objective_id"] for p in rolled} >= {o2, o4}
    assert close([p for p in o1_points if p["key_result_id"] is None][-1]["progress"], o1_progress)

    # Time travel by version: just after Leo's check-in, before a3 had a target check-in.
    past = api.get(f"/objectives/{o2}", leo, version=a1_checked["version"])
    assert past["version"] == a1_checked["version"]
    assert close(past["progress"], (3 * 0.5 + 1 * 0 + 1 * 0) / 5)
    assert kr_of(past, a3)["current"] == 60.0 and kr_of(past, a2)["issues"] == []
    # ... and by time: the state as of a moment between two writes.
    as_of = api.get(f"/objectives/{o2}", leo, as_of=after_a1.isoformat())
    assert as_of["version"] == a1_checked["version"]
    assert close(as_of["expected_progress"], pace(start, end, after_a1))
    first = api.get(f"/objectives/{o2}", leo, version=1)
    assert first["key_results"] == [] and close(first["progress"], 0.0)
    api.get(f"/objectives/{o2}", leo, expect=404, as_of="2001-01-01T00:00:00Z")
    api.get(f"/objectives/{o2}", leo, expect=404, version=10_000)
    api.get(f"/objectives/{o2}", leo, expect=422, version=1, as_of=after_a1.isoformat())
    # An aligned KR travels with what progress history held at that time.
    now_o1 = api.get(f"/objectives/{o1}", ada, as_of=datetime.now(UTC).isoformat())
    assert close(kr_of(now_o1, k2)["progress"], k2_progress)
    assert close(now_o1["progress"], o1_progress)

    # ETag and If-Match: a stale version writes nothing.
    current = api.call("GET", f"/objectives/{o2}", leo, expect=200)
    version = current.json()["version"]
    assert current.headers["etag"] == f'"{version}"'
    refused = api.call(
        "PATCH",
        f"/objectives/{o2}",
        mia,
        json={"title": "Ship a rock-solid platform, safely"},
        headers={"If-Match": f'"{version - 1}"'},
    )
    assert_error(refused, 412, "version_mismatch")
    assert api.get(f"/objectives/{o2}", leo)["version"] == version
    edited = api.call(
        "PATCH",
        f"/objectives/{o2}",
        mia,
        json={"title": "Ship a rock-solid platform, safely"},
        headers={"If-Match": f'"{version}"'},
        expect=200,
    ).json()
    assert edited["version"] == version + 1
    assert api.get(f"/objectives/{o2}", leo)["title"] == "Ship a rock-solid platform, safely"

    # ----------------------------------------------------------- retrospective
    api.post(f"/cycles/{cid}/phase", ada, {"phase": "retrospective"}, 200)
    api.post(
        f"/objectives/{o2}/key-results/{a1}/check-ins",
        leo,
        {"milestones_done": [0, 1, 2], "status": "on_track"},
        409,
    )
    api.patch(f"/objectives/{o2}", mia, {"title": "Too late"}, 409)
    # A late issue event still moves the KR: #2 done → a2 = 6/6.
    api.post(
        "/issue-events",
        ci,
        issue_event("gh-2-done", "acme/app#2", "done", "2026-11-30T10:00:00Z"),
        200,
    )
    o2_progress = (3 * 0.5 + 2 * 1.0 + 1 * 0.4) / 6
    k2_progress = (o2_progress + 0.2) / 2
    o1_progress = (2 * 0.4 + 1 * k2_progress + 1 * 0.5) / 4

    api.put(
        f"/objectives/{o2}/retrospective",
        leo,
        {"problems": "x", "improvements": "y", "next_focus": "z"},
        403,
    )
    api.put(
        f"/objectives/{o2}/retrospective",
        mia,
        {
            "scores": {a1: 0.6, a3: 0.5},
            "problems": "cluster migration underestimated",
            "improvements": "split milestones smaller",
            "next_focus": "observability",
        },
        200,
    )
    api.put(
        f"/objectives/{o3}/retrospective",
        max_,
        {"problems": "", "improvements": "", "next_focus": "tablet layout"},
        200,
    )
    o2_rate = (3 * 0.6 + 2 * 1.0 + 1 * 0.5) / 6  # a2 has no score: its final progress
    o3_rate = (0.5 + 1.0) / 2  # all weights zero: the plain mean of final progress
    doc = api.get(f"/objectives/{o2}", leo)
    assert close(doc["progress"], o2_progress)
    assert close(kr_of(doc, a2)["progress"], 1.0)
    retro = doc["retrospective"]
    assert close(retro["achievement_rate"], o2_rate)
    assert retro["scores"] == {a1: 0.6, a3: 0.5}
    assert retro["next_focus"] == "observability"
    assert close(api.get(f"/objectives/{o1}", leo)["progress"], o1_progress)
    assert close(api.get(f"/objectives/{o3}", leo)["retrospective"]["achievement_rate"], o3_rate)
    board = api.get(f"/cycles/{cid}/dashboard", ada)
    assert close(board["achievement_rate"], (o2_rate + o3_rate) / 2)
    assert close(
        api.get(f"/cycles/{cid}/dashboard", ada, team_id=platform)["achievement_rate"], o2_rate
    )

    # ------------------------------------------------------------------ closed
    api.post(f"/cycles/{cid}/phase", ada, {"phase": "closed"}, 200)
    closed_version = api.get(f"/objectives/{o2}", ada)["version"]
    refusals = [
        ("POST", f"/cycles/{cid}/phase", {"phase": "closed"}),
        ("POST", "/objectives", {**org_objective, "title": "One more"}),
        ("PATCH", f"/objectives/{o2}", {"title": "Renamed"}),
        ("PUT", f"/objectives/{o2}/alignment", {}),
        ("POST", f"/objectives/{o2}/archive", None),
        ("POST", f"/objectives/{o2}/key-results", {"title": "Late", "mode": "percentage"}),
        ("PATCH", f"/objectives/{o2}/key-results/{a1}", {"title": "Renamed"}),
        ("POST", f"/objectives/{o2}/key-results/{a1}/archive", None),
        ("PUT", f"/objectives/{o2}/weights", {"weights": {a1: 1}}),
        (
            "POST",
            f"/objectives/{o2}/key-results/{a1}/check-ins",
            {"milestones_done": [0], "status": "behind"},
        ),
        (
            "POST",
            f"/objectives/{o2}/key-results/{a2}/issues",
            {"tracker": "github", "issue_key": "acme/app#77"},
        ),
        ("POST", f"/objectives/{o2}/notes", {"topic": "appraisal", "text": "well done"}),
        (
            "PUT",
            f"/objectives/{o2}/retrospective",
            {"problems": "a", "improvements": "b", "next_focus": "c"},
        ),
    ]
    for method, path, body in refusals:
        assert_error(api.call(method, path, ada, json=body), 409)
    unlink = api.call(
        "DELETE",
        f"/objectives/{o2}/key-results/{a2}/issues",
        ada,
        params={"tracker": "github", "issue_key": "acme/app#1"},
    )
    assert_error(unlink, 409)
    # An issue event is still recorded for the tracker's sake, but moves nothing closed.
    api.post(
        "/issue-events",
        ci,
        issue_event("gh-1-reopened", "acme/app#1", "todo", "2026-12-30T10:00:00Z"),
        200,
    )
    final = api.get(f"/objectives/{o2}", leo)
    assert final["version"] == closed_version
    assert close(final["progress"], o2_progress)
    assert api.get("/issues", leo, tracker="github", issue_key="acme/app#1")["status"] == "todo"
    assert api.get(f"/cycles/{cid}", leo)["phase"] == "closed"
