"""Unit and property tests for the progress formulas in ``domain.progress``."""

from __future__ import annotations

import itertools
import math
import random
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from domain.progress import (
    achievement_rate,
    aligned_progress,
    clamp,
    expected_progress,
    issues_progress,
    milestone_progress,
    numeric_progress,
    objective_progress,
    objective_status,
    percentage_progress,
    weighted_mean,
)
from domain.values import IssueStatus, KeyResultStatus, Phase, next_phase

TOL = 1e-9

finite = st.floats(allow_nan=False, allow_infinity=False)
unit = st.floats(min_value=0.0, max_value=1.0)
weight = st.floats(min_value=0.0, max_value=1e6, allow_nan=False)
estimate = st.none() | st.floats(min_value=0.0, max_value=1e300, allow_nan=False)
issue_status = st.sampled_from([s.value for s in IssueStatus])
kr_status = st.none() | st.sampled_from(list(KeyResultStatus))


def in_unit_interval(x: float) -> bool:
    return isinstance(x, float) and 0.0 <= x <= 1.0


# --- clamp -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("x", "expected"),
    [(-0.5, 0.0), (0.0, 0.0), (0.3, 0.3), (1.0, 1.0), (1.7, 1.0), (math.nan, 0.0)],
)
def test_clamp_limits_to_unit_interval_and_nan_to_zero(x: float, expected: float) -> None:
    assert clamp(x) == expected


# --- percentage ------------------------------------------------------------


@pytest.mark.parametrize(
    ("percent", "expected"),
    [(None, 0.0), (0, 0.0), (45, 0.45), (100, 1.0), (130, 1.0), (-10, 0.0)],
)
def test_percentage_progress(percent: float | None, expected: float) -> None:
    assert percentage_progress(percent) == pytest.approx(expected, abs=TOL)


# --- numeric ---------------------------------------------------------------


def test_numeric_progress_increase() -> None:
    assert numeric_progress(10, 110, 35) == pytest.approx(0.25, abs=TOL)


def test_numeric_progress_decrease_to() -> None:
    # Churn from 8 % down to 2 %: at 5 % half of the way is done.
    assert numeric_progress(8, 2, 5) == pytest.approx(0.5, abs=TOL)
    assert numeric_progress(8, 2, 2) == pytest.approx(1.0, abs=TOL)
    assert numeric_progress(8, 2, 1) == 1.0  # overshooting a decrease clamps
    assert numeric_progress(8, 2, 9) == 0.0  # moving the wrong way clamps


def test_numeric_progress_clamps_overshoot_and_regression() -> None:
    assert numeric_progress(0, 50, 80) == 1.0
    assert numeric_progress(0, 50, -5) == 0.0


def test_numeric_progress_without_target_or_zero_span_is_zero() -> None:
    assert numeric_progress(10, None, 50) == 0.0
    assert numeric_progress(10, 10, 50) == 0.0


def test_numeric_progress_without_current_is_at_start() -> None:
    assert numeric_progress(10, 20, None) == 0.0
    # Even when the start itself is not 0.
    assert numeric_progress(-5, 5, None) == numeric_progress(-5, 5, -5) == 0.0


# --- milestone -------------------------------------------------------------


@pytest.mark.parametrize(
    ("done", "expected"),
    [([], 0.0), ([False, False], 0.0), ([True, False, True, False], 0.5), ([True] * 3, 1.0)],
)
def test_milestone_progress(done: list[bool], expected: float) -> None:
    assert milestone_progress(done) == pytest.approx(expected, abs=TOL)


# --- issues ----------------------------------------------------------------


def test_issues_progress_weights_by_estimate() -> None:
    issues = [("done", 3.0), ("in_progress", 1.0), ("todo", 4.0)]
    assert issues_progress(issues) == pytest.approx(3 / 8, abs=TOL)


def test_issues_progress_missing_estimate_counts_as_one() -> None:
    issues = [("done", None), ("todo", 3.0)]
    assert issues_progress(issues) == pytest.approx(1 / 4, abs=TOL)
    assert issues_progress([("done", None), ("todo", None)]) == pytest.approx(0.5, abs=TOL)


