"""SPEC §9 "Alignment depth": no chain of aligned objectives longer than
``OKR_MAX_ALIGNMENT_DEPTH`` (default 10) can be written, and no stored chain,
however long, nor a stored alignment cycle, can stop, loop or exhaust a reader.

Stored data the API now refuses (a chain of 1,100, a cycle) is written
directly with the domain aggregates, as an older version or an import would
have left it.
"""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from commands.messages import AdvanceCyclePhase, DraftObjective, FormTeam, PlanCycle
from domain.key_result_locator import KeyResultLocator
from domain.objective import Objective
from domain.visibility import Viewer
from entrypoints.bootstrap import Runtime, build_runtime
from entrypoints.settings import Settings
from projections.audit import audit_trail
from projections.objective_queries import cycle_tree_json
from tests.e2e.test_api_support import Api, Headers, assert_error

LIMIT = 10
STORED_CHAIN = 1_100


@pytest.fixture
def api(runtime: Runtime) -> Iterator[Api]:
    with TestClient(create_app(runtime)) as client:
        yield Api(client, runtime)


@contextmanager
def finite(seconds: float) -> Iterator[None]:
    """Fail (instead of hanging) if the block loops: an alarm interrupts the main thread."""

    def expired(_: int, __: FrameType | None) -> None:
        raise AssertionError(f"still running after {seconds} s: a reader loops")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# ---------------------------------------------------------------- set-up


def tracking_cycle(api: Api, admin: Headers) -> str:
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
    api.post(f"/cycles/{cycle}/phase", admin, {"phase": "tracking"}, 200)
    return str(cycle)


def team(api: Api, admin: Headers, name: str) -> str:
    return str(api.post("/teams", admin, {"name": name}, 201)["id"])


def draft(api: Api, who: Headers, cycle: str, owner: str, expect: int = 201, **align: str) -> Any:
    body = {"cycle_id": cycle, "title": "O", "level": "team", "owner_team_id": owner, **align}
    return api.call("POST", "/objectives", who, json=body, expect=expect).json()


def aligned_kr(api: Api, who: Headers, objective: str) -> str:
    body = {"title": "children", "mode": "aligned"}
    return str(api.post(f"/objectives/{objective}/key-results", who, body, 201)["key_result_id"])


def chain_via_api(api: Api, who: Headers, cycle: str, owner: str, length: int) -> list[str]:
    """``length`` objectives, each aligned to the one before: by objective and by KR in turn."""
    ids: list[str] = []
    for i in range(length):
        if not ids:
            align: dict[str, str] = {}
        elif i % 2:
            align = {"aligned_to_key_result_id": aligned_kr(api, who, ids[-1])}
        else:
            align = {"aligned_to_objective_id": ids[-1]}
        ids.append(str(draft(api, who, cycle, owner, **align)["id"]))
    return ids


def depth_of(nodes: list[dict[str, Any]]) -> int:
    """Deepest nesting of a tree answer, without recursion."""
    deepest, stack = 0, [(node, 1) for node in nodes]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in node.get("children") or [])
    return deepest


def every_id(nodes: list[dict[str, Any]]) -> list[str]:
    found, stack = [], list(nodes)
    while stack:
        node = stack.pop()
        found.append(node["id"])
        stack.extend(node.get("children") or [])
    return found


def write_directly(runtime: Runtime, *aggregates: Any) -> int:
    """Save aggregates without any command's checks (an older version, an import)."""
    position = runtime.app.record(*aggregates)
    assert runtime.wait_for(position), "the read models did not catch up"
    return position


def stored_chain(runtime: Runtime, cycle: str, owner: str, length: int) -> list[UUID]:
    """A chain of ``length`` objectives, each aligned to the previous one's aligned KR;
    the bottom one has a percentage KR to check in on."""
    aggregates: list[Any] = []
    ids: list[UUID] = []
    parent_kr: UUID | None = None
    for i in range(length):
        objective = Objective.draft(
            organization_id="acme",
            cycle_id=UUID(cycle),
            title=f"level {i + 1}",
            description=None,
            level="team",
            owner_team_id=UUID(owner),
            owner_user_id=None,
            visibility=None,
            aligned_to_objective_id=None,
            aligned_to_key_result_id=parent_kr,
            aligned_parent_id=ids[-1] if ids else None,
            actor="acme/ada",
        )
        bottom = i == length - 1
        kr = objective.add_key_result(
            title="done" if bottom else "children",
            mode="percentage" if bottom else "aligned",
            weight=None,
            start=None,
            target=None,
            unit=None,
            milestones=None,
            assignee_id=None,
            participant_ids=None,
            actor="acme/ada",
        )
        locator = KeyResultLocator(
            key_result_id=kr, objective_id=objective.id, organization_id="acme", actor="acme/ada"
        )
        aggregates += [objective, locator]
        ids.append(objective.id)
        parent_kr = kr
    write_directly(runtime, *aggregates)
    return ids


