"""HTML for the built-in dashboard: plain f-strings, every value through ``html.escape``.

Small functions, one per piece of the page (a badge, a progress bar, a key
result table, an objective card, the progress chart, the audit timeline),
composed into three pages. No JavaScript and no external assets: styles are
inline, the chart is inline SVG. The functions take the plain dicts the
query functions answer (the API's read shapes) and know nothing of HTTP.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from projections.audit import AuditEntry

STATUS_LABELS = {
    "on_track": "on track",
    "at_risk": "at risk",
    "behind": "behind",
    "postponed": "postponed",
}
PHASE_LABELS = {
    "launch": "launch",
    "drafting": "drafting",
    "tracking": "tracking",
    "retrospective": "retrospective",
    "closed": "closed",
}
# The objective's line, then one colour per key result (cycled).
OBJECTIVE_COLOUR = "#111827"
SERIES_COLOURS = (
    "#2563eb",
    "#db2777",
    "#059669",
    "#d97706",
    "#7c3aed",
    "#0891b2",
    "#dc2626",
    "#65a30d",
)

CSS = """
:root { --bg:#f4f5f7; --card:#fff; --ink:#111827; --muted:#6b7280; --line:#e5e7eb;
  --accent:#2563eb; --green:#16a34a; --amber:#d97706; --red:#dc2626; --grey:#9ca3af; }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--ink);
  font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif; }
a { color:var(--accent); text-decoration:none; }
a:hover { text-decoration:underline; }
header.top { background:#0f172a; color:#e5e7eb; padding:10px 24px; display:flex;
  align-items:center; gap:16px; }