def test_issues_progress_excludes_cancelled() -> None:
    issues = [("done", 1.0), ("todo", 1.0), ("cancelled", 5.0)]
    assert issues_progress(issues) == pytest.approx(0.5, abs=TOL)


def test_issues_progress_accepts_enum_members() -> None:
    assert issues_progress([(IssueStatus.DONE, 2.0), (IssueStatus.TODO, 2.0)]) == 0.5


def test_issues_progress_zero_when_nothing_counts() -> None:
    assert issues_progress([]) == 0.0
    assert issues_progress([("cancelled", 2.0), ("cancelled", None)]) == 0.0
    assert issues_progress([("done", 0.0), ("todo", 0.0)]) == 0.0


def test_issues_progress_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        issues_progress([("finished", 1.0)])
    with pytest.raises(ValueError):
        issues_progress([("done", -1.0)])


# --- aligned ---------------------------------------------------------------


def test_aligned_progress_is_mean_of_children() -> None:
    assert aligned_progress([0.2, 0.4, 0.9]) == pytest.approx(0.5, abs=TOL)
    assert aligned_progress(iter([1.0])) == 1.0
    assert aligned_progress([]) == 0.0
    # Each child is clamped first, like every progress value.
    assert aligned_progress([1.5, 0.0]) == pytest.approx(0.5, abs=TOL)


# --- weighted mean, objective progress, achievement rate -------------------


def test_weighted_mean_uses_weights() -> None:
    assert weighted_mean([(1.0, 1.0), (3.0, 0.0)]) == pytest.approx(0.25, abs=TOL)
    assert weighted_mean([(2.0, 0.5), (0.0, 1.0)]) == pytest.approx(0.5, abs=TOL)


def test_weighted_mean_all_zero_weights_is_plain_mean() -> None:
    assert weighted_mean([(0.0, 0.2), (0.0, 0.6)]) == pytest.approx(0.4, abs=TOL)


def test_weighted_mean_of_nothing_is_zero() -> None:
    assert weighted_mean([]) == 0.0


def test_weighted_mean_clamps() -> None:
    assert weighted_mean([(1.0, 1.5)]) == 1.0
    assert weighted_mean([(1.0, -0.5)]) == 0.0


def test_weighted_mean_clamps_each_value_before_averaging() -> None:
    # An overshooting KR must not make up for another's shortfall.
    assert weighted_mean([(1.0, 1.5), (1.0, 0.0)]) == pytest.approx(0.5, abs=TOL)
    assert weighted_mean([(0.0, 1.5), (0.0, 0.0)]) == pytest.approx(0.5, abs=TOL)


def test_weighted_mean_rejects_negative_weight() -> None:
    with pytest.raises(ValueError):
        weighted_mean([(-1.0, 0.5), (2.0, 0.5)])


def test_objective_progress_and_achievement_rate_share_the_weight_rules() -> None:
    krs = [(1.0, 0.5), (2.0, 1.0), (1.0, 0.0)]
    assert objective_progress(krs) == pytest.approx(2.5 / 4, abs=TOL)
    assert achievement_rate(krs) == pytest.approx(2.5 / 4, abs=TOL)
    zero = [(0.0, 0.3), (0.0, 0.9)]
    assert objective_progress(zero) == pytest.approx(0.6, abs=TOL)
    assert achievement_rate(zero) == pytest.approx(0.6, abs=TOL)
    assert objective_progress([]) == 0.0
    assert achievement_rate([]) == 0.0


# --- objective status ------------------------------------------------------


def test_objective_status_worst_wins() -> None:
    assert objective_status(["on_track", "behind", "at_risk"]) is KeyResultStatus.BEHIND
    assert objective_status(["on_track", "at_risk"]) is KeyResultStatus.AT_RISK
    assert objective_status(["on_track"]) is KeyResultStatus.ON_TRACK


def test_objective_status_ignores_postponed_and_never_checked_in() -> None:
    assert objective_status(["postponed", "at_risk", None]) is KeyResultStatus.AT_RISK
    assert objective_status([None, "on_track", "postponed"]) is KeyResultStatus.ON_TRACK


def test_objective_status_postponed_when_every_checked_in_kr_is() -> None:
    assert objective_status(["postponed", None, "postponed"]) is KeyResultStatus.POSTPONED


