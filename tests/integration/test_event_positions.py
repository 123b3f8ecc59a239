"""Our recorders read the positions of a stretch of an aggregate's events in one query,
on both backends, and they are the log's notification ids."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import pytest

from commands.messages import SetTeamMember
from entrypoints.bootstrap import build_runtime
from entrypoints.settings import Settings
from projections.event_positions import PositionReader, event_positions
from projections.history import history_page
from tests.builders import World


def _log(app: Any, aggregate: UUID) -> dict[int, int]:
    return {
        n.originator_version: n.id
        for n in app.recorder.select_notifications(1, 100_000)
        if n.originator_id == aggregate
    }


def test_positions_are_the_notification_ids_read_in_one_query_per_page(
    backend: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime = build_runtime(backend)
    try:
        app = runtime.app
        recorder = app.recorder
        assert isinstance(recorder, PositionReader)
        world = World(app)
        teams = [world.team(name="A"), world.team(name="B")]
        for i in range(9):  # interleaved: neither team's positions are contiguous
            for team in teams:
                app.set_team_member(
                    world.admin, SetTeamMember(team, user_id=f"u{i}", role="member")
                )
        team = teams[0]
        log = _log(app, team)
        assert sorted(log) == list(range(1, 11))
        assert recorder.select_positions(team, gt=0, lte=10) == log
        assert recorder.select_positions(team, gt=3, lte=7) == {v: log[v] for v in (4, 5, 6, 7)}
        assert recorder.select_positions(team, gt=10, lte=20) == {}
        assert recorder.select_positions(uuid4(), gt=0, lte=10) == {}
        assert event_positions(recorder, team, [2, 5, 9]) == {v: log[v] for v in range(2, 10)}
        assert event_positions(recorder, team, []) == {}
        with pytest.raises(LookupError):
            event_positions(recorder, team, [11])

        calls: list[tuple[int, int]] = []
        original = recorder.select_positions

        def counting(originator_id: UUID, *, gt: int, lte: int) -> dict[int, int]:
            calls.append((gt, lte))
            return original(originator_id, gt=gt, lte=lte)

        monkeypatch.setattr(recorder, "select_positions", counting)
        after, pages = 0, []
        while True:
            entries, resume = history_page(app, team, lambda _: True, after=after, limit=4)
            pages.append(entries)
            if resume is None:
                break
            after = resume
        assert [len(page) for page in pages] == [4, 4, 2]
        assert calls == [(0, 4), (4, 8), (8, 10)]  # one query per page, its own stretch
        assert {e.version: e.position for page in pages for e in page} == log
    finally:
        runtime.close()
