"""The state each aggregate's snapshots hold is pinned to its state version.

A snapshot records the aggregate's ``class_version``; a snapshot of an older
version is upcast when loaded. That only works if every change of the state's
shape bumps the version (with an upcaster): an attribute added in ``__init__``
without a bump would be missing on an aggregate loaded from an older
snapshot and present on one replayed. So the attributes of each version are
written down here; changing the state without bumping fails this test.
"""

from __future__ import annotations

from dataclasses import fields

from commands.messages import LinkIssue
from domain.key_result import SHAPE, KeyResult, KeyResultShapeError
from tests.builders import ADMIN, World, memory_app

LIBRARY = ["_created_on", "_id", "_modified_on", "_pending_events", "_version"]

STATE: dict[tuple[str, int], list[str]] = {
    ("Cycle", 1): [
        "cadence", "created_by", "end_date", "name", "organization_id", "phase", "start_date",
    ],
    ("Team", 1): ["members", "name", "organization_id", "parent_id"],
    ("Objective", 4): [
        "aligned_parent_id", "aligned_to_key_result_id", "aligned_to_objective_id", "archived",
        "cycle_id", "description", "key_results", "level", "organization_id", "owner_team_id",
        "owner_user_id", "retrospective", "title", "visibility",
    ],
    ("KeyResultLocator", 1): ["objective_id", "organization_id"],
    ("Issue", 2): [
        "applied_event_ids", "estimate", "forgotten_until", "issue_key", "last_occurred_at",
        "linked", "organization_id", "raw_status", "status", "title", "tracker", "url",
    ],
}  # fmt: skip
"""(aggregate, state version) → the attributes its state holds besides the library's."""

KEY_RESULT: dict[int, list[str]] = {
    3: [
        "archived", "assignee_id", "confidence", "current", "id", "issues",
        "last_check_in_at", "milestones", "mode", "participant_ids", "percent", "start",
        "status", "target", "title", "unit", "weight",
    ],
}  # fmt: skip
"""Key result shape → its stored fields (``domain/key_result.py``, ``SHAPE``)."""


def test_every_aggregate_state_is_that_of_its_version() -> None:
    app = memory_app()
    w = World(app)
    objective = w.objective(w.cycle("tracking"))
    kr = w.kr(objective, "issues")
    app.link_issue(ADMIN, LinkIssue(objective, kr, tracker="github", issue_key="a#1"))
    seen: set[str] = set()
    for notification in app.recorder.select_notifications(start=1, limit=1000):
        aggregate = app.repository.get(notification.originator_id)
        key = (type(aggregate).__name__, getattr(type(aggregate), "class_version", 1))
        assert key in STATE, f"{key}: a new state version? pin its attributes here"
        assert sorted(vars(aggregate)) == sorted(LIBRARY + STATE[key]), key
        seen.add(key[0])
    assert seen == {name for name, _ in STATE}
    assert sorted(f.name for f in fields(KeyResult)) == KEY_RESULT[SHAPE]


def test_a_key_result_of_shape_1_is_upcast_and_of_unknown_shape_refused() -> None:
    current = KeyResult(id="k", title="t", mode="percentage", last_check_in_at="2025-01-01")
    stored = current.to_dict()
    assert stored["shape"] == SHAPE and "checked_in" not in stored
    shape_1 = {k: v for k, v in stored.items() if k != "shape"} | {"checked_in": True}
    assert KeyResult.from_dict(shape_1) == current and current.checked_in
    for bad in ({**stored, "shape": SHAPE + 1}, {**stored, "mood": 1}, {**stored, "shape": "2"}):
        try:
            KeyResult.from_dict(bad)
        except KeyResultShapeError as error:
            assert "key result 'k'" in str(error)
        else:
            raise AssertionError(f"read {bad}")


def test_a_key_result_of_shape_2_with_linked_issues_is_not_upcast() -> None:
    """Shape 3 keeps each linked issue's estimate given when linking; shape 2 could not
    say it once a tracker had reported one, so such a key result refuses the upcast
    (its snapshot is ignored and the objective replayed); one without issues reads."""
    plain = KeyResult(id="k", title="t", mode="issues").to_dict() | {"shape": 2}
    assert KeyResult.from_dict(plain) == KeyResult(id="k", title="t", mode="issues")
    linked = {"github:a#1": {"tracker": "github", "issue_key": "a#1", "status": "done",
                             "estimate": 5.0, "url": None, "title": None}}  # fmt: skip
    try:
        KeyResult.from_dict(plain | {"issues": linked})
    except KeyResultShapeError as error:
        assert "replay" in str(error)
    else:
        raise AssertionError("a shape-2 key result with linked issues was read")
