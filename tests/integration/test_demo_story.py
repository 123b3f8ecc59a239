"""The demo is told through the real commands, backdated by its own clock.

Before, the loader replaced the library's clock function for the whole process
while it ran: any other aggregate made meanwhile was backdated too. Now the
demo's write side stamps its own events; the library's clock is never touched.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path

import eventsourcing.domain
from eventsourcing.domain import Aggregate

from entrypoints.bootstrap import build_runtime
from entrypoints.demo import BackdatedApplication, DemoClock, load_demo, story, story_start
from entrypoints.settings import Settings


def test_the_demo_is_backdated_by_its_own_clock_only(tmp_path: Path) -> None:
    today = date(2026, 5, 20)
    clock = DemoClock(story_start(today))
    runtime = build_runtime(Settings(data_dir=tmp_path), partial(BackdatedApplication, clock=clock))
    library_clock = eventsourcing.domain.datetime_now_with_tzinfo
    made_meanwhile: list[datetime] = []

    def make_another_aggregate() -> None:  # anything else this process does meanwhile
        if not made_meanwhile:
            made_meanwhile.append(Aggregate().created_on)

    runtime.app.saved_listeners.append(make_another_aggregate)
    try:
        loaded = load_demo(runtime.app, clock, today)
        assert eventsourcing.domain.datetime_now_with_tzinfo is library_clock
        assert abs(made_meanwhile[0] - datetime.now(UTC)) < timedelta(minutes=5), (
            "an aggregate made outside the demo keeps the wall clock"
        )
        titles = [story.PREVIOUS_OBJECTIVE.title] + [o.title for o in story.CURRENT_OBJECTIVES]
        assert sorted(loaded.objectives) == sorted(titles)
        assert len(loaded.key_results) == 21 and len(loaded.teams) == len(story.TEAMS)

        platform = list(runtime.app.events.get(loaded.objectives[story.PLATFORM]))
        assert platform[0].timestamp == clock_start_of_current_objectives(today)
        assert all(e.timestamp < datetime(2026, 5, 21, tzinfo=UTC) for e in platform)
        team = runtime.app.repository.get(loaded.teams["Leadership"])
        assert team.created_on == story_start(today), "the aggregate's own times agree"
        # The check-ins' own time (the command's clock) is the story's time too.
        objective = runtime.app.repository.get(loaded.objectives[story.PLATFORM])
        checked = [e for e in runtime.app.events.get(objective.id) if hasattr(e, "checked_in_at")]
        assert checked and all(e.checked_in_at == e.timestamp for e in checked)
    finally:
        runtime.close()


def clock_start_of_current_objectives(today: date) -> datetime:
    """The current cycle is planned 10 days before its quarter, drafted 2 days later."""
    quarter = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    return datetime.combine(quarter, datetime.min.time(), UTC) - timedelta(days=8)
