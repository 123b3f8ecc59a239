"""The cycle page: the objective tree as cards, cycle tabs, the team filter and the
summary."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from api.dashboard_pages.frame import Frame, e, message_page, page, pct, when
from api.dashboard_pages.pieces import (
    kr_table,
    level_tag,
    owner_text,
    progress_line,
    status_badge,
)
from api.dashboard_pages.style import (
    PHASE_LABELS,
    STATUS_LABELS,
)

# ---------------------------------------------------------------- cycle page


def walk(objectives: Iterable[Mapping[str, Any]]) -> Iterable[Mapping[str, Any]]:
    """Every objective of a tree, parents before children (a loop: no recursion on depth)."""
    stack = list(reversed(list(objectives)))
    while stack:
        objective = stack.pop()
        yield objective
        stack.extend(reversed(objective.get("children") or []))


def aligned_counts(objectives: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """Key result id → how many (visible) objectives are aligned to it."""
    counts: dict[str, int] = {}
    for objective in walk(objectives):
        kr_id = objective.get("aligned_to_key_result_id")
        if kr_id:
            counts[kr_id] = counts.get(kr_id, 0) + 1
    return counts


@dataclass(frozen=True)
class TreeContext:
    base: str
    team_names: Mapping[str, str]
    kr_titles: Mapping[str, str]
    aligned_counts: Mapping[str, int] = field(default_factory=dict)


def objective_card(objective: Mapping[str, Any], ctx: TreeContext) -> str:
    """The objective's card followed by its children's, nested one ``children`` div per
    level; built with a loop, not recursion, so a tree's depth costs no stack."""
    pieces: list[str] = []
    stack: list[Mapping[str, Any] | str] = [objective]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            pieces.append(item)
            continue
        pieces.append(_card(item, ctx))
        children = item.get("children") or []
        if children:
            pieces.append('<div class="children">')
            stack.append("</div>")
            stack.extend(reversed(children))
    return "".join(pieces)


def _card(objective: Mapping[str, Any], ctx: TreeContext) -> str:
    """One objective's own card, without its children."""
    status = objective["status"]
    link = f"{ctx.base}/objectives/{objective['id']}"
    private = (
        ' <span class="tag private">private</span>' if objective["visibility"] == "private" else ""
    )
    aligned = ""
    if objective.get("aligned_to_key_result_id"):
        title = ctx.kr_titles.get(objective["aligned_to_key_result_id"], "a key result")
        aligned = f" · aligned to key result “{e(title)}”"
    elif objective.get("aligned_to_objective_id"):
        aligned = " · aligned to its parent objective"
    krs = objective.get("key_results") or []
    return (
        f'<section class="card objective {e(status)}" id="objective-{e(objective["id"])}">'
        f'<div class="row">{level_tag(objective["level"])}'
        f'<h3><a href="{e(link)}">{e(objective["title"])}</a></h3>{private}'
        f'<span class="spacer"></span>{status_badge(status)}</div>'
        f'<div class="meta">{e(owner_text(objective, ctx.team_names))}'
        f" · {len(krs)} key result{'' if len(krs) == 1 else 's'}{aligned}</div>"
        f"{progress_line(objective['progress'], objective.get('expected_progress'), status)}"
        f'<div style="margin-top:10px">'
        f"{kr_table(krs, objective.get('expected_progress'), ctx.aligned_counts)}</div>"
        f"</section>"
    )


def cycle_tabs(cycles: Sequence[Mapping[str, Any]], current_id: str, base: str) -> str:
    tabs = []
    for cycle in reversed(cycles):
        active = " active" if cycle["id"] == current_id else ""
        tabs.append(
            f'<a class="tab{active}" href="{e(base)}/cycles/{e(cycle["id"])}">{e(cycle["name"])}'
            f' <span class="muted">{e(PHASE_LABELS.get(cycle["phase"], cycle["phase"]))}</span></a>'
        )
    return f'<nav class="tabs" aria-label="cycles">{"".join(tabs)}</nav>'


def team_filter(
    teams: Sequence[tuple[str, str]], selected: str | None, cycle_id: str, base: str
) -> str:
    """Links that filter the cycle page by owner team (``teams``: id, display name)."""
    url = f"{base}/cycles/{cycle_id}"
    links = [f'<a class="tab{" active" if selected is None else ""}" href="{e(url)}">All teams</a>']
    for team_id, name in teams:
        active = " active" if team_id == selected else ""
        links.append(f'<a class="tab{active}" href="{e(url)}?team_id={e(team_id)}">{e(name)}</a>')
    return (
        '<nav class="filters" aria-label="teams"><span class="label">Team</span>'
        f"{''.join(links)}</nav>"
    )


def stat(label: str, value: str, note: str = "") -> str:
    """A figure card; ``note`` is HTML the caller has already escaped."""
    note_html = f'<div class="note">{note}</div>' if note else ""
    return (
        f'<div class="stat"><div class="label">{e(label)}</div>'
        f'<div class="value">{value}</div>{note_html}</div>'
    )