header.top .brand { font-weight:700; color:#fff; font-size:16px; letter-spacing:.2px; }
header.top .who { margin-left:auto; color:#cbd5e1; font-size:13px; }
header.top .who a { color:#93c5fd; margin-left:10px; }
main { max-width:1180px; margin:0 auto; padding:20px 24px 48px; }
h1 { font-size:22px; margin:0 0 4px; }
h2 { font-size:16px; margin:0 0 12px; }
h3 { font-size:15px; margin:0; }
.muted { color:var(--muted); }
.small { font-size:12px; }
.card { background:var(--card); border:1px solid var(--line); border-radius:10px;
  box-shadow:0 1px 2px rgba(15,23,42,.05); padding:16px 18px; margin-bottom:14px; }
.row { display:flex; align-items:center; gap:10px; flex-wrap:wrap; }
.spacer { flex:1; }
.tabs { display:flex; gap:8px; flex-wrap:wrap; margin:0 0 16px; }
.tab { border:1px solid var(--line); background:#fff; border-radius:999px; padding:4px 12px;
  color:var(--ink); font-size:13px; }
.tab.active { background:var(--ink); color:#fff; border-color:var(--ink); }
.tab .muted { font-size:11px; }
.tab.active .muted { color:#cbd5e1; }
.badge { display:inline-block; border-radius:999px; padding:1px 9px; font-size:12px;
  font-weight:600; white-space:nowrap; border:1px solid transparent; }
.badge.on_track { background:#dcfce7; color:#166534; border-color:#bbf7d0; }
.badge.at_risk { background:#fef3c7; color:#92400e; border-color:#fde68a; }
.badge.behind { background:#fee2e2; color:#991b1b; border-color:#fecaca; }
.badge.postponed { background:#f3f4f6; color:#4b5563; border-color:#e5e7eb; }
.badge.none { background:#fff; color:var(--muted); border-color:var(--line); font-weight:500; }
.tag { display:inline-block; border-radius:5px; padding:0 6px; font-size:11px;
  text-transform:uppercase; letter-spacing:.4px; background:#eef2ff; color:#3730a3; }
.tag.team { background:#ecfeff; color:#155e75; }
.tag.individual { background:#fdf4ff; color:#86198f; }
.tag.private { background:#f3f4f6; color:#374151; }
.tag.phase { background:#f1f5f9; color:#334155; }
.bar { position:relative; height:10px; background:#e5e7eb; border-radius:999px;
  min-width:120px; flex:1; }
.bar .fill { position:absolute; left:0; top:0; bottom:0; border-radius:999px; }
.bar .fill.on_track { background:var(--green); }
.bar .fill.at_risk { background:var(--amber); }
.bar .fill.behind { background:var(--red); }
.bar .fill.postponed { background:var(--grey); }
.bar .fill.none { background:#60a5fa; }
.bar .pace { position:absolute; top:-4px; bottom:-4px; width:2px; margin-left:-1px;
  background:#111827; border-radius:1px; }
.bar.slim { height:6px; min-width:80px; }
.bar.slim .pace { top:-3px; bottom:-3px; }
.progress { display:flex; align-items:center; gap:10px; }
.progress .num { font-variant-numeric:tabular-nums; font-weight:600; min-width:40px;
  text-align:right; }
.progress .exp { font-size:12px; color:var(--muted); min-width:88px; }
.grid { display:grid; grid-template-columns:repeat(auto-fit,minmax(170px,1fr)); gap:12px;
  margin-bottom:14px; }
.stat { background:var(--card); border:1px solid var(--line); border-radius:10px;
  padding:12px 14px; }
.stat .label { font-size:12px; color:var(--muted); text-transform:uppercase;
  letter-spacing:.4px; }
.stat .value { font-size:24px; font-weight:700; font-variant-numeric:tabular-nums; }
.stat .note { font-size:12px; color:var(--muted); }
.stack { display:flex; height:14px; border-radius:999px; overflow:hidden; background:#e5e7eb;
  margin:2px 0 10px; }
.stack span { display:block; height:100%; }
.stack .on_track { background:var(--green); }
.stack .at_risk { background:var(--amber); }
.stack .behind { background:var(--red); }
.stack .postponed { background:var(--grey); }
.stale { margin:0; padding-left:18px; }
.stale li { margin-bottom:3px; }
.filters { display:flex; gap:6px; flex-wrap:wrap; align-items:center; margin-bottom:14px; }
.filters .label { font-size:12px; color:var(--muted); margin-right:4px; }
.objective { border-left:3px solid var(--line); }
.objective.on_track { border-left-color:var(--green); }
.objective.at_risk { border-left-color:var(--amber); }
.objective.behind { border-left-color:var(--red); }
.objective.postponed { border-left-color:var(--grey); }
.objective .meta { font-size:12px; color:var(--muted); margin:2px 0 10px; }
.children { margin-left:26px; padding-left:14px; border-left:2px dashed #d1d5db; }
table { width:100%; border-collapse:collapse; font-size:13px; }
th { text-align:left; font-weight:600; color:var(--muted); font-size:11px;
  text-transform:uppercase; letter-spacing:.4px; padding:6px 8px;
  border-bottom:1px solid var(--line); }
td { padding:7px 8px; border-bottom:1px solid #f1f5f9; vertical-align:middle; }
tr:last-child td { border-bottom:none; }
td.num { text-align:right; font-variant-numeric:tabular-nums; }
td.kr-progress { width:230px; }
.detail { color:var(--muted); font-size:12px; }
.milestones { list-style:none; margin:2px 0 0; padding:0; display:flex; gap:6px;
  flex-wrap:wrap; }
.milestones li { font-size:11px; border:1px solid var(--line); border-radius:5px;
  padding:0 5px; color:var(--muted); }
.milestones li.done { background:#dcfce7; border-color:#bbf7d0; color:#166534; }
.chart svg { width:100%; height:auto; display:block; }
.legend { display:flex; flex-wrap:wrap; gap:6px 16px; margin-top:8px; font-size:12px; }
.legend .swatch { display:inline-block; width:18px; height:3px; border-radius:2px;
  vertical-align:middle; margin-right:6px; }
.legend .swatch.objective { height:5px; }
.legend .swatch.pace {
  background:repeating-linear-gradient(90deg,#9ca3af 0 4px,transparent 4px 7px); }
.timeline td.when { white-space:nowrap; color:var(--muted); font-variant-numeric:tabular-nums; }
.timeline td.who { white-space:nowrap; }
.timeline td.moved { white-space:nowrap; font-variant-numeric:tabular-nums; }
.up { color:var(--green); font-weight:600; }
.down { color:var(--red); font-weight:600; }
.crumbs { font-size:13px; margin-bottom:10px; color:var(--muted); }
.two { display:grid; grid-template-columns:1fr 1fr; gap:14px; }
.retro dt { font-weight:600; margin-top:6px; }
.retro dd { margin:0 0 4px; color:#374151; }
code, .mono { font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace; font-size:12px; }
pre { background:#0f172a; color:#e2e8f0; padding:10px 12px; border-radius:8px; overflow:auto; }
.empty { color:var(--muted); padding:18px; text-align:center; }
"""


def e(value: object) -> str:
    """Escape any value for HTML text and attributes."""
    return html.escape("" if value is None else str(value), quote=True)


def pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def when(moment: datetime | str | None) -> str:
    if moment is None:
        return "—"
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M")


def number(value: float | None) -> str:
    return "—" if value is None else f"{value:g}"


# ---------------------------------------------------------------- page frame


@dataclass(frozen=True)
class Frame:
    """What every page shows around its content: who is looking, where links start."""

    base: str  # the dashboard's own URL path, e.g. "/dashboard"
    organization_id: str | None = None
    user_id: str | None = None
    role: str | None = None
    csrf: str = ""  # the sign-out form's token (see api/routers/dashboard.py)


def page(title: str, body: str, frame: Frame) -> str:
    who = ""
    if frame.user_id is not None:
        who = (
            f'<span class="who">{e(frame.organization_id)} / {e(frame.user_id)}'
            f' <span class="muted">({e(frame.role)})</span>'
            f'<form class="sign-out" method="post" action="{e(frame.base)}/logout"'
            ' style="display:inline;margin-left:10px">'
            f'<input type="hidden" name="csrf" value="{e(frame.csrf)}">'
            '<button type="submit" style="background:none;border:0;padding:0;'
            'color:#93c5fd;text-decoration:underline;cursor:pointer;font:inherit">'
            "sign out</button></form></span>"
        )
    return (
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="referrer" content="same-origin">'
        f"<title>{e(title)} · OKR dashboard</title><style>{CSS}</style></head>"
        f'<body><header class="top"><a class="brand" href="{e(frame.base)}">OKR dashboard</a>'
        f"{who}</header><main>{body}</main></body></html>"
    )


def message_page(title: str, message: str, frame: Frame) -> str:
    """A page with one card: ``message`` is HTML the caller has already escaped."""
    return page(title, f'<div class="card"><h1>{e(title)}</h1>{message}</div>', frame)


def sign_in_page(frame: Frame, reason: str, next_path: str = "") -> str:
    """The sign-in form: the token is POSTed (never put in an address) and kept in an
    HttpOnly cookie for this browser only; ``next_path`` is the page to return to."""
    base = e(frame.base)
    message = (
        f'<p class="muted">{e(reason)}</p>'
        f'<form class="sign-in" method="post" action="{base}/sign-in">'
        f'<input type="hidden" name="next" value="{e(next_path or frame.base)}">'
        '<label>API token <input type="password" name="token" autocomplete="off"'
        ' required size="48"></label> <button type="submit">Sign in</button></form>'
        "<p>The dashboard reads with the same API tokens as the HTTP API; the token is"
        " kept in a cookie for this browser only.</p>"
        "<p>Create a token with the command line:</p>"
        "<pre>okr token create --org ORG --user USER --role member</pre>"
        "<p>or load the demo organization, which prints an admin token:</p>"
        "<pre>okr demo</pre>"
        '<p class="muted small">Programs may instead send'
        " <code>Authorization: Bearer &lt;token&gt;</code>.</p>"
    )
    return message_page("Sign in to the OKR dashboard", message, frame)


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
    if objective.get("owner_user_id"):
        parts.append(str(objective["owner_user_id"]))
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
        who = kr.get("assignee_id") or ""
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
            f'<td class="who">{e(entry.actor or "")}</td>'
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
