"""``okr snapshots drop [TYPE]`` on both backends: it deletes the snapshots of one
type (or all), says how many, and every read answers the same afterwards."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any
from uuid import UUID

from commands.messages import LinkIssue
from entrypoints.bootstrap import Runtime, build_runtime
from entrypoints.settings import Settings
from entrypoints.snapshot_drop import drop_snapshots
from projections.history import objective_at
from tests.builders import ADMIN, INTEGRATION, World, report


def okr(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OKR_")}
    env["OKR_DATA_DIR"] = str(settings.data_dir)
    if settings.database_url:
        env["OKR_DATABASE_URL"] = settings.database_url
    return subprocess.run(
        [sys.executable, "-m", "entrypoints.cli", "snapshots", "drop", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def snapshot_counts(rt: Runtime) -> dict[str, int]:
    """How many snapshot rows each aggregate type has."""
    assert rt.app.snapshots is not None
    counts: dict[str, int] = {}
    for notification in rt.app.recorder.select_notifications(start=1, limit=10_000):
        if notification.originator_version != 1:
            continue
        kind = notification.topic.rpartition(":")[2].split(".")[0].lower()
        rows = rt.app.snapshots.recorder.select_events(notification.originator_id)
        counts[kind] = counts.get(kind, 0) + len(rows)
    return counts


def reads(rt: Runtime, ids: dict[str, UUID]) -> str:
    """Every aggregate's state and the objective's time travel, as text to compare."""
    answers: dict[str, Any] = {
        name: vars(rt.app.repository.get(aggregate_id, version=None))
        for name, aggregate_id in ids.items()
    }
    objective = ids["objective"]
    version = rt.app.repository.get(objective).version
    answers["travel"] = [
        objective_at(rt.app, rt.store, objective, version=v) for v in range(1, version + 1)
    ]
    return json.dumps(answers, sort_keys=True, default=repr)


def test_snapshots_drop_by_type_then_all(backend: Settings) -> None:
    settings = backend.model_copy(update={"snapshot_interval": 2})
    rt = build_runtime(settings)
    try:
        w = World(rt.app)
        cycle = w.cycle("tracking")
        team = w.team(managers=["ada"], members=["bob", "cy"])
        objective = w.objective(cycle, team_id=team)
        kr = w.kr(objective, "issues")
        rt.app.link_issue(ADMIN, LinkIssue(objective, kr, tracker="github", issue_key="acme/app#1"))
        for n, status in enumerate(("in_progress", "todo", "done")):
            rt.app.apply_issue_events(INTEGRATION, [report(f"e{n}", status, minutes=n)])
        issue = rt.app.repository.get(objective).key_result(kr)
        assert issue.issues
        issue_id = next(
            n.originator_id
            for n in rt.app.recorder.select_notifications(start=1, limit=1000)
            if n.topic.endswith("Issue.Registered")
        )
        for aggregate_id in (cycle, team):  # not snapshotted by interval: taken by hand
            rt.app.take_snapshot(aggregate_id)
        ids = {"cycle": cycle, "team": team, "objective": objective, "issue": issue_id}
        before = snapshot_counts(rt)
        assert all(before.get(kind, 0) > 0 for kind in ("cycle", "team", "objective", "issue"))
        answers = reads(rt, ids)
    finally:
        rt.close()

    done = okr(settings, "team")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"dropped {before['team']} team snapshot(s)")
    rt = build_runtime(settings)
    try:
        after = snapshot_counts(rt)
        assert after == {**before, "team": 0}
    finally:
        rt.close()

    done = okr(settings)
    assert done.returncode == 0, done.stderr
    rest = sum(before.values()) - before["team"]
    assert done.stdout.startswith(f"dropped {rest} snapshot(s) of every type")
    assert okr(settings, "issue").stdout.startswith("dropped 0 issue snapshot(s)")
    assert okr(settings, "tree").returncode == 2
    rt = build_runtime(settings)
    try:
        assert set(snapshot_counts(rt).values()) == {0}
        assert reads(rt, ids) == answers
        assert drop_snapshots(rt.app, only_ids=[]) == 0
    finally:
        rt.close()
