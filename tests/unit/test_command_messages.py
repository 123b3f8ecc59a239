"""Commands are values: their fields are written once, and the HTTP bodies are derived
from them; the rules that lived in the API now hold for every caller of the commands."""

from __future__ import annotations

import dataclasses

import pytest
from fastapi import FastAPI

from api.routers import cycles, objectives, teams
from commands import messages
from domain.errors import NotFound, PermissionDenied
from tests.builders import ADMIN, INTEGRATION, World, member, memory_app

# The body of each write, as OpenAPI names it, and the command fields the request
# carries elsewhere (path ids, If-Match).
BODIES = {
    "DraftObjective": (messages.DraftObjective, set()),
    "EditObjective": (messages.EditObjective, {"objective_id"}),
    "AddKeyResult": (messages.AddKeyResult, {"objective_id"}),
    "Weights": (messages.SetWeights, {"objective_id"}),
    "CheckIn": (messages.CheckIn, {"objective_id", "key_result_id"}),
    "LinkIssue": (messages.LinkIssue, {"objective_id", "key_result_id"}),
    "AddNote": (messages.AddNote, {"objective_id"}),
    "Retrospective": (messages.RecordRetrospective, {"objective_id"}),
    "FormTeam": (messages.FormTeam, set()),
    "SetMember": (messages.SetTeamMember, {"team_id"}),
    "PlanCycle": (messages.PlanCycle, set()),
    "AdvancePhase": (messages.AdvanceCyclePhase, {"cycle_id"}),
}


@pytest.fixture(scope="module")
def schemas() -> dict[str, dict[str, object]]:
    app = FastAPI()
    for module in (objectives, teams, cycles):
        app.include_router(module.router, prefix="/v1")
    found: dict[str, dict[str, object]] = app.openapi()["components"]["schemas"]
    return found


@pytest.mark.parametrize("name", sorted(BODIES))
def test_each_body_is_its_command_without_path_ids_and_if_match(
    schemas: dict[str, dict[str, object]], name: str
) -> None:
    command, elsewhere = BODIES[name]
    expected = {f.name for f in dataclasses.fields(command)} - elsewhere - {"expected_version"}
    properties = schemas[name]["properties"]
    assert isinstance(properties, dict)
    assert set(properties) == expected
    assert schemas[name]["additionalProperties"] is False


def test_alignment_body_keeps_its_public_names(schemas: dict[str, dict[str, object]]) -> None:
    properties = schemas["Alignment"]["properties"]
    assert isinstance(properties, dict)
    assert set(properties) == {"objective_id", "key_result_id"}


def test_commands_are_frozen_values() -> None:
    command = messages.ArchiveObjective(objective_id=messages.UUID(int=1))
    with pytest.raises(dataclasses.FrozenInstanceError):
        command.objective_id = messages.UUID(int=2)  # type: ignore[misc]
    assert command == messages.ArchiveObjective(messages.UUID(int=1))


def test_a_private_parent_answers_not_found_from_the_command_itself() -> None:
    """The rule that lived in the API (aligning under a parent one may not see is 404,
    before any other check) now holds for every caller of the application."""
    w = World(memory_app())
    cycle = w.cycle()
    private = w.objective(cycle, level="organization", visibility="private")
    mine = w.objective(cycle, level="individual", owner_user_id="max")
    with pytest.raises(NotFound):
        w.app.align_objective(member("max"), messages.AlignObjective(mine, to_objective_id=private))
    with pytest.raises(NotFound):
        w.app.draft_objective(
            member("max"),
            messages.DraftObjective(
                cycle_id=cycle, title="t", level="individual", aligned_to_objective_id=private
            ),
        )
    # An admin sees it: the same command goes through.
    w.app.align_objective(ADMIN, messages.AlignObjective(mine, to_objective_id=private))


def test_an_integration_token_may_not_set_team_members() -> None:
    w = World(memory_app())
    team = w.team()
    with pytest.raises(PermissionDenied):
        w.app.set_team_member(INTEGRATION, messages.SetTeamMember(team, "x", "member"))
