"""Read-model versions, partition layouts, and databases of the code before them (SPEC §10).

A runner whose model code is newer than the served version builds its own
generation beside the served one and switches readers to it once caught up;
a runner of an older version then stops rather than write, and refuses to
start. A runner started with another partition layout refuses, saying how
to change it. A database whose tables the code before generations made is
adopted in place: rows and positions kept, nothing rebuilt.
"""

from __future__ import annotations

from typing import ClassVar

import pytest
from eventsourcing.persistence import Tracking

from commands.application import OkrApplication
from entrypoints.bootstrap import build_runtime, read_models, views_env
from entrypoints.settings import Settings
from projections.follower import Follower
from projections.generations import ProjectionRefused, summary
from projections.objectives import ObjectivesView
from projections.readmodel import ReadModel
from projections.rebuild import rebuild
from projections.store import open_view_store
from tests.generated_history import GeneratedHistory, diff_snapshots, report, snapshot

SEED = 20261130


class ObjectivesV2(ObjectivesView):
    """The objectives read model as a next release would ship it."""

    version: ClassVar[int] = 2


def newer_models() -> list[ReadModel]:
    return [ObjectivesV2() if m.name == "objectives" else m for m in read_models()]


def test_a_newer_version_builds_beside_and_switches_and_the_older_stops(
    backend: Settings,
) -> None:
    runtime = build_runtime(backend)
    other_store = open_view_store(views_env(backend))
    try:
        history = GeneratedHistory(runtime.app, SEED, organizations=5)
        history.extend(800)
        runtime.follower.catch_up()
        served = snapshot(runtime.store)
        before = summary(runtime.store)["objectives"]
        assert before["version"] == 1 and before["building"] is False

        newer = Follower(runtime.app, other_store, newer_models())
        lanes = {lane.model.name: lane for lane in newer.lanes()}
        assert lanes["objectives"].building and not lanes["cycles"].building
        assert summary(runtime.store)["objectives"]["building"] is True
        assert newer.catch_up() == history.events
        after = summary(runtime.store)["objectives"]
        assert (after["version"], after["building"]) == (2, False)
        assert after["generation"] != before["generation"]
        assert newer.lane(ObjectivesV2()) == f"objectives@g{after['generation']}#0/1"
        problems = {
            "served by version 1 vs by version 2": diff_snapshots(served, snapshot(runtime.store))
        }
        assert not any(problems.values()), report(problems)

        # The old runner: its next batch finds its generation retired, and it stops.
        history.extend(history.events + 50)
        runtime.follower.start(poll_interval=0.05)
        runtime.follower._thread.join(60)  # type: ignore[union-attr]
        assert not runtime.follower.running
        assert isinstance(runtime.follower.refused, ProjectionRefused)
        assert "version 2" in str(runtime.follower.refused)
        # ... and refuses to start again.
        with pytest.raises(ProjectionRefused, match="version 2"):
            Follower(runtime.app, other_store, read_models()).lanes()
        # The newer one goes on.
        newer.catch_up()
        assert all(newer.position(m) == history.events for m in newer.models)
    finally:
        other_store.close()
        runtime.close()


def test_a_runner_of_another_layout_refuses_saying_how_to_change_it(backend: Settings) -> None:
    runtime = build_runtime(backend)
    try:
        with pytest.raises(ProjectionRefused, match=r"okr rebuild --partitions 2"):
            Follower(runtime.app, runtime.store, read_models(), partitions=2).lanes()
        # After a rebuild to two partitions, two runners fit and one runner does not.
        rebuild(runtime.app, runtime.store, read_models(), partitions=2)
        for share in (0, 1):
            Follower(
                runtime.app, runtime.store, read_models(), partitions=2, partition=share
            ).lanes()
        with pytest.raises(ProjectionRefused, match=r"--partitions 2 --partition 0\.\.1"):
            Follower(runtime.app, runtime.store, read_models()).lanes()
        assert summary(runtime.store)["objectives"]["partitions"] == 2
    finally:
        runtime.close()


def test_a_database_of_the_code_before_generations_is_adopted_in_place(
    backend: Settings,
) -> None:
    """Tables and tracking rows as the code before generations kept them (its follower's
    one transaction per batch, with the library's tracking row per model)."""
    app = OkrApplication(backend.eventsourcing_env())
    history = GeneratedHistory(app, SEED, organizations=5)
    history.extend(600)
    written = history.events
    applied = written - 100  # the old runner had not applied the last events
    store = open_view_store(views_env(backend))
    models = read_models()
    with store.transaction() as tx:
        for model in models:
            model.attach(app)
            for statement in model.ddl:
                tx.execute(statement)
        for notification in app.recorder.select_notifications(start=1, limit=applied):
            event = app.mapper.to_domain_event(notification)
            for model in models:
                model.apply(tx, event, notification.id)
        for model in models:
            model.flush(tx)
            tx.track(Tracking(f"{app.name}:{model.name}", applied))
    store.close()
    app.close()

    runtime = build_runtime(backend)  # adopts
    try:
        follower = runtime.follower
        assert [follower.position(m) for m in follower.models] == [applied] * 4
        # Each model's old tables became its first generation (numbers run across models).
        served = summary(runtime.store)
        assert sorted(entry["generation"] for entry in served.values()) == [1, 2, 3, 4]  # type: ignore[type-var]
        assert all(entry["version"] == 1 for entry in served.values())
        follower.catch_up()
        assert [follower.position(m) for m in follower.models] == [written] * 4
        adopted = snapshot(runtime.store)
        rebuild(runtime.app, runtime.store, read_models())
        problems = {
            "adopted and followed vs rebuilt": diff_snapshots(adopted, snapshot(runtime.store))
        }
        assert not any(problems.values()), report(problems)
    finally:
        runtime.close()


def test_two_rebuilds_at_once_the_later_begun_serves_and_the_earlier_is_told(
    backend: Settings,
) -> None:
    """Same request twice at once: two rebuilds of the same models. Whichever finishes
    first switches; the one begun later still switches after it; the one begun earlier,
    finishing second, is told its generation was retired (nothing is written)."""
    from projections.rebuild import begin, build, finish

    runtime = build_runtime(backend)
    try:
        history = GeneratedHistory(runtime.app, SEED, organizations=5)
        history.extend(400)
        runtime.follower.catch_up()
        app, store, models = runtime.app, runtime.store, read_models()
        for first_to_finish in ("later", "earlier"):
            earlier, layout = begin(app, store, models)
            later, _ = begin(app, store, models)
            for generation in (earlier, later):
                build(app, store, models, generation, 0, 1)
            if first_to_finish == "later":
                finish(app, store, models, later, 1, layout)
                with pytest.raises(ProjectionRefused, match="no longer being built"):
                    finish(app, store, models, earlier, 1, layout)
                assert summary(store)["objectives"]["generation"] == later
            else:
                finish(app, store, models, earlier, 1, layout)
                finish(app, store, models, later, 1, layout)
                assert summary(store)["objectives"]["generation"] == later
            assert all(not entry["building"] for entry in summary(store).values())
        history.extend(history.events + 100)
        runtime.follower.catch_up()  # the runner follows whatever serves now
        served = snapshot(store)
        rebuild(app, store, read_models())
        problems = {
            "after two double rebuilds vs a fresh one": diff_snapshots(served, snapshot(store))
        }
        assert not any(problems.values()), report(problems)
    finally:
        runtime.close()