# ------------------------------------------------------------ the limit, via the API


def test_a_chain_of_exactly_the_limit_is_drafted_one_more_is_refused(api: Api) -> None:
    ada = api.token("ada", "admin")
    cycle = tracking_cycle(api, ada)
    owner = team(api, ada, "Platform")
    chain = chain_via_api(api, ada, cycle, owner, LIMIT)
    for align in (
        {"aligned_to_objective_id": chain[-1]},
        {"aligned_to_key_result_id": aligned_kr(api, ada, chain[-1])},
    ):
        refused = api.call(
            "POST",
            "/objectives",
            ada,
            json={"cycle_id": cycle, "title": "O", "level": "team", "owner_team_id": owner} | align,
        )
        assert_error(refused, 409, "alignment_too_deep")
    # Below the one before last still fits: that path has exactly LIMIT objectives.
    draft(api, ada, cycle, owner, aligned_to_objective_id=chain[-2])
    tree = api.get(f"/cycles/{cycle}/tree", ada)
    assert depth_of(tree["objectives"]) == LIMIT
    assert len(every_id(tree["objectives"])) == LIMIT + 1  # nothing refused was written


def test_realignment_counts_the_subtree_that_moves(api: Api) -> None:
    ada = api.token("ada", "admin")
    cycle = tracking_cycle(api, ada)
    owner = team(api, ada, "Platform")
    upper = chain_via_api(api, ada, cycle, owner, 6)
    lower = chain_via_api(api, ada, cycle, owner, 4)
    # A branch: the subtree's height is its longest path (5), not its size (6).
    draft(api, ada, cycle, owner, aligned_to_objective_id=lower[-1])
    draft(api, ada, cycle, owner, aligned_to_objective_id=lower[0])
    top = lower[0]

    # 5 above + 5 below = 10: accepted, through an objective and through a KR.
    api.put(f"/objectives/{top}/alignment", ada, {"objective_id": upper[4]}, 200)
    kr5 = aligned_kr(api, ada, upper[4])
    api.put(f"/objectives/{top}/alignment", ada, {"key_result_id": kr5}, 200)
    tree = api.get(f"/cycles/{cycle}/tree", ada)
    assert depth_of(tree["objectives"]) == LIMIT

    # 6 above + 5 below = 11: refused both ways, and nothing written.
    version = api.get(f"/objectives/{top}", ada)["version"]
    kr6 = aligned_kr(api, ada, upper[5])
    for body in ({"objective_id": upper[5]}, {"key_result_id": kr6}):
        refused = api.call("PUT", f"/objectives/{top}/alignment", ada, json=body)
        assert_error(refused, 409, "alignment_too_deep")
    assert api.get(f"/objectives/{top}", ada)["version"] == version

    # A leaf may go below the deepest objective only while the path stays at 10.
    leaf = str(draft(api, ada, cycle, owner)["id"])
    deepest = lower[-1]  # at depth 5 + 4 = 9
    api.put(f"/objectives/{leaf}/alignment", ada, {"objective_id": deepest}, 200)
    other = str(draft(api, ada, cycle, owner)["id"])
    refused = api.call("PUT", f"/objectives/{other}/alignment", ada, json={"objective_id": leaf})
    assert_error(refused, 409, "alignment_too_deep")
    # Unaligning is always allowed, and so is a cycle's refusal as before.
    api.put(f"/objectives/{top}/alignment", ada, {}, 200)
    cyclic = api.call("PUT", f"/objectives/{top}/alignment", ada, json={"objective_id": deepest})
    assert_error(cyclic, 409, "alignment_cycle")


def test_the_limit_is_a_setting(backend: Settings) -> None:
    runtime = build_runtime(backend.model_copy(update={"max_alignment_depth": 3}))
    runtime.start_following()
    try:
        with TestClient(create_app(runtime)) as client:
            api = Api(client, runtime)
            ada = api.token("ada", "admin")
            cycle = tracking_cycle(api, ada)
            owner = team(api, ada, "Platform")
            chain = chain_via_api(api, ada, cycle, owner, 3)
            refused = api.call(
                "POST",
                "/objectives",
                ada,
                json={
                    "cycle_id": cycle,
                    "title": "O",
                    "level": "team",
                    "owner_team_id": owner,
                    "aligned_to_objective_id": chain[-1],
                },
            )
            assert_error(refused, 409, "alignment_too_deep")
    finally:
        runtime.close()