def status_distribution(counts: Mapping[str, int]) -> str:
    """One bar split by objective status, with the counts beneath."""
    total = sum(counts.values())
    segments = "".join(
        f'<span class="{e(status)}" style="width:{n / total * 100:.2f}%"'
        f' title="{e(STATUS_LABELS.get(status, status))}: {n}"></span>'
        for status, n in counts.items()
        if n and total
    )
    legend = "".join(
        f'<span>{status_badge(status)} <span class="num">{n}</span></span>'
        for status, n in counts.items()
    )
    return f'<div class="stack">{segments}</div><div class="row">{legend}</div>'


def summary_section(
    summary: Mapping[str, Any], kr_names: Mapping[str, tuple[str, str]], base: str
) -> str:
    """The team dashboard: counts, mean progress against pace, achievement, stale KRs."""
    mean = summary["mean_progress"]
    expected = summary["expected_progress"]
    gap = mean - expected
    gap_text = (
        f'vs {pct(expected)} expected · <span class="{"up" if gap >= 0 else "down"}">'
        f"{'+' if gap >= 0 else '&minus;'}{abs(gap) * 100:.0f} pts</span>"
    )
    rated = summary["achievement_rate"] is not None
    stats = (
        stat("Objectives", str(summary["objective_count"]), "live, that you may see")
        + stat("Mean progress", pct(mean), gap_text)
        + stat(
            "Achievement rate",
            pct(summary["achievement_rate"]),
            "mean of retrospectives" if rated else "no retrospective yet",
        )
        + stat(
            "Stale key results",
            str(summary["stale_key_result_count"]),
            "no check-in in the last 14 days",
        )
    )
    stale_items = []
    for item in summary["stale_key_results"]:
        objective_title, kr_title = kr_names.get(item["key_result_id"], ("", item["key_result_id"]))
        last = (
            "never checked in"
            if item["last_check_in_at"] is None
            else f"last check-in {when(item['last_check_in_at'])}"
        )
        stale_items.append(
            f'<li><a href="{e(base)}/objectives/{e(item["objective_id"])}">{e(kr_title)}</a>'
            f' <span class="muted small">· {e(objective_title)} · {e(last)}</span></li>'
        )
    stale = (
        f'<ul class="stale">{"".join(stale_items)}</ul>'
        if stale_items
        else '<p class="muted small">Every key result was checked in within 14 days.</p>'
    )
    return (
        f'<div class="grid">{stats}</div>'
        '<div class="two"><div class="card"><h2>Objectives by status</h2>'
        f"{status_distribution(summary['counts_by_status'])}"
        '<h2 style="margin-top:18px">Mean progress against pace</h2>'
        f"{progress_line(mean, expected, None)}</div>"
        f'<div class="card"><h2>Stale key results</h2>{stale}</div></div>'
    )


def cycle_heading(cycle: Mapping[str, Any], expected: float) -> str:
    start = date.fromisoformat(cycle["start_date"])
    end = date.fromisoformat(cycle["end_date"])
    return (
        f'<div class="row" style="margin-bottom:12px"><h1>{e(cycle["name"])}</h1>'
        f'<span class="tag phase">{e(cycle["phase"])}</span>'
        f'<span class="spacer"></span><span class="muted">{start:%d %b %Y} &ndash; {end:%d %b %Y}'
        f" · {e(cycle['cadence'])} · {pct(expected)} of the cycle elapsed</span></div>"
    )


def cycle_page(
    frame: Frame,
    *,
    cycles: Sequence[Mapping[str, Any]],
    cycle: Mapping[str, Any],
    tree: Mapping[str, Any],
    summary: Mapping[str, Any],
    teams: Sequence[tuple[str, str]],
    team_id: str | None,
) -> str:
    base = frame.base
    team_names = dict(teams)
    objectives = tree["objectives"]
    kr_titles: dict[str, str] = {}
    kr_names: dict[str, tuple[str, str]] = {}
    for objective in walk(objectives):
        for kr in objective.get("key_results") or []:
            kr_titles[kr["id"]] = kr["title"]
            kr_names[kr["id"]] = (objective["title"], kr["title"])
    ctx = TreeContext(base, team_names, kr_titles, aligned_counts(objectives))
    cards = "".join(objective_card(o, ctx) for o in objectives) or (
        '<div class="card empty">No objectives to show here yet.</div>'
    )
    scope = team_names.get(team_id, "") if team_id else "all teams"
    body = (
        cycle_tabs(cycles, cycle["id"], base)
        + cycle_heading(cycle, summary["expected_progress"])
        + team_filter(teams, team_id, cycle["id"], base)
        + f'<h2>Summary <span class="muted">· {e(scope)}</span></h2>'
        + summary_section(summary, kr_names, base)
        + f'<h2 style="margin-top:8px">OKR tree <span class="muted">· {e(scope)}</span></h2>'
        + f'<div class="tree">{cards}</div>'
    )
    return page(str(cycle["name"]), body, frame)


def no_cycles_page(frame: Frame) -> str:
    return message_page(
        "No cycles yet",
        f"<p>The organization <b>{e(frame.organization_id)}</b> has no OKR cycle yet."
        " An admin plans one with <code>POST /v1/cycles</code>; <code>okr demo</code>"
        " loads a demo organization.</p>",
        frame,
    )
