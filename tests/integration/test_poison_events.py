"""SPEC §10 poison events: an event a read model cannot apply is parked for its
organization in that read model; every other organization, and that
organization's other read models where they can, go on. Health says degraded
and names it; ``okr projections parked`` lists it; after the fix ``okr
projections retry`` applies the organization's pending events, and the tables
are those of a clean rebuild. On both backends, with the follower running in
this process as in the embedded mode.

Only the command line, HTTP health and the tables are used: on the code before
parking (8b74e66) the first test fails at its first assertion, where the other
organization's reads stop behind the unknown event.
"""

from __future__ import annotations

import threading

import pytest
from fastapi.testclient import TestClient

import projections.follower as follower_module
from api.app import create_app
from domain.values import Phase
from entrypoints.bootstrap import Runtime, read_models
from projections.rebuild import rebuild
from tests.builders import OTHER_ADMIN, World
from tests.e2e.test_api_support import Api
from tests.generated_history import diff_snapshots, snapshot
from tests.poison_events import (
    Cli,
    check_in_events,
    kr_progress,
    position,
    repair_stored,
    team_names,
    unknown_topic_registered,
    write_stored,
    write_unknown_event,
)

WAIT = 30.0
MODELS = {"cycles", "teams", "objectives", "issue_links"}


def caught_up(runtime: Runtime) -> bool:
    return runtime.follower.wait_for(position(runtime), timeout=WAIT)


def equals_a_clean_rebuild(runtime: Runtime) -> None:
    assert caught_up(runtime)
    live = snapshot(runtime.store)
    rebuild(runtime.app, runtime.store, read_models())
    assert diff_snapshots(live, snapshot(runtime.store)) == []


def health(runtime: Runtime, who: dict[str, str]) -> dict[str, object]:
    with TestClient(create_app(runtime)) as client:
        answer = client.get("/v1/health", headers=who)
        assert answer.status_code == 200, answer.text
        body: dict[str, object] = answer.json()
        return body


def tokens(runtime: Runtime) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """An admin of acme, an admin of globex, a member of acme."""
    with TestClient(create_app(runtime)) as client:
        api = Api(client, runtime)
        return (
            api.token("ada", "admin", "acme"),
            api.token("gus", "admin", "globex"),
            api.token("max", "member", "acme"),
        )