def test_objective_status_on_track_when_none_checked_in() -> None:
    assert objective_status([]) is KeyResultStatus.ON_TRACK
    assert objective_status([None, None]) is KeyResultStatus.ON_TRACK


def test_objective_status_rejects_unknown_status() -> None:
    with pytest.raises(ValueError):
        objective_status(["normal"])


# --- expected progress -----------------------------------------------------

Q1_START = date(2025, 1, 1)
Q1_END = date(2025, 3, 31)  # 90 days, inclusive


def test_expected_progress_before_the_cycle_is_zero() -> None:
    assert expected_progress(Q1_START, Q1_END, datetime(2024, 12, 31, 23, 59, tzinfo=UTC)) == 0.0


def test_expected_progress_at_the_start_is_zero() -> None:
    assert expected_progress(Q1_START, Q1_END, datetime(2025, 1, 1, tzinfo=UTC)) == 0.0


def test_expected_progress_mid_cycle() -> None:
    at = datetime(2025, 2, 15, tzinfo=UTC)  # 45 of 90 days elapsed
    assert expected_progress(Q1_START, Q1_END, at) == pytest.approx(0.5, abs=TOL)


def test_expected_progress_last_day_is_not_yet_complete() -> None:
    # The end date is inclusive: at its midday half a day is still left.
    at = datetime(2025, 3, 31, 12, tzinfo=UTC)
    assert expected_progress(Q1_START, Q1_END, at) == pytest.approx(89.5 / 90, abs=TOL)


def test_expected_progress_at_and_after_the_end_is_one() -> None:
    assert expected_progress(Q1_START, Q1_END, datetime(2025, 4, 1, tzinfo=UTC)) == 1.0
    assert expected_progress(Q1_START, Q1_END, datetime(2026, 1, 1, tzinfo=UTC)) == 1.0


def test_expected_progress_naive_is_utc_and_aware_is_converted() -> None:
    naive = datetime(2025, 2, 15)
    assert expected_progress(Q1_START, Q1_END, naive) == pytest.approx(0.5, abs=TOL)
    # 02:00 at UTC+2 is 00:00 UTC on the same day.
    plus_two = datetime(2025, 2, 15, 2, tzinfo=timezone(timedelta(hours=2)))
    assert expected_progress(Q1_START, Q1_END, plus_two) == pytest.approx(0.5, abs=TOL)


def test_expected_progress_rejects_end_before_start() -> None:
    with pytest.raises(ValueError):
        expected_progress(Q1_END, Q1_START, datetime(2025, 2, 1, tzinfo=UTC))


# --- values used by the formulas -------------------------------------------


def test_phases_move_forward_one_step_and_stop_at_closed() -> None:
    assert next_phase(Phase.LAUNCH) is Phase.DRAFTING
    assert next_phase("drafting") is Phase.TRACKING
    assert Phase.TRACKING.next() is Phase.RETROSPECTIVE
    assert next_phase(Phase.RETROSPECTIVE) is Phase.CLOSED
    assert next_phase(Phase.CLOSED) is None


# --- properties --------------------------------------------------------------


@given(finite)
def test_prop_clamp_and_percentage_stay_in_unit_interval(x: float) -> None:
    assert in_unit_interval(clamp(x))
    assert in_unit_interval(percentage_progress(x))


@given(finite, st.none() | finite, st.none() | finite)
def test_prop_numeric_stays_in_unit_interval(
    start: float, target: float | None, current: float | None
) -> None:
    assert in_unit_interval(numeric_progress(start, target, current))


@given(st.lists(st.booleans()))
def test_prop_milestone_stays_in_unit_interval(done: list[bool]) -> None:
    assert in_unit_interval(milestone_progress(done))


@given(st.lists(st.tuples(issue_status, estimate)))
def test_prop_issues_stays_in_unit_interval(issues: list[tuple[str, float | None]]) -> None:
    assert in_unit_interval(issues_progress(issues))


@given(st.lists(finite))
def test_prop_aligned_stays_in_unit_interval(children: list[float]) -> None:
    assert in_unit_interval(aligned_progress(children))