def test_the_setting_is_bounded() -> None:
    for wrong in (0, 101):
        with pytest.raises(ValueError):
            Settings(max_alignment_depth=wrong)
    assert Settings().max_alignment_depth == LIMIT


# ------------------------------------------------------- a stored chain of 1,100


def test_a_stored_chain_of_1100_stops_no_reader(api: Api, runtime: Runtime) -> None:
    ada = api.token("ada", "admin")
    cycle = tracking_cycle(api, ada)
    owner = team(api, ada, "Platform")
    chain = stored_chain(runtime, cycle, owner, STORED_CHAIN)
    top, bottom = str(chain[0]), str(chain[-1])
    bottom_kr = api.get(f"/objectives/{bottom}", ada)["key_results"][0]["id"]

    # The check-in's roll-up climbs 1,100 objectives: the projection goes on.
    api.post(
        f"/objectives/{bottom}/key-results/{bottom_kr}/check-ins",
        ada,
        {"percent": 50, "status": "on_track"},
        200,
    )
    assert api.get(f"/objectives/{top}", ada)["progress"] == pytest.approx(0.5)

    # Another organization's reads stay current.
    hal = api.token("hal", "admin", org="globex")
    other = tracking_cycle(api, hal)
    assert api.get(f"/cycles/{other}", hal)["id"] == other
    assert api.get("/cycles", hal, expect=200) is not None
    assert api.client.get("/v1/health").json()["status"] == "ok"
    assert runtime.follower.error is None

    # The chain's own reads answer; the tree nests no deeper than the limit and
    # shows every objective once (the deeper ones as roots).
    for path in (f"/cycles/{cycle}/tree", f"/cycles/{cycle}/tree?team_id={owner}"):
        response = api.call("GET", path, ada, expect=200)
        tree = response.json()
        assert depth_of(tree["objectives"]) == LIMIT
        assert sorted(every_id(tree["objectives"])) == sorted(map(str, chain))
        assert [o["id"] for o in tree["objectives"]] == [str(i) for i in chain[::LIMIT]]
    dashboard = api.get(f"/cycles/{cycle}/dashboard", ada)
    assert dashboard["objective_count"] == STORED_CHAIN
    api.get(f"/objectives/{top}/progress-history", ada)
    api.get(f"/objectives/{top}/history", ada)
    assert api.get(f"/objectives/{top}", ada, version=2)["version"] == 2
    moment = datetime.now(UTC).isoformat()
    assert api.get(f"/objectives/{top}", ada, as_of=moment)["progress"] == pytest.approx(0.5)
    entries = audit_trail(runtime.app, runtime.store, chain[0], viewer=None)
    assert any(e.type == "ChildProgress" for e in entries)
    for page in (f"/dashboard/cycles/{cycle}", f"/dashboard/objectives/{top}"):
        html = api.client.get(page, headers=ada)
        assert html.status_code == 200, html.text[:500]
    middle = api.client.get(f"/dashboard/objectives/{chain[LIMIT]}", headers=ada)
    assert middle.status_code == 200


# ------------------------------------------------------- a stored alignment cycle


