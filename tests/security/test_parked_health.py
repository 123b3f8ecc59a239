"""SPEC §9 and §10: a parked poison event makes health ``degraded`` for anyone, but
only an admin of its organization learns which event and why; another
organization's admin learns only how many are parked elsewhere. The operator's
command line binds what it is given, and an error text never carries a
credential."""

from __future__ import annotations

import pytest
from eventsourcing.persistence import OperationalError
from fastapi.testclient import TestClient

from api.app import create_app
from domain.values import Phase
from entrypoints.bootstrap import Runtime
from projections.parked import parked_events
from projections.parking import describe
from tests.builders import World
from tests.e2e.test_api_support import Api
from tests.poison_events import Cli, position, write_unknown_event


@pytest.fixture
def parked(runtime: Runtime) -> Runtime:
    """acme's objective holds an event of an unknown class: parked in every model."""
    acme = World(runtime.app)
    write_unknown_event(runtime, acme.objective(acme.cycle(Phase.TRACKING)))
    assert runtime.follower.wait_for(position(runtime), timeout=30)
    assert parked_events(runtime.store)
    return runtime


def test_only_the_organizations_admin_sees_what_is_parked(parked: Runtime) -> None:
    with TestClient(create_app(parked)) as client:
        api = Api(client, parked)
        mode = "embedded" if parked.settings.embedded else "postgres"
        for who in (
            {},
            api.token("max", "member", "acme"),
            api.token("bot", "integration", "acme"),
            api.token("eve", "member", "globex"),
            {"Authorization": "Bearer okr_not-a-token"},
        ):
            answer = client.get("/v1/health", headers=who)
            assert answer.status_code == 200
            assert answer.json() == {"status": "degraded", "mode": mode}, who

        other = client.get("/v1/health", headers=api.token("gus", "admin", "globex")).json()
        assert other["status"] == "degraded"
        assert other["parked"] == [] and other["parked_elsewhere"] == 4
        assert "acme" not in str(other) and "Frobnicated" not in str(other)

        own = client.get("/v1/health", headers=api.token("ada", "admin", "acme")).json()
        assert len(own["parked"]) == 4 and own["parked_elsewhere"] == 0
        assert {p["organization_id"] for p in own["parked"]} == {"acme"}


def test_the_command_line_binds_what_it_is_given(
    parked: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    okr = Cli(parked.settings, monkeypatch)
    for organization in ("x' OR '1'='1", "acme' --", "%", ""):
        code, _, err = okr("projections", "retry", "--organization", organization, "--wait", "0")
        assert code == 1 and "nothing parked" in err and err.endswith("\n") and err.count("\n") == 1
    assert all(p.retry_requested == 0 for p in parked_events(parked.store))
    assert okr("projections", "retry", "--model", "nope")[0] == 2
    assert okr("projections", "retry", "--wait", "-1")[0] == 2
    assert okr("projections", "retry", "--wait", "601")[0] == 2


def test_an_error_text_carries_no_credentials() -> None:
    error = OperationalError(
        "connection to postgresql://okr:s3cret@db:5432/okr failed\nDETAIL: more"
    )
    text = describe(error)
    assert "s3cret" not in text and "DETAIL" not in text
    assert text == "OperationalError: connection to postgresql://***@db:5432/okr failed"
    assert len(describe(ValueError("x" * 10_000))) == 500