def test_an_unknown_event_holds_back_only_its_organization_until_retried(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    acme, globex = World(runtime.app), World(runtime.app, OTHER_ADMIN)
    acme_cycle, globex_cycle = acme.cycle(Phase.TRACKING), globex.cycle(Phase.TRACKING)
    poisoned, other = acme.objective(acme_cycle), acme.objective(acme_cycle, title="Other")
    other_kr = acme.kr(other)
    theirs = globex.objective(globex_cycle)
    their_kr = globex.kr(theirs)
    assert caught_up(runtime)

    parked_at = write_unknown_event(runtime, poisoned)
    acme.check_in(other, other_kr, percent=40)  # acme's events after it wait...
    acme.team(name="Late team")
    globex.check_in(theirs, their_kr, percent=70)  # ...globex's do not
    globex.team(name="Globex late team")

    assert caught_up(runtime), "globex's reads stopped behind acme's unknown event"
    assert kr_progress(runtime, their_kr) not in (None, 0.0)
    assert "Globex late team" in team_names(runtime, "globex")
    assert kr_progress(runtime, other_kr) == 0.0, "acme is held back from the unknown event on"
    assert "Late team" not in team_names(runtime, "acme")

    # Health: degraded for anyone; the parked events named to acme's admin only.
    acme_admin, globex_admin, acme_member = tokens(runtime)
    mode = "embedded" if runtime.settings.embedded else "postgres"
    for who in ({}, acme_member):
        assert health(runtime, who) == {"status": "degraded", "mode": mode}
    told = health(runtime, acme_admin)
    assert told["status"] == "degraded"
    parked = told["parked"]
    assert isinstance(parked, list)
    assert {p["model"] for p in parked} == MODELS, "it decodes for no model: parked in each"
    assert {(p["organization_id"], p["position"]) for p in parked} == {("acme", parked_at)}
    assert all("Frobnicated" in p["topic"] and p["error"] for p in parked)
    elsewhere = health(runtime, globex_admin)
    assert elsewhere["parked"] == [] and elsewhere["parked_elsewhere"] == len(MODELS)

    okr = Cli(runtime.settings, monkeypatch)
    code, out, _ = okr("projections", "parked")
    assert code == 0
    lines = out.strip().splitlines()
    assert len(lines) == len(MODELS)
    assert all("org=acme" in line and f"position={parked_at}" in line for line in lines)
    assert all("event=Objective.Frobnicated" in line for line in lines)

    # Retried before the fix: it fails again and stays parked.
    code, out, _ = okr("projections", "retry", "--model", "teams")
    assert code == 1 and "failed again" in out
    assert kr_progress(runtime, other_kr) == 0.0

    nothing = okr("projections", "retry", "--organization", "globex")
    assert nothing[0] == 1 and "nothing parked for organization 'globex'" in nothing[2]

    with unknown_topic_registered():
        code, out, _ = okr("projections", "retry", "--organization", "acme")
        assert code == 0, out
        assert out.count("retried ") == len(MODELS)
        assert caught_up(runtime)
        assert kr_progress(runtime, other_kr) not in (None, 0.0)
        assert "Late team" in team_names(runtime, "acme")
        assert health(runtime, acme_admin)["status"] == "ok"
        assert okr("projections", "parked")[1].startswith("nothing parked")
        equals_a_clean_rebuild(runtime)


def test_a_model_that_cannot_apply_an_event_holds_back_only_itself(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(follower_module, "RETRY_PAUSE", 0.05)
    acme, globex = World(runtime.app), World(runtime.app, OTHER_ADMIN)
    acme_cycle, globex_cycle = acme.cycle(Phase.TRACKING), globex.cycle(Phase.TRACKING)
    broken_objective = acme.objective(acme_cycle)
    broken_kr = acme.kr(broken_objective)
    theirs = globex.objective(globex_cycle)
    their_kr = globex.kr(theirs)
    assert caught_up(runtime)

    good, broken = check_in_events(runtime, broken_objective, broken_kr, 55)
    parked_at = write_stored(runtime, broken)  # decodes, but has no percent
    acme.team(name="Late team")  # the teams model goes on for acme
    globex.check_in(theirs, their_kr, percent=70)

    assert caught_up(runtime)
    assert kr_progress(runtime, their_kr) not in (None, 0.0)
    assert "Late team" in team_names(runtime, "acme")
    assert kr_progress(runtime, broken_kr) == 0.0

    acme_admin, _, _ = tokens(runtime)
    parked = health(runtime, acme_admin)["parked"]
    assert isinstance(parked, list) and len(parked) == 1
    assert parked[0]["model"] == "objectives" and parked[0]["position"] == parked_at
    assert parked[0]["error"].startswith("AttributeError")

    okr = Cli(runtime.settings, monkeypatch)
    out = okr("projections", "parked", "--json")[1]
    import json

    listed = json.loads(out)
    assert [(p["model"], p["organization_id"], p["position"]) for p in listed] == [
        ("objectives", "acme", parked_at)
    ]

    repair_stored(runtime, good)
    code, out, _ = okr("projections", "retry", "--model", "objectives")
    assert code == 0, out
    assert caught_up(runtime)
    assert kr_progress(runtime, broken_kr) not in (None, 0.0)
    assert okr("projections", "parked")[1].startswith("nothing parked")
    equals_a_clean_rebuild(runtime)


def test_a_retry_racing_new_events_of_its_organization_loses_and_doubles_nothing(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    acme, globex = World(runtime.app), World(runtime.app, OTHER_ADMIN)
    acme_cycle, globex_cycle = acme.cycle(Phase.TRACKING), globex.cycle(Phase.TRACKING)
    poisoned, busy = acme.objective(acme_cycle), acme.objective(acme_cycle, title="Busy")
    busy_kr = acme.kr(busy)
    theirs = globex.objective(globex_cycle)
    their_kr = globex.kr(theirs)
    write_unknown_event(runtime, poisoned)
    for percent in range(1, 6):
        acme.check_in(busy, busy_kr, percent=percent)
    assert caught_up(runtime)

    okr = Cli(runtime.settings, monkeypatch)
    writing = threading.Event()
    errors: list[BaseException] = []

    def write() -> None:
        try:
            for percent in range(6, 40):
                acme.check_in(busy, busy_kr, percent=percent)
                globex.check_in(theirs, their_kr, percent=percent)
                writing.set()
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)
            writing.set()

    with unknown_topic_registered():
        writer = threading.Thread(target=write)
        writer.start()
        writing.wait(WAIT)
        code, out, _ = okr("projections", "retry", "--organization", "acme")
        writer.join(WAIT)
        assert not errors and not writer.is_alive()
        assert code == 0, out
        assert caught_up(runtime)
        assert okr("projections", "parked")[1].startswith("nothing parked")
        assert kr_progress(runtime, busy_kr) == kr_progress(runtime, their_kr)
        equals_a_clean_rebuild(runtime)