def test_a_stored_alignment_cycle_keeps_every_read_finite(api: Api, runtime: Runtime) -> None:
    ada = api.token("ada", "admin")
    mo = api.token("mo")
    cycle = tracking_cycle(api, ada)
    red, blue = team(api, ada, "Red"), team(api, ada, "Blue")
    a = str(draft(api, ada, cycle, red)["id"])
    b = str(draft(api, ada, cycle, blue)["id"])
    kr_a, kr_b = aligned_kr(api, ada, a), aligned_kr(api, ada, b)
    child = str(draft(api, ada, cycle, red, aligned_to_key_result_id=kr_a)["id"])
    done = api.post(
        f"/objectives/{child}/key-results", ada, {"title": "done", "mode": "percentage"}, 201
    )["key_result_id"]
    # A aligned to B's KR and B to A's KR, written past the commands' rules.
    first = runtime.app.repository.get(UUID(a))
    second = runtime.app.repository.get(UUID(b))
    first.realign(objective_id=None, key_result_id=UUID(kr_b), parent_id=UUID(b), actor="x")
    second.realign(objective_id=None, key_result_id=UUID(kr_a), parent_id=UUID(a), actor="x")
    api.position = write_directly(runtime, first, second)

    with finite(20):
        # The members of the cycle are roots; what hangs below them stays there.
        tree = api.get(f"/cycles/{cycle}/tree", ada)
        assert [o["id"] for o in tree["objectives"]] == [a, b]
        assert sorted(every_id(tree["objectives"])) == sorted([a, b, child])
        # Health names the cycle to an admin of its organization only.
        report = api.client.get("/v1/health", headers=ada).json()
        assert report["status"] == "degraded"
        assert report["alignment_cycles"] == sorted([a, b])
        anonymous = api.client.get("/v1/health").json()
        assert a not in json.dumps(anonymous) and "alignment_cycles" not in anonymous
        assert "alignment_cycles" not in api.client.get("/v1/health", headers=mo).json()
        hal = api.token("hal", "admin", org="globex")
        elsewhere = api.client.get("/v1/health", headers=hal).json()
        assert (elsewhere["status"], elsewhere["alignment_cycles"]) == ("ok", [])

        # Called directly first: a loop here fails the test instead of growing the worker.
        viewer = Viewer(organization_id="acme", user_id="ada", is_admin=True)
        now = datetime.now(UTC)
        for team_id in (red, blue):
            found = cycle_tree_json(runtime.store, viewer, cycle, now, team_id)
            assert found is not None and len(found) < 100_000
        for team_id in (red, blue):
            tree = api.get(f"/cycles/{cycle}/tree", ada, team_id=team_id)
            assert len(every_id(tree["objectives"])) <= 3
        api.get(f"/cycles/{cycle}/dashboard", ada)
        api.get(f"/cycles/{cycle}/dashboard", ada, team_id=red)

        # A check-in below the cycle rolls up round it once and stops.
        api.post(
            f"/objectives/{child}/key-results/{done}/check-ins",
            ada,
            {"percent": 40, "status": "on_track"},
            200,
        )
        assert runtime.follower.error is None
        for objective in (a, b, child):
            api.get(f"/objectives/{objective}", ada)
            api.get(f"/objectives/{objective}/history", ada)
            api.get(f"/objectives/{objective}/progress-history", ada)
            api.get(f"/objectives/{objective}", ada, as_of=datetime.now(UTC).isoformat())
            audit_trail(runtime.app, runtime.store, UUID(objective), viewer=None)
            page = api.client.get(f"/dashboard/objectives/{objective}", headers=ada)
            assert page.status_code == 200
        for query in ("", f"?team_id={red}"):
            page = api.client.get(f"/dashboard/cycles/{cycle}{query}", headers=ada)
            assert page.status_code == 200

        # The write side refuses to extend the cycle's chain, and does not loop either.
        below = api.call(
            "POST",
            "/objectives",
            ada,
            json={
                "cycle_id": cycle,
                "title": "O",
                "level": "team",
                "owner_team_id": red,
                "aligned_to_objective_id": a,
            },
        )
        assert below.status_code == 409
        moved = api.call("PUT", f"/objectives/{child}/alignment", ada, json={"objective_id": b})
        assert moved.status_code == 409


# ------------------------------------------------------------- the shape, pure


def test_forest_cuts_nesting_at_the_limit_and_roots_cycle_members() -> None:
    from domain.alignment import alignment_cycles, alignment_forest

    order = [f"o{i}" for i in range(25)]
    parents: dict[str, str | None] = {f"o{i}": f"o{i - 1}" if i else None for i in range(25)}
    roots, children = alignment_forest(order, parents, 10)
    assert roots == ["o0", "o10", "o20"]
    assert "o9" not in children and children["o10"] == ["o11"]

    looped = {"a": "b", "b": "c", "c": "a", "d": "a", "e": "x"}
    assert alignment_cycles(looped) == {"a", "b", "c"}
    roots, children = alignment_forest(["a", "b", "c", "d", "e"], looped, 10)
    assert roots == ["a", "b", "c", "e"] and children == {"a": ["d"]}
    assert alignment_cycles({"s": "s"}) == {"s"}


def test_a_member_cannot_learn_another_organizations_cycles(api: Api, runtime: Runtime) -> None:
    """A member of another organization sees nothing of a stored cycle; health too."""
    ada = api.token("ada", "admin")
    cycle = tracking_cycle(api, ada)
    red = team(api, ada, "Red")
    a = str(draft(api, ada, cycle, red)["id"])
    kr_a = aligned_kr(api, ada, a)
    first = runtime.app.repository.get(UUID(a))
    # Its own ancestor: the domain method refuses that, so the event is triggered as is.
    first.trigger_event(
        Objective.Realigned,
        objective_id=None,
        key_result_id=UUID(kr_a),
        parent_id=UUID(a),
        actor="x",
    )
    api.position = write_directly(runtime, first)
    hal = api.token("hal", "admin", org="globex")
    assert api.client.get("/v1/health", headers=hal).json()["status"] == "ok"
    assert api.client.get("/v1/health", headers=ada).json()["alignment_cycles"] == [a]
    assert api.get(f"/cycles/{cycle}/tree", hal, expect=404)


