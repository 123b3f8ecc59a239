"""Progress, status, pace and scoring formulas of SPEC §2, as pure functions.

This module owns every number the service derives: a key result's progress
in each mode, an objective's progress and status, the expected progress
(pace) of a cycle, and the retrospective achievement rate. Each formula lives
in exactly one function here and is called by the aggregates, the
projections and time travel alike, so the three can never disagree.

The functions take plain numbers and strings, not aggregates or events, so
any caller can feed them whatever state it has rebuilt. They use only the
standard library and never mutate their arguments.

Every progress-like result is a float in [0, 1]. Inputs that cannot be
meaningful (a negative weight or estimate, an unknown status) raise
``ValueError`` instead of being silently turned into some number: the
command side validates them first, so reaching one here is a bug.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta

from domain.values import IssueStatus, KeyResultStatus

__all__ = [
    "achievement_rate",
    "aligned_progress",
    "clamp",
    "expected_progress",
    "issues_progress",
    "milestone_progress",
    "numeric_progress",
    "objective_progress",
    "objective_status",
    "percentage_progress",
    "weighted_mean",
]


def clamp(x: float) -> float:
    """Limit ``x`` to [0, 1]; NaN becomes 0.0.

    NaN cannot be ordered, so without the explicit case it would slip through
    ``min``/``max`` unchanged; "no meaningful progress" is 0.
    """
    if math.isnan(x):
        return 0.0
    return min(1.0, max(0.0, float(x)))


def percentage_progress(percent: float | None) -> float:
    """Progress of a ``percentage`` key result: clamp(percent / 100).

    ``None`` (no check-in yet) is 0 progress.
    """
    if percent is None:
        return 0.0
    return clamp(percent / 100.0)


def numeric_progress(start: float, target: float | None, current: float | None) -> float:
    """Progress of a ``numeric`` key result: clamp((current - start) / (target - start)).

    A target below the start means "decrease to"; the same formula covers it
    because numerator and denominator change sign together. ``current`` of
    ``None`` means nothing was reported yet, i.e. current = start (0).
    A missing target (allowed while drafting) or target == start gives 0:
    there is no distance to cover, so no progress can be measured.
    """
    if target is None or target == start:
        return 0.0
    if current is None:
        return 0.0
    span = target - start
    moved = current - start
    if math.isinf(span) or math.isinf(moved):
        # Huge finite inputs overflow the subtraction; scale every number
        # down first (progress is a ratio, so scaling does not change it).
        scale = max(abs(start), abs(target), abs(current))
        span = target / scale - start / scale
        moved = current / scale - start / scale
        if span == 0.0:
            return 0.0
    return clamp(moved / span)


def milestone_progress(done: Sequence[bool]) -> float:
    """Progress of a ``milestone`` key result: milestones done / total, 0 if none."""
    if not done:
        return 0.0
    return clamp(sum(1 for flag in done if flag) / len(done))


def issues_progress(issues: Iterable[tuple[str, float | None]]) -> float:
    """Progress of an ``issues`` key result from its linked issues.

    Each item is ``(status, estimate)``; a missing estimate counts as 1 so
    that unestimated issues still weigh in. Progress is Σ estimate of ``done``
    over Σ estimate of every issue not ``cancelled``: cancelled work is
    neither done nor owed, so it leaves both sums. 0 when the denominator is
    0 (no issues, all cancelled, or all estimated 0).

    Raises ``ValueError`` for an unknown status or a negative or non-finite
    estimate: those would make the ratio meaningless (e.g. above 1).
    """
    counted: list[tuple[bool, float]] = []
    for status, estimate in issues:
        canonical = IssueStatus(status)
        size = 1.0 if estimate is None else float(estimate)
        if not math.isfinite(size) or size < 0:
            raise ValueError(f"issue estimate must be a finite number >= 0, got {estimate!r}")
        if canonical is not IssueStatus.CANCELLED:
            counted.append((canonical is IssueStatus.DONE, size))
    largest = max((size for _, size in counted), default=0.0)
    if largest == 0.0:
        return 0.0
    # Dividing by the largest estimate first keeps the sums finite for any
    # finite estimates; the ratio is unchanged.
    total = math.fsum(size / largest for _, size in counted)
    done = math.fsum(size / largest for is_done, size in counted if is_done)
    return clamp(done / total)


def aligned_progress(children: Iterable[float]) -> float:
    """Progress of an ``aligned`` key result: mean progress of its children, 0 if none.

    The caller passes only the non-archived objectives aligned to the KR.
    Children are clamped before averaging, so the mean stays in [0, 1].
    """
    values = [clamp(child) for child in children]
    if not values:
        return 0.0
    return clamp(math.fsum(values) / len(values))


def weighted_mean(items: Sequence[tuple[float, float]]) -> float:
    """Σ w·v / Σ w over ``(weight, value)`` pairs, clamped to [0, 1].

    The weight rules of SPEC §2, shared by objective progress and
    achievement rate: if every weight is 0 the plain mean of the values is
    used (a team that zeroed all weights still has progress), and no items
    give 0.

    Values are clamped to [0, 1] before averaging: they are progresses or
    scores, and one value out of range must not mask another's shortfall.
    Weights are divided by the largest weight first so the sums cannot
    overflow and scaling every weight by the same c > 0 gives the same result.

    Raises ``ValueError`` for a negative or non-finite weight (SPEC: weight is
    a number >= 0).
    """
    if not items:
        return 0.0
    weights: list[float] = []
    values: list[float] = []
    for weight, value in items:
        w = float(weight)
        if not math.isfinite(w) or w < 0:
            raise ValueError(f"weight must be a finite number >= 0, got {weight!r}")
        weights.append(w)
        values.append(clamp(value))
    largest = max(weights)
    if largest == 0.0:
        return clamp(math.fsum(values) / len(values))
    scaled = [w / largest for w in weights]
    total = math.fsum(scaled)
    return clamp(math.fsum(w * v for w, v in zip(scaled, values, strict=True)) / total)


def objective_progress(key_results: Sequence[tuple[float, float]]) -> float:
    """Progress of an objective from its KRs' ``(weight, progress)`` pairs.

    The caller passes non-archived key results only (archived ones are out
    of every formula).
    """
    return weighted_mean(key_results)


def achievement_rate(scores: Sequence[tuple[float, float]]) -> float:
    """Retrospective achievement rate from ``(weight, score)`` pairs.

    Same weight rules as objective progress. The caller supplies each KR's
    final score, or its final progress where no score was given.
    """
    return weighted_mean(scores)


# Severity of the statuses that count towards an objective's status;
# postponed is deliberately absent because it never makes an objective worse.
_SEVERITY: dict[KeyResultStatus, int] = {
    KeyResultStatus.ON_TRACK: 0,
    KeyResultStatus.AT_RISK: 1,
    KeyResultStatus.BEHIND: 2,
}


def objective_status(latest: Iterable[KeyResultStatus | str | None]) -> KeyResultStatus:
    """Status of an objective from the latest check-in status of each of its KRs.

    The worst status by on_track < at_risk < behind wins. ``None`` (a KR
    never checked in) and ``postponed`` are ignored; if every checked-in KR
    is postponed the objective is ``postponed``; if none was checked in it is
    ``on_track``, since nothing has been reported against it yet.

    Raises ``ValueError`` for a string that is not a status.
    """
    worst: KeyResultStatus | None = None
    any_checked_in = False
    for raw in latest:
        if raw is None:
            continue
        status = KeyResultStatus(raw)
        any_checked_in = True
        if status is KeyResultStatus.POSTPONED:
            continue
        if worst is None or _SEVERITY[status] > _SEVERITY[worst]:
            worst = status
    if worst is not None:
        return worst
    return KeyResultStatus.POSTPONED if any_checked_in else KeyResultStatus.ON_TRACK


_ONE_DAY = timedelta(days=1)


def expected_progress(start: date, end: date, at: datetime) -> float:
    """Expected progress (pace): the fraction of the cycle elapsed at ``at``, clamped.

    The cycle runs from ``start`` 00:00 UTC to the *end* of ``end``, i.e.
    ``end + 1 day`` 00:00 UTC. Both dates are inclusive because that is how
    people read "1 Jan - 31 Mar": on the last day the cycle is not yet over,
    and only when it has passed is 100 % expected. A naive ``at`` is taken
    as UTC; an aware one is converted.

    Raises ``ValueError`` if ``end`` is before ``start``. Works for any two
    dates (0001-01-01..9999-12-31): the cycle's length is a ``timedelta``, never
    a datetime past the calendar's end, so stored far dates cannot overflow it.
    """
    if end < start:
        raise ValueError(f"cycle end {end} is before its start {start}")
    opens = datetime.combine(start, time.min, tzinfo=UTC)
    length = (end - start) + _ONE_DAY
    moment = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    if moment <= opens:
        return 0.0
    elapsed = moment - opens
    if elapsed >= length:
        return 1.0
    return clamp(elapsed / length)
