"""Labels, colours and the one style sheet of the dashboard's pages."""

from __future__ import annotations

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