def test_the_team_filter_never_walks_round_a_stored_cycle() -> None:
    """A owned by Red under B, B owned by Blue under A: with ``team_id`` A is a root,
    and the old walk went A, B, A, B, ... for ever, growing the answer without bound."""
    from projections.objective_queries import _nest

    rows = [
        {"id": "a", "parent_id": "b", "owner_team_id": "red"},
        {"id": "b", "parent_id": "a", "owner_team_id": "blue"},
        {"id": "c", "parent_id": "a", "owner_team_id": "red"},
    ]
    for team_id in ("red", "blue", None):
        roots, children = _nest(rows, team_id)
        reached, stack = 0, [row["id"] for row in roots]
        while stack and reached <= 100:
            node = stack.pop()
            reached += 1
            stack.extend(children.get(node, ()))
        assert reached <= len(rows) * 2, f"team {team_id}: the walk does not end"


def test_who_may_not_edit_learns_nothing_of_depth(api: Api) -> None:
    """Rights are checked before the depth: a member who may not edit the objective
    gets 403 (or 404 for another organization), never 409 alignment_too_deep."""
    ada = api.token("ada", "admin")
    mo = api.token("mo")
    cycle = tracking_cycle(api, ada)
    owner = team(api, ada, "Platform")
    chain = chain_via_api(api, ada, cycle, owner, LIMIT)
    loose = str(draft(api, ada, cycle, owner)["id"])
    deep = {"objective_id": chain[-1]}
    refused = api.call("PUT", f"/objectives/{loose}/alignment", mo, json=deep)
    assert_error(refused, 403)
    hal = api.token("hal", "admin", org="globex")
    other = tracking_cycle(api, hal)
    globex_team = team(api, hal, "Ops")
    mine = str(draft(api, hal, other, globex_team)["id"])
    across = api.call("PUT", f"/objectives/{mine}/alignment", hal, json=deep)
    assert_error(across, 404)
    create = api.call(
        "POST",
        "/objectives",
        mo,
        json={
            "cycle_id": cycle,
            "title": "O",
            "level": "team",
            "owner_team_id": owner,
            "aligned_to_objective_id": chain[-1],
        },
    )
    assert_error(create, 403)


def test_a_realignment_waits_for_the_read_side_and_never_guesses(backend: Settings) -> None:
    """The subtree below comes from the read model: while it is behind (no projector
    running), a re-alignment answers 503 unavailable rather than count a stale subtree."""
    runtime = build_runtime(backend.model_copy(update={"min_position_timeout": 0.2}))
    try:
        with TestClient(create_app(runtime)) as client:
            api = Api(client, runtime)
            ada = api.token("ada", "admin")
            app, actor = runtime.app, runtime.tokens.authenticate(ada["Authorization"][7:])
            assert actor is not None
            owner = app.form_team(actor, FormTeam(name="Platform", parent_id=None)).id
            today = datetime.now(UTC).date()
            cycle = app.plan_cycle(
                actor,
                PlanCycle(
                    name="Q",
                    start_date=today,
                    end_date=today + timedelta(days=90),
                    cadence="quarter",
                ),
            ).id
            app.advance_cycle_phase(actor, AdvanceCyclePhase(cycle, "drafting"))
            ids = [
                app.draft_objective(
                    actor,
                    DraftObjective(cycle_id=cycle, title="O", level="team", owner_team_id=owner),
                ).id
                for _ in range(2)
            ]
            moved = client.put(
                f"/v1/objectives/{ids[0]}/alignment",
                headers=ada,
                json={"objective_id": str(ids[1])},
            )
            assert_error(moved, 503, "unavailable")
            unaligned = client.put(f"/v1/objectives/{ids[0]}/alignment", headers=ada, json={})
            assert unaligned.status_code == 200
    finally:
        runtime.close()


def test_a_cycle_is_named_before_the_depth(api: Api) -> None:
    """Moving the top of a full chain under its own bottom is a cycle, and says so."""
    ada = api.token("ada", "admin")
    cycle = tracking_cycle(api, ada)
    owner = team(api, ada, "Platform")
    chain = chain_via_api(api, ada, cycle, owner, LIMIT)
    looped = api.call(
        "PUT", f"/objectives/{chain[0]}/alignment", ada, json={"objective_id": chain[-1]}
    )
    assert_error(looped, 409, "alignment_cycle")
