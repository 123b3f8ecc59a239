"""A runner of one share decodes only what it must: its own organizations' events
and the first event of every aggregate (which names the organization). The other
shares' later events are sorted by the remembered organization, undecoded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from entrypoints.bootstrap import build_runtime, read_models
from projections.follower import Follower
from projections.organizations import partition_of
from projections.rebuild import begin
from tests.builders import ORG, OTHER_ADMIN, OTHER_ORG, World
from tests.conftest import embedded_settings


def test_a_share_runner_leaves_the_other_shares_later_events_undecoded(tmp_path: Path) -> None:
    assert partition_of(ORG, 2) != partition_of(OTHER_ORG, 2)
    runtime = build_runtime(embedded_settings(tmp_path))
    try:
        for world in (World(runtime.app), World(runtime.app, OTHER_ADMIN)):
            cycle = world.cycle()
            world.team(managers=["ann"], members=["bob", "cy"])
            world.objective(cycle)
        app = runtime.app
        notifications = app.recorder.select_notifications(start=None, limit=10_000)
        later_of_other: list[int] = []
        # The organization of each aggregate, from its first event.
        organization_of: dict[Any, str] = {}
        for n in notifications:
            event = app.mapper.to_domain_event(n)
            if hasattr(event, "organization_id"):
                organization_of[n.originator_id] = event.organization_id
        seen: set[Any] = set()
        for n in notifications:
            first = n.originator_id not in seen
            seen.add(n.originator_id)
            if not first and organization_of[n.originator_id] == OTHER_ORG:
                later_of_other.append(n.id)
        assert later_of_other, "the other organization has later events"

        share = partition_of(ORG, 2)
        generation, _ = begin(app, runtime.store, read_models(), jobs=2)
        follower = Follower(
            app,
            runtime.store,
            [type(m)() for m in read_models()],
            partitions=2,
            partition=share,
            generation=generation,
        )
        decoded: list[int] = []
        decode = follower.parking.decode

        def counting(notification: Any) -> Any:
            decoded.append(notification.id)
            return decode(notification)

        follower.parking.decode = counting  # type: ignore[method-assign]
        assert follower.catch_up() == len(notifications)
        assert not set(decoded) & set(later_of_other)
        assert len(decoded) < len(notifications)
    finally:
        runtime.close()
