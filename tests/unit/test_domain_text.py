"""Text no store can hold is refused at the door, never stored to stop projections later."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from commands.issue_event import IssueEvent
from commands.messages import AddKeyResult, AddNote, DraftObjective, FormTeam, PlanCycle
from domain.errors import InvalidCommand
from domain.text import check_text, storable
from tests.builders import ADMIN, INTEGRATION, World, memory_app

BAD = ["a\x00b", "lone \ud800 surrogate"]


@pytest.mark.parametrize("text", BAD)
def test_unstorable_text_is_detected(text: str) -> None:
    assert not storable(text)
    with pytest.raises(InvalidCommand, match="cannot be stored"):
        check_text("title", text)


def test_ordinary_unicode_is_fine() -> None:
    assert storable("Ünïcødé ✓ 目标 🚀")


@pytest.mark.parametrize("text", BAD)
def test_every_entry_point_refuses_it(text: str) -> None:
    app = memory_app()
    with pytest.raises(InvalidCommand):
        app.plan_cycle(
            ADMIN,
            PlanCycle(
                name=text,
                start_date=date(2026, 1, 1),
                end_date=date(2026, 2, 1),
                cadence="custom",
            ),
        )
    with pytest.raises(InvalidCommand):
        app.form_team(ADMIN, FormTeam(name=text, parent_id=None))
    w = World(app)
    cycle = w.cycle()
    with pytest.raises(InvalidCommand):
        app.draft_objective(
            ADMIN, DraftObjective(cycle_id=cycle, title=text, level="team", owner_team_id=w.team())
        )
    objective = w.objective(cycle)
    with pytest.raises(InvalidCommand):
        app.add_key_result(
            ADMIN, AddKeyResult(objective, title="ok", mode="percentage", assignee_id=text)
        )
    with pytest.raises(InvalidCommand):
        app.add_note(ADMIN, AddNote(objective, topic="progress", text=text))
    with pytest.raises(InvalidCommand):
        app.report_issue_event(
            INTEGRATION,
            IssueEvent("ev", "github", "a#1", "done", datetime.now(UTC), title=text),
        )
    assert app.recorder.max_notification_id() == w.position()
