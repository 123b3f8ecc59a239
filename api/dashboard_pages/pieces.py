"""Small pieces of a page: badges, progress bars, key result details and tables."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from api.dashboard_pages.frame import e, number, pct, when
from api.dashboard_pages.style import (
    STATUS_LABELS,
)

# ---------------------------------------------------------------- small pieces


def status_badge(status: str | None) -> str:
    if status is None:
        return '<span class="badge none">no check-in</span>'
    return f'<span class="badge {e(status)}">{e(STATUS_LABELS.get(status, status))}</span>'


def level_tag(level: str) -> str:
    return f'<span class="tag {e(level)}">{e(level)}</span>'


def progress_bar(
    progress: float, expected: float | None, status: str | None, *, slim: bool = False
) -> str:
    """A bar filled to ``progress`` with a dark mark at the expected progress (pace)."""
    fill = max(0.0, min(1.0, progress))
    label = f"progress {pct(progress)}" + (
        "" if expected is None else f", expected {pct(expected)}"
    )
    mark = ""
    if expected is not None:
        at = max(0.0, min(1.0, expected))
        mark = f'<span class="pace" style="left:{at * 100:.2f}%" title="expected {pct(at)}"></span>'
    return (
        f'<div class="bar{" slim" if slim else ""}" role="progressbar" aria-valuemin="0"'
        f' aria-valuemax="100" aria-valuenow="{fill * 100:.0f}" aria-label="{e(label)}"'
        f' title="{e(label)}">'
        f'<span class="fill {e(status or "none")}" style="width:{fill * 100:.2f}%"></span>'
        f"{mark}</div>"
    )


def progress_line(progress: float, expected: float | None, status: str | None) -> str:
    expected_text = "" if expected is None else f"expected {pct(expected)}"
    return (
        f'<div class="progress">{progress_bar(progress, expected, status)}'
        f'<span class="num">{pct(progress)}</span>'
        f'<span class="exp">{e(expected_text)}</span></div>'
    )


def owner_text(objective: Mapping[str, Any], team_names: Mapping[str, str]) -> str:
    parts = []
    if objective.get("owner_user_id"):  # the name from the directory, else the id
        parts.append(str(objective.get("owner_user_name") or objective["owner_user_id"]))
    team = objective.get("owner_team_id")
    if team:
        parts.append(team_names.get(team, "unknown team"))
    return " · ".join(parts) or "no owner"


def kr_detail(kr: Mapping[str, Any], aligned_children: int = 0) -> str:
    """What the key result measures, in the words of its mode."""
    mode = kr["mode"]
    if mode == "numeric":
        unit = f" {kr['unit']}" if kr.get("unit") else ""
        if kr.get("target") is None:
            return e(f"{number(kr.get('current'))}{unit} (target still open)")
        return e(
            f"{number(kr.get('current'))}{unit}  (from {number(kr.get('start'))}"
            f" to {number(kr.get('target'))}{unit})"
        )
    if mode == "milestone":
        milestones = kr.get("milestones") or []
        done = sum(1 for m in milestones if m["done"])
        items = "".join(
            f'<li class="{"done" if m["done"] else ""}">{"✓ " if m["done"] else ""}'
            f"{e(m['title'])}</li>"
            for m in milestones
        )
        return f'{done}/{len(milestones)} milestones<ul class="milestones">{items}</ul>'
    if mode == "issues":
        issues = kr.get("issues") or []
        counts: dict[str, int] = {}
        for issue in issues:
            counts[str(issue.get("status") or "unknown")] = (
                counts.get(str(issue.get("status") or "unknown"), 0) + 1
            )
        spread = ", ".join(
            f"{n} {status.replace('_', ' ')}" for status, n in sorted(counts.items())
        )
        return e(f"{len(issues)} linked issues" + (f": {spread}" if spread else ""))
    if mode == "aligned":
        return e(f"mean of {aligned_children} aligned objective(s)")
    return e(f"{pct(kr.get('progress'))} complete")


def kr_table(
    key_results: Sequence[Mapping[str, Any]],
    expected: float | None,
    aligned_counts: Mapping[str, int],
    *,
    full: bool = False,
) -> str:
    if not key_results:
        return '<p class="muted small">No key results yet.</p>'
    extra_head = "<th>Confidence</th><th>Last check-in</th>" if full else ""
    rows = []
    for kr in key_results:
        who = kr.get("assignee_name") or kr.get("assignee_id") or ""
        extra = ""
        if full:
            extra = (
                f'<td class="num">{e(number(kr.get("confidence")))}</td>'
                f'<td class="small muted">{e(when(kr.get("last_check_in_at")))}</td>'
            )
        rows.append(
            "<tr>"
            f"<td><div>{e(kr['title'])}</div>"
            f'<div class="detail">{kr_detail(kr, aligned_counts.get(kr["id"], 0))}</div></td>'
            f'<td><span class="tag phase">{e(kr["mode"])}</span></td>'
            f'<td class="num">{e(number(kr.get("weight")))}</td>'
            f'<td class="kr-progress"><div class="progress">'
            f"{progress_bar(kr['progress'], expected, kr.get('status'), slim=True)}"
            f'<span class="num">{pct(kr["progress"])}</span></div></td>'
            f"<td>{status_badge(kr.get('status'))}</td>"
            f'<td class="small">{e(who)}</td>'
            f"{extra}</tr>"
        )
    return (
        '<table class="krs"><thead><tr><th>Key result</th><th>Mode</th>'
        '<th style="text-align:right">Weight</th><th>Progress</th><th>Status</th>'
        f"<th>Assignee</th>{extra_head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )
