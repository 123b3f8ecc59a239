"""The progress chart: one inline SVG line per key result and one for the objective."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from api.dashboard_pages.frame import e, pct, when
from api.dashboard_pages.style import (
    OBJECTIVE_COLOUR,
    SERIES_COLOURS,
)

# ---------------------------------------------------------------- progress chart


@dataclass(frozen=True)
class Series:
    name: str
    colour: str
    points: list[tuple[datetime, float]]
    objective: bool = False


def chart_series(
    points: Sequence[Mapping[str, Any]], key_results: Sequence[Mapping[str, Any]]
) -> list[Series]:
    """The objective's line and one per live key result, from progress history."""
    by_kr: dict[str | None, list[tuple[datetime, float]]] = {}
    for point in points:
        moment = datetime.fromisoformat(point["at"])
        by_kr.setdefault(point["key_result_id"], []).append((moment, float(point["progress"])))
    series = [Series("Objective", OBJECTIVE_COLOUR, by_kr.get(None, []), objective=True)]
    for index, kr in enumerate(key_results):
        colour = SERIES_COLOURS[index % len(SERIES_COLOURS)]
        series.append(Series(kr["title"], colour, by_kr.get(kr["id"], [])))
    return series


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, UTC)


def progress_chart(
    series: Sequence[Series],
    cycle_start: date | None,
    cycle_end: date | None,
    now: datetime,
) -> str:
    """An inline SVG step chart: x = time, y = 0..100 %, with the cycle's pace dashed."""
    moments = [moment for s in series for moment, _ in s.points]
    if not moments:
        return '<div class="empty">No progress recorded yet.</div>'
    width, height = 900, 320
    left, right, top, bottom = 46, 18, 14, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    pace_start = _day_start(cycle_start) if cycle_start else None
    # The end of the last day, counted from the start: no datetime past 9999-12-31.
    pace_end = (
        pace_start + (cycle_end - cycle_start) + timedelta(days=1)
        if pace_start is not None and cycle_start and cycle_end and cycle_end < date.max
        else None
    )
    x0 = min(moments)
    x1 = max(moments)
    if pace_start is not None and pace_end is not None:
        x0 = min(x0, pace_start)
        x1 = max(x1, min(now, pace_end))
    if x1 <= x0:
        x1 = x0 + timedelta(days=1)
    span = (x1 - x0).total_seconds()

    def x(moment: datetime) -> float:
        return left + plot_w * (moment - x0).total_seconds() / span

    def y(value: float) -> float:
        return top + plot_h * (1 - max(0.0, min(1.0, value)))

    parts = [
        f'<svg viewBox="0 0 {width} {height}" role="img" aria-label="progress over time"'
        ' xmlns="http://www.w3.org/2000/svg" font-family="system-ui, sans-serif" font-size="11">'
    ]
    for tick in (0, 0.25, 0.5, 0.75, 1):
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y(tick):.1f}" y2="{y(tick):.1f}"'
            f' stroke="{"#d1d5db" if tick == 0 else "#eef0f3"}"/>'
            f'<text x="{left - 8}" y="{y(tick) + 4:.1f}" text-anchor="end" fill="#6b7280">'
            f"{tick:.0%}</text>"
        )
    ticks = 6
    for i in range(ticks + 1):
        moment = x0 + (x1 - x0) * i / ticks
        anchor = "start" if i == 0 else "end" if i == ticks else "middle"
        parts.append(
            f'<line x1="{x(moment):.1f}" x2="{x(moment):.1f}" y1="{top + plot_h}"'
            f' y2="{top + plot_h + 4}" stroke="#9ca3af"/>'
            f'<text x="{x(moment):.1f}" y="{height - 12}" text-anchor="{anchor}"'
            f' fill="#6b7280">{moment:%d %b}</text>'
        )
    if pace_start is not None and pace_end is not None:
        pace_span = (pace_end - pace_start).total_seconds()

        def pace(moment: datetime) -> float:
            return max(0.0, min(1.0, (moment - pace_start).total_seconds() / pace_span))

        a, b = max(x0, pace_start), min(x1, pace_end)
        if b > a:
            parts.append(
                f'<line x1="{x(a):.1f}" y1="{y(pace(a)):.1f}" x2="{x(b):.1f}"'
                f' y2="{y(pace(b)):.1f}" stroke="#9ca3af" stroke-width="1.5"'
                ' stroke-dasharray="5 4"><title>expected progress (pace)</title></line>'
            )
    # Key results first, the objective last so its line stays on top.
    for s in sorted(series, key=lambda s: s.objective):
        if not s.points:
            continue
        path = [f"M{x(s.points[0][0]):.1f},{y(s.points[0][1]):.1f}"]
        for moment, value in s.points[1:]:
            path.append(f"H{x(moment):.1f}V{y(value):.1f}")
        path.append(f"H{x(x1):.1f}")
        stroke = 3 if s.objective else 1.8
        parts.append(
            f'<path class="series" d="{"".join(path)}" fill="none" stroke="{e(s.colour)}"'
            f' stroke-width="{stroke}" stroke-linejoin="round"><title>{e(s.name)}</title></path>'
        )
        last_moment, last_value = s.points[-1]
        parts.append(
            f'<circle cx="{x(last_moment):.1f}" cy="{y(last_value):.1f}"'
            f' r="{3.5 if s.objective else 2.5}"'
            f' fill="{e(s.colour)}"><title>{e(s.name)}: {pct(last_value)}'
            f" at {e(when(last_moment))}</title></circle>"
        )
    parts.append("</svg>")
    legend = [
        f'<span><span class="swatch{" objective" if s.objective else ""}"'
        f' style="background:{e(s.colour)}"></span>{e(s.name)}'
        f' <span class="muted">{pct(s.points[-1][1]) if s.points else "—"}</span></span>'
        for s in series
    ]
    if pace_start is not None:
        legend.append('<span><span class="swatch pace"></span>expected (pace)</span>')
    return (
        f'<div class="chart">{"".join(parts)}'
        f'<div class="legend" aria-label="legend">{"".join(legend)}</div></div>'
    )
