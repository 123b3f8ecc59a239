"""The read rules have one home in domain/: stale key results, the current cycle,
which children count for an aligned key result, and the phase order."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from domain.alignment import counts_for_aligned_key_result
from domain.cycle import current_cycle
from domain.key_result import STALE_AFTER, is_stale
from domain.values import Phase, next_phase

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


def test_a_key_result_is_stale_without_a_check_in_in_fourteen_days() -> None:
    assert timedelta(days=14) == STALE_AFTER
    assert is_stale(None, NOW)
    assert not is_stale(NOW - STALE_AFTER, NOW)  # exactly 14 days: not yet
    assert is_stale(NOW - STALE_AFTER - timedelta(microseconds=1), NOW)
    assert not is_stale((NOW - timedelta(days=1)).isoformat(), NOW)
    assert is_stale((NOW - timedelta(days=15)).isoformat(), NOW)


def _cycle(name: str, phase: str, start: str, end: str) -> dict[str, str]:
    return {"id": name, "phase": phase, "start_date": start, "end_date": end}


def test_the_current_cycle_is_the_latest_in_tracking_else_the_latest() -> None:
    q1 = _cycle("q1", "tracking", "2026-01-01", "2026-03-31")
    q2 = _cycle("q2", "drafting", "2026-04-01", "2026-06-30")
    h1 = _cycle("h1", "tracking", "2026-01-01", "2026-06-30")
    assert current_cycle([]) is None
    assert current_cycle([q1, q2]) is q1
    assert current_cycle([q1, q2, h1]) is h1  # same start, later end
    assert current_cycle([q2, _cycle("q0", "closed", "2025-10-01", "2025-12-31")]) is q2
    dated = {"phase": "launch", "start_date": date(2026, 1, 1), "end_date": date(2026, 2, 1)}
    assert current_cycle([dated]) is dated


def test_only_live_children_aligned_to_the_key_result_count() -> None:
    assert counts_for_aligned_key_result("kr", "kr", False)
    assert not counts_for_aligned_key_result("kr", "kr", True)
    assert not counts_for_aligned_key_result("kr", "other", False)
    assert not counts_for_aligned_key_result("kr", None, False)


def test_the_phase_order_is_the_declaration_order_of_the_phase_type() -> None:
    assert list(Phase) == [
        Phase.LAUNCH,
        Phase.DRAFTING,
        Phase.TRACKING,
        Phase.RETROSPECTIVE,
        Phase.CLOSED,
    ]
    assert Phase.first() is Phase.LAUNCH
    assert [p.rank for p in Phase] == [0, 1, 2, 3, 4]
    assert [p.next() for p in Phase] == [*list(Phase)[1:], None]
    assert next_phase("tracking") is Phase.RETROSPECTIVE
