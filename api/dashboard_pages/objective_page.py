"""The objective page: its key results, the progress chart, the retrospective and
the audit timeline."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from api.dashboard_pages.chart import chart_series, progress_chart
from api.dashboard_pages.frame import Frame, e, page, pct, when
from api.dashboard_pages.pieces import (
    kr_table,
    level_tag,
    owner_text,
    progress_line,
    status_badge,
)
from projections.audit import AuditEntry

# ---------------------------------------------------------------- objective page


def entry_summary(entry: AuditEntry, titles: Mapping[str, str]) -> str:
    """The audit line, with ids the viewer may see replaced by their titles."""
    if entry.type == "ChildProgress":
        child = str(entry.data.get("child_objective_id"))
        if child not in titles:  # archived, or private to someone else: no id shown
            return "an aligned objective moved"
        return f"aligned objective “{titles[child]}” moved"
    if entry.type == "Realigned":
        target = entry.data.get("key_result_id") or entry.data.get("objective_id")
        if target is not None and str(target) not in titles:  # private, archived: no id shown
            kind = "a key result" if entry.data.get("key_result_id") else "an objective"
            return f"aligned to {kind} not shown here"
    summary = entry.summary
    for known, title in titles.items():
        if known in summary:
            summary = summary.replace(known, f"“{title}”")
    return summary


def audit_timeline(entries: Sequence[AuditEntry], titles: Mapping[str, str]) -> str:
    """The objective's story, newest first: time, version, actor, what, progress moved."""
    if not entries:
        return '<div class="empty">No events.</div>'
    rows = []
    for entry in reversed(entries):
        before, after = entry.progress_before, entry.progress_after
        if before is None or abs(after - before) < 1e-9:
            moved = f'<span class="muted">{pct(before)} → {pct(after)}</span>'
        else:
            arrow = "up" if after > before else "down"
            sign = "+" if after > before else "&minus;"
            moved = (
                f"{pct(before)} → {pct(after)}"
                f' <span class="{arrow}">{sign}{abs(after - before) * 100:.1f} pts</span>'
            )
        version = f"v{entry.version}" if entry.version is not None else ""
        rows.append(
            f'<tr><td class="when">{e(when(entry.at))}</td>'
            f'<td class="small muted">{e(version)}</td>'
            f'<td class="who">{e(entry.actor_name or entry.actor or "")}</td>'
            f"<td>{e(entry_summary(entry, titles))}</td>"
            f'<td class="moved">{moved}</td></tr>'
        )
    return (
        '<table class="timeline"><thead><tr><th>When (UTC)</th><th>Ver.</th><th>Who</th>'
        f"<th>What</th><th>Progress</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def retrospective_card(
    retrospective: Mapping[str, Any] | None, key_results: Sequence[Mapping[str, Any]]
) -> str:
    if not retrospective:
        return ""
    scores = retrospective.get("scores") or {}
    fallback = ' <span class="muted">(final progress)</span>'
    final = "".join(
        f"<li>{e(kr['title'])}: <b>{pct(scores.get(kr['id'], kr['progress']))}</b>"
        f"{'' if kr['id'] in scores else fallback}</li>"
        for kr in key_results
    )
    items = "".join(
        f"<dt>{e(label)}</dt><dd>{e(retrospective.get(key) or '—')}</dd>"
        for label, key in (
            ("Problems", "problems"),
            ("Improvements", "improvements"),
            ("Next focus", "next_focus"),
        )
    )
    return (
        '<div class="card retro"><div class="row"><h2>Retrospective</h2>'
        f'<span class="spacer"></span><span>achievement rate <b>'
        f"{pct(retrospective.get('achievement_rate'))}</b></span></div>"
        f'<dl><dt>Final scores</dt><dd><ul class="stale">{final}</ul></dd>{items}</dl></div>'
    )


def objective_page(
    frame: Frame,
    *,
    objective: Mapping[str, Any],
    cycle: Mapping[str, Any] | None,
    parent: Mapping[str, Any] | None,
    children: Sequence[Mapping[str, Any]],
    team_names: Mapping[str, str],
    points: Sequence[Mapping[str, Any]],
    entries: Sequence[AuditEntry],
    titles: Mapping[str, str],
    now: datetime,
) -> str:
    """``titles``: id → title of the objectives and key results the viewer may see."""
    base = frame.base
    status = objective["status"]
    crumbs = [f'<a href="{e(base)}">Dashboard</a>']
    if cycle is not None:
        crumbs.append(f'<a href="{e(base)}/cycles/{e(cycle["id"])}">{e(cycle["name"])}</a>')
    if parent is not None:
        crumbs.append(f'<a href="{e(base)}/objectives/{e(parent["id"])}">{e(parent["title"])}</a>')
    crumbs.append(e(objective["title"]))
    private = (
        ' <span class="tag private">private</span>' if objective["visibility"] == "private" else ""
    )
    archived = ' <span class="tag private">archived</span>' if objective.get("archived") else ""
    description = (
        f'<p style="margin:6px 0 10px">{e(objective["description"])}</p>'
        if objective.get("description")
        else ""
    )
    krs = objective.get("key_results") or []
    counts: dict[str, int] = {}
    for child in children:
        kr_id = child.get("aligned_to_key_result_id")
        if kr_id:
            counts[kr_id] = counts.get(kr_id, 0) + 1
    child_items = "".join(
        f'<li><a href="{e(base)}/objectives/{e(c["id"])}">{e(c["title"])}</a> '
        f'{status_badge(c["status"])} <span class="muted small">{pct(c["progress"])}</span></li>'
        for c in children
    )
    aligned_here = (
        f'<div class="card"><h2>Aligned to this objective</h2>'
        f'<ul style="margin:0;padding-left:18px">{child_items}</ul></div>'
        if child_items
        else ""
    )
    cycle_start = date.fromisoformat(cycle["start_date"]) if cycle else None
    cycle_end = date.fromisoformat(cycle["end_date"]) if cycle else None
    header = (
        f'<div class="card objective {e(status)}">'
        f'<div class="row">{level_tag(objective["level"])}<h1>{e(objective["title"])}</h1>'
        f'{private}{archived}<span class="spacer"></span>{status_badge(status)}</div>'
        f'<div class="meta">{e(owner_text(objective, team_names))} · version'
        f" {e(objective['version'])}</div>{description}"
        f"{progress_line(objective['progress'], objective.get('expected_progress'), status)}"
        "</div>"
    )
    body = (
        f'<div class="crumbs">{" &rsaquo; ".join(crumbs)}</div>'
        + header
        + '<div class="card"><h2>Key results</h2>'
        + kr_table(krs, objective.get("expected_progress"), counts, full=True)
        + "</div>"
        + aligned_here
        + retrospective_card(objective.get("retrospective"), krs)
        + '<div class="card"><h2>Progress over time</h2>'
        + progress_chart(chart_series(points, krs), cycle_start, cycle_end, now)
        + "</div>"
        + '<div class="card"><div class="row"><h2>Audit trail</h2><span class="spacer"></span>'
        + f'<span class="muted small">{len(entries)} entries, newest first</span></div>'
        + audit_timeline(entries, titles)
        + "</div>"
    )
    return page(str(objective["title"]), body, frame)
