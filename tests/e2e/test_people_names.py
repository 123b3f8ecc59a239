"""Display names beside user ids (SPEC §11 "People"), over HTTP on both backends.

Every read that shows a user id shows the directory's name beside it: the
objective (and time travel), the tree, history, progress history, notes, teams,
the dashboard's pages and the audit trail. A name is ``null`` where the
directory has no entry (the dashboard shows the id), a PUT changes it in every
read at once, and an erased entry leaves no trace of the name in any of them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from entrypoints.bootstrap import Runtime
from projections.audit import actors, audit_trail, render, with_names
from tests.e2e.test_api_support import Api, Headers

LEO = "Leo <Dev> & Co"  # HTML-special: the dashboard must escape it
TRICKY_TITLE = 'x","owner_user_id":"leo","title":"y'
TRICKY_KR = '{"assignee_id":"leo"}, "assignee_id": "leo"'


@pytest.fixture
def api(runtime: Runtime) -> Iterator[Api]:
    with TestClient(create_app(runtime)) as client:
        yield Api(client, runtime)


@dataclass
class Scene:
    ada: Headers  # admin, no directory entry
    leo: Headers  # member, assignee, checks in and writes a note
    cycle: str
    team: str
    objective: str  # individual, owned by olive
    key_result: str  # assigned to leo


def scene(api: Api) -> Scene:
    ada, leo = api.token("ada", "admin"), api.token("leo")
    today = datetime.now(UTC).date()
    cycle = api.post(
        "/cycles",
        ada,
        {
            "name": "Q1",
            "start_date": (today - timedelta(days=10)).isoformat(),
            "end_date": (today + timedelta(days=80)).isoformat(),
            "cadence": "quarter",
        },
        201,
    )["id"]
    api.post(f"/cycles/{cycle}/phase", ada, {"phase": "drafting"}, 200)
    team = api.post("/teams", ada, {"name": "Platform"}, 201)["id"]
    api.post(f"/teams/{team}/members", ada, {"user_id": "leo", "role": "member"}, 200)
    api.post(f"/teams/{team}/members", ada, {"user_id": "max", "role": "manager"}, 200)
    objective = api.post(
        "/objectives",
        ada,
        {"cycle_id": cycle, "title": TRICKY_TITLE, "level": "individual", "owner_user_id": "olive"},
        201,
    )["id"]
    key_result = api.post(
        f"/objectives/{objective}/key-results",
        ada,
        {"title": TRICKY_KR, "mode": "percentage", "assignee_id": "leo"},
        201,
    )["key_result_id"]
    api.post(
        f"/objectives/{objective}/key-results", ada, {"title": "Nobody's", "mode": "percentage"}
    )
    api.post(f"/cycles/{cycle}/phase", ada, {"phase": "tracking"}, 200)
    api.post(
        f"/objectives/{objective}/key-results/{key_result}/check-ins",
        leo,
        {"percent": 40, "status": "on_track", "note": "halfway soon"},
        200,
    )
    api.post(f"/objectives/{objective}/notes", leo, {"topic": "progress", "text": "on it"}, 200)
    return Scene(ada, leo, cycle, team, objective, key_result)


def _node(tree: dict[str, Any], objective_id: str) -> dict[str, Any]:
    return next(o for o in tree["objectives"] if o["id"] == objective_id)


def _kr(objective: dict[str, Any], kr_id: str) -> dict[str, Any]:
    return next(kr for kr in objective["key_results"] if kr["id"] == kr_id)


def reads(api: Api, s: Scene) -> dict[str, Any]:
    """Every name each read shows, keyed by where it shows it."""
    objective = api.get(f"/objectives/{s.objective}", s.leo)
    past = api.get(f"/objectives/{s.objective}", s.leo, version=objective["version"])
    tree = _node(api.get(f"/cycles/{s.cycle}/tree", s.leo), s.objective)
    history = api.get(f"/objectives/{s.objective}/history", s.leo)["events"]
    points = api.get(f"/objectives/{s.objective}/progress-history", s.leo)["points"]
    notes = api.get(f"/objectives/{s.objective}/notes", s.leo)["notes"]
    team = api.get(f"/teams/{s.team}", s.leo)
    teams = api.get("/teams", s.leo)["teams"]
    members = {m["user_id"]: m["display_name"] for m in team["members"]}
    listed = {m["user_id"]: m["display_name"] for t in teams for m in t["members"]}
    found: dict[str, Any] = {}
    for where, read in (("objective", objective), ("time travel", past), ("tree", tree)):
        assert read["title"] == TRICKY_TITLE, where  # a title that spells a key stays a title
        assert _kr(read, s.key_result)["title"] == TRICKY_KR, where
        unassigned = next(kr for kr in read["key_results"] if kr["id"] != s.key_result)
        assert unassigned["assignee_id"] is None and unassigned["assignee_name"] is None
        found[f"{where} owner"] = read["owner_user_name"]
        found[f"{where} assignee"] = _kr(read, s.key_result)["assignee_name"]
    by_actor = {(e["actor"], e["actor_name"]) for e in history}
    found["history leo"] = {name for actor, name in by_actor if actor == "leo"}
    found["history ada"] = {name for actor, name in by_actor if actor == "ada"}
    found["note author"] = {n["author_name"] for n in notes}
    found["progress leo"] = {
        p["cause"]["actor_name"] for p in points if p["cause"].get("actor") == "leo"
    }
    found["team member"] = members["leo"]
    found["teams member"] = listed["leo"]
    found["team manager"] = members["max"]
    return found


def expected(olive: str | None, leo: str | None) -> dict[str, Any]:
    names: dict[str, Any] = {}
    for where in ("objective", "time travel", "tree"):
        names[f"{where} owner"] = olive
        names[f"{where} assignee"] = leo
    names.update(
        {
            "history leo": {leo},
            "history ada": {None},
            "note author": {leo},
            "progress leo": {leo},
            "team member": leo,
            "teams member": leo,
            "team manager": None,
        }
    )
    return names


def dashboard(api: Api, s: Scene) -> str:
    pages = []
    for path in (f"/dashboard/cycles/{s.cycle}", f"/dashboard/objectives/{s.objective}"):
        answer = api.client.get(path, headers=s.leo)
        assert answer.status_code == 200, answer.text
        pages.append(answer.text)
    return "\n".join(pages)


def test_names_appear_in_every_read_change_after_a_put_and_go_with_the_entry(
    api: Api, runtime: Runtime
) -> None:
    s = scene(api)
    assert reads(api, s) == expected(None, None), "no entries yet: null everywhere"
    page = dashboard(api, s)
    assert '<div class="meta">olive · ' in page, "no entry: the dashboard shows the id"

    api.put("/users/olive", s.ada, {"display_name": "Olive Oyl"}, 200)
    api.put("/users/leo", s.ada, {"display_name": LEO, "email": "leo@example.org"}, 200)
    assert reads(api, s) == expected("Olive Oyl", LEO)
    page = dashboard(api, s)
    assert "Olive Oyl" in page
    assert "Leo &lt;Dev&gt; &amp; Co" in page and LEO not in page, "escaped"
    # The objective page's audit trail names leo beside the check-in and the note.
    objective_page = page.split("Audit trail", 1)[1]
    assert objective_page.count('<td class="who">Leo &lt;Dev&gt; &amp; Co</td>') >= 2
    assert '<td class="who">ada</td>' in objective_page, "no entry: the id"

    api.put("/users/leo", s.ada, {"display_name": "Leonard"}, 200)
    assert reads(api, s) == expected("Olive Oyl", "Leonard")
    page = dashboard(api, s)
    assert "Leonard" in page and "Leo &lt;Dev&gt;" not in page

    # ``okr audit`` tells the trail with the names of now, beside the ids.
    entries = audit_trail(runtime.app, runtime.store, UUID(s.objective), viewer=None)
    told = with_names(entries, runtime.people.names("acme", actors(entries)))
    assert "Leonard (leo)" in render(told)
    assert {e.actor_name for e in told if e.actor == "leo"} == {"Leonard"}
    assert {e.as_json()["actor_name"] for e in told} <= {None, "Leonard"}

    assert runtime.people.forget("acme", "leo")  # what an erasure does to the directory
    assert reads(api, s) == expected("Olive Oyl", None)
    page = dashboard(api, s)
    assert "Leonard" not in page
    assert '<td class="who">leo</td>' in page.split("Audit trail", 1)[1]


def test_a_tree_names_many_owners_and_titles_that_spell_keys_stay_titles(api: Api) -> None:
    s = scene(api)
    for i in range(30):
        owner = f"person-{i:02d}"
        api.put(f"/users/{owner}", s.ada, {"display_name": f"Person {i}"}, 200)
        api.post(
            "/objectives",
            s.ada,
            {
                "cycle_id": s.cycle,
                "title": f'"owner_user_id":"{owner}"',
                "level": "individual",
                "owner_user_id": owner,
            },
            201,
        )
    # Ids that JSON escapes (stored documents are ASCII: "zoë" is "zo\u00eb").
    for owner, name in (("zoë", "Zoë Ørsted"), ('q"uo\\te', 'Q "the quote"')):
        api.put(f"/users/{quote(owner, safe='')}", s.ada, {"display_name": name}, 200)
        drafted = {"cycle_id": s.cycle, "title": owner, "level": "individual"}
        api.post("/objectives", s.ada, {**drafted, "owner_user_id": owner}, 201)
    answer = api.call("GET", f"/cycles/{s.cycle}/tree", s.leo, expect=200)
    tree = json.loads(answer.text)
    owners = {o["owner_user_id"]: o["owner_user_name"] for o in tree["objectives"]}
    assert owners["olive"] is None
    assert owners["zoë"] == "Zoë Ørsted" and owners['q"uo\\te'] == 'Q "the quote"'
    for i in range(30):
        assert owners[f"person-{i:02d}"] == f"Person {i}"
    assert {o["title"] for o in tree["objectives"]} >= {'"owner_user_id":"person-00"'}