@given(st.lists(st.tuples(st.floats(min_value=0.0, max_value=1e308), finite)))
def test_prop_weighted_mean_stays_in_unit_interval(items: list[tuple[float, float]]) -> None:
    assert in_unit_interval(weighted_mean(items))
    assert in_unit_interval(objective_progress(items))
    assert in_unit_interval(achievement_rate(items))


@given(
    st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 1, 1)),
    st.integers(min_value=0, max_value=3660),
    st.datetimes(min_value=datetime(1890, 1, 1), max_value=datetime(2300, 1, 1)),
)
def test_prop_expected_progress_stays_in_unit_interval(
    start: date, length_days: int, at: datetime
) -> None:
    assert in_unit_interval(expected_progress(start, start + timedelta(days=length_days), at))


@given(
    st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 1, 1)),
    st.integers(min_value=0, max_value=3660),
    st.datetimes(min_value=datetime(1890, 1, 1), max_value=datetime(2300, 1, 1)),
    st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=400)),
)
def test_prop_expected_progress_never_goes_backwards(
    start: date, length_days: int, at: datetime, later: timedelta
) -> None:
    end = start + timedelta(days=length_days)
    assert expected_progress(start, end, at) <= expected_progress(start, end, at + later)


@given(
    st.lists(st.tuples(weight, unit), min_size=1),
    st.floats(min_value=1e-6, max_value=1e6),
)
def test_prop_weighted_mean_is_invariant_under_weight_scaling(
    items: list[tuple[float, float]], c: float
) -> None:
    scaled = [(w * c, v) for w, v in items]
    # Scaling must not push a non-zero weight to 0 (float underflow), which
    # would legitimately change the result.
    assume(all((w == 0) == (sw == 0) for (w, _), (sw, _) in zip(items, scaled, strict=True)))
    assert weighted_mean(scaled) == pytest.approx(weighted_mean(items), abs=1e-9)


@given(st.lists(unit, min_size=1))
def test_prop_all_zero_weights_give_the_plain_mean(values: list[float]) -> None:
    expected = math.fsum(values) / len(values)
    assert weighted_mean([(0.0, v) for v in values]) == pytest.approx(expected, abs=1e-12)


@given(finite, finite, st.none() | finite)
def test_prop_numeric_decrease_equals_mirrored_increase(
    start: float, target: float, current: float | None
) -> None:
    # Negating every number turns "decrease from s to t" into "increase from
    # -s to -t" (and vice versa); the progress must be identical.
    mirrored = None if current is None else -current
    assert numeric_progress(start, target, current) == numeric_progress(-start, -target, mirrored)


@given(
    st.lists(st.tuples(issue_status, estimate)),
    st.lists(estimate, min_size=1),
    st.randoms(use_true_random=False),
)
def test_prop_cancelled_issues_never_change_issues_progress(
    issues: list[tuple[str, float | None]],
    cancelled_estimates: list[float | None],
    rnd: random.Random,
) -> None:
    with_cancelled = issues + [("cancelled", e) for e in cancelled_estimates]
    rnd.shuffle(with_cancelled)
    assert issues_progress(with_cancelled) == pytest.approx(issues_progress(issues), abs=1e-12)


def status_oracle(latest: list[KeyResultStatus | None]) -> KeyResultStatus:
    """Independent restatement of SPEC §2's objective status, by membership."""
    present = {s for s in latest if s is not None}
    for worst_first in (KeyResultStatus.BEHIND, KeyResultStatus.AT_RISK, KeyResultStatus.ON_TRACK):
        if worst_first in present:
            return worst_first
    return KeyResultStatus.POSTPONED if present else KeyResultStatus.ON_TRACK


@given(st.lists(kr_status, max_size=8))
def test_prop_objective_status_matches_oracle(latest: list[KeyResultStatus | None]) -> None:
    assert objective_status(latest) is status_oracle(latest)
    # Plain strings, as read back from stored events, give the same answer.
    as_strings = [None if s is None else s.value for s in latest]
    assert objective_status(as_strings) is status_oracle(latest)


@given(st.lists(kr_status, max_size=5))
def test_prop_objective_status_is_independent_of_order(
    latest: list[KeyResultStatus | None],
) -> None:
    results = {objective_status(list(p)) for p in itertools.permutations(latest)}
    assert len(results) == 1
