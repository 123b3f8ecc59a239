"""Queries on the objectives read model: one objective, the tree, progress history,
the team dashboard and the drafting review.

Visibility is per viewer (private objectives), so it is applied here, at
read time, with the one rule of ``domain/visibility.py``.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator, Sequence
from dataclasses import asdict
from datetime import date, datetime
from statistics import fmean
from typing import Any

from domain.alignment import DEFAULT_MAX_DEPTH, alignment_forest
from domain.key_result import is_stale
from domain.progress import expected_progress
from domain.review import ReviewKeyResult, ReviewObjective, drafting_review
from domain.values import KeyResultStatus, Level, ProgressMode
from domain.visibility import Viewer, may_see
from projections.store import Row, Tx, ViewStore

_COLUMNS = (
    "o.id, o.parent_id, o.owner_team_id, o.owner_user_id, o.visibility, o.contributors,"
    " o.archived, o.progress, o.status, o.achievement_rate"
)
_ROW = f"SELECT {_COLUMNS}, o.doc FROM okr_objectives o"


class _Contributors(Collection[str]):
    """The row's contributors, parsed only if the rule gets that far (most rows are public)."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._people: list[str] | None = None

    def _list(self) -> list[str]:
        if self._people is None:
            self._people = json.loads(self._text)
        return self._people

    def __contains__(self, user: object) -> bool:
        return user in self._list()

    def __iter__(self) -> Iterator[str]:
        return iter(self._list())

    def __len__(self) -> int:
        return len(self._list())


def _visible(viewer: Viewer, row: Row) -> bool:
    return may_see(
        viewer,
        visibility=row["visibility"],
        owner_user_id=row["owner_user_id"],
        owner_team_id=row["owner_team_id"],
        contributors=_Contributors(row["contributors"]),
    )


def _cycle_dates(tx: Tx, organization_id: str, cycle_id: str) -> tuple[date, date] | None:
    row = tx.fetchone(
        "SELECT start_date, end_date FROM okr_cycles WHERE id = :id AND organization_id = :org",
        {"id": cycle_id, "org": organization_id},
    )
    if row is None:
        return None
    return date.fromisoformat(row["start_date"]), date.fromisoformat(row["end_date"])


def _cycle_rows(
    tx: Tx, viewer: Viewer, cycle_id: str, *, with_doc: bool = True, team_id: str | None = None
) -> list[Row]:
    select = _ROW if with_doc else f"SELECT {_COLUMNS} FROM okr_objectives o"
    team = " AND o.owner_team_id = :team" if team_id is not None else ""
    rows = tx.fetchall(
        f"{select} WHERE o.organization_id = :org AND o.cycle_id = :cycle AND o.archived = 0"
        f"{team} ORDER BY o.drafted_position, o.id",
        {"org": viewer.organization_id, "cycle": cycle_id, "team": team_id},
    )
    return [row for row in rows if _visible(viewer, row)]


def _pace_json(start: date, end: date, now: datetime) -> str:
    return json.dumps(expected_progress(start, end, now))


def objective_json(
    store: ViewStore, viewer: Viewer, objective_id: str, now: datetime
) -> tuple[bytes, int] | None:
    """The read shape as JSON, and the version: the stored document with its pace
    spliced in, neither parsed nor re-encoded (the hot read of every client)."""
    with store.transaction(commit=False) as tx:
        row = tx.fetchone(
            f"SELECT {_COLUMNS}, o.doc, o.version, c.start_date, c.end_date"
            " FROM okr_objectives o LEFT JOIN okr_cycles c ON c.id = o.cycle_id"
            " WHERE o.id = :id AND o.organization_id = :org",
            {"id": objective_id, "org": viewer.organization_id},
        )
    if row is None or not _visible(viewer, row):
        return None
    pace = (
        _pace_json(date.fromisoformat(row["start_date"]), date.fromisoformat(row["end_date"]), now)
        if row["start_date"]
        else "0.0"
    )
    document: str = row["doc"]
    return f'{document[:-1]},"expected_progress":{pace}}}'.encode(), int(row["version"])


def cycle_tree_json(
    store: ViewStore,
    viewer: Viewer,
    cycle_id: str,
    now: datetime,
    team_id: str | None = None,
    max_depth: int = DEFAULT_MAX_DEPTH,
) -> bytes | None:
    """``cycle_tree`` as JSON, spliced from the stored documents (trees can be large:
    10,000 objectives are never parsed, validated or re-encoded one by one)."""
    with store.transaction(commit=False) as tx:
        dates = _cycle_dates(tx, viewer.organization_id, cycle_id)
        if dates is None:
            return None
        rows = _cycle_rows(tx, viewer, cycle_id)
    pace = _pace_json(dates[0], dates[1], now)
    roots, children = _nest(rows, team_id, max_depth)
    docs = {row["id"]: row["doc"] for row in rows}
    # One list of pieces in depth-first order, joined once: no subtree is copied
    # into its parent's string level by level (a large tree would be copied depth times).
    pieces: list[str] = [f'{{"cycle_id":{json.dumps(cycle_id)},"objectives":[']
    node_tail = f',"expected_progress":{pace},"children":['
    stack = [row["id"] for row in reversed(roots)]
    first = [True]  # per open list: is the next element its first (no comma)?
    while stack:
        node = stack.pop()
        if node == "":  # closes a node's children list and the node itself
            pieces.append("]}")
            first.pop()
            continue
        if not first[-1]:
            pieces.append(",")
        first[-1] = False
        pieces.append(docs[node][:-1])
        pieces.append(node_tail)
        first.append(True)
        stack.append("")
        stack.extend(reversed(children.get(node, ())))
    pieces.append("]}")
    return "".join(pieces).encode()


def _nest(
    rows: list[Row], team_id: str | None, max_depth: int = DEFAULT_MAX_DEPTH
) -> tuple[list[Row], dict[str, list[str]]]:
    """Roots and children (ids, in drafting order) of the visible objectives.

    Shaped by ``alignment_forest`` whatever the log holds: members of a stored
    cycle are roots, and nesting stops at ``max_depth`` (deeper objectives are
    roots), so the tree is finite and never deeper than the alignment limit.
    """
    by_id = {row["id"]: row for row in rows}
    root_ids, children = alignment_forest(
        by_id, {row["id"]: row["parent_id"] for row in rows}, max_depth
    )
    roots = [by_id[i] for i in root_ids]
    if team_id is not None:
        # The parent each objective is shown under (None for a root).
        shown_under = {child: parent for parent, kids in children.items() for child in kids}
        roots = [
            row
            for row in rows
            if row["owner_team_id"] == team_id
            and not (
                (parent := shown_under.get(row["id"])) is not None
                and by_id[parent]["owner_team_id"] == team_id
            )
        ]
    return roots, children


def get_objective(
    store: ViewStore, viewer: Viewer, objective_id: str, now: datetime
) -> dict[str, Any] | None:
    """The read shape; None when missing, in another organization, or not visible."""
    found = objective_json(store, viewer, objective_id, now)
    return None if found is None else dict(json.loads(found[0]))


def cycle_tree(
    store: ViewStore,
    viewer: Viewer,
    cycle_id: str,
    now: datetime,
    team_id: str | None = None,
    max_depth: int = DEFAULT_MAX_DEPTH,
) -> dict[str, Any] | None:
    """Objectives nested by alignment (to an objective or to one of its KRs).

    With ``team_id``: the subtrees rooted at that team's objectives. An
    objective whose parent is hidden (archived, private) becomes a root, and
    so do the members of a stored cycle and objectives deeper than ``max_depth``.
    """
    tree = cycle_tree_json(store, viewer, cycle_id, now, team_id, max_depth)
    return None if tree is None else dict(json.loads(tree))


PointKey = tuple[int, int]
"""Where a progress point sits in the log: (position, ordinal), unique and ever-growing."""

_POINTS = (
    "SELECT position, ordinal, at, key_result_id, progress, cause FROM okr_progress_points"
    " WHERE objective_id = :id"
)


def progress_history(
    store: ViewStore, viewer: Viewer | None, objective_id: str
) -> list[dict[str, Any]]:
    """Every point of the objective, oldest first (the dashboard's chart, the audit
    trail). ``viewer`` None: an operator, who sees every cause in full."""
    with store.transaction(commit=False) as tx:
        rows = tx.fetchall(f"{_POINTS} ORDER BY position, ordinal", {"id": objective_id})
        return _points(tx, viewer, rows)


def progress_history_page(
    store: ViewStore,
    viewer: Viewer,
    objective_id: str,
    *,
    after: PointKey | None,
    limit: int,
) -> tuple[list[dict[str, Any]], PointKey | None]:
    """One page of points after ``after`` (keyset on the log order, not OFFSET: new
    points only ever come after the last), and the key to resume after (None: end)."""
    keyset = " AND (position, ordinal) > (:position, :ordinal)" if after is not None else ""
    position, ordinal = after if after is not None else (0, 0)
    with store.transaction(commit=False) as tx:
        rows = tx.fetchall(
            f"{_POINTS}{keyset} ORDER BY position, ordinal LIMIT :limit",
            {"id": objective_id, "position": position, "ordinal": ordinal, "limit": limit + 1},
        )
        more = len(rows) > limit
        rows = rows[:limit]
        points = _points(tx, viewer, rows)
    resume = (int(rows[-1]["position"]), int(rows[-1]["ordinal"])) if more else None
    return points, resume


def _points(tx: Tx, viewer: Viewer | None, rows: list[Row]) -> list[dict[str, Any]]:
    """Rows as points; a cause naming an objective the viewer may not see names none.

    Applied here, at read time for this viewer, because the stored row is shared
    by every reader (and a child may turn private after the point was written)."""
    points = [
        {
            "at": row["at"],
            "key_result_id": row["key_result_id"] or None,
            "progress": row["progress"],
            "cause": json.loads(row["cause"]),
        }
        for row in rows
    ]
    if viewer is None:
        return points
    named = {
        point["cause"]["child_objective_id"]
        for point in points
        if point["cause"].get("child_objective_id") is not None
    }
    if not named:
        return points
    marks = ", ".join(f":o{i}" for i in range(len(named)))
    params: dict[str, Any] = {f"o{i}": child for i, child in enumerate(sorted(named))}
    params["org"] = viewer.organization_id
    seen = {
        row["id"]
        for row in tx.fetchall(
            f"SELECT {_COLUMNS} FROM okr_objectives o"
            f" WHERE o.organization_id = :org AND o.id IN ({marks})",
            params,
        )
        if _visible(viewer, row)
    }
    for point in points:
        cause = point["cause"]
        if "child_objective_id" in cause and cause["child_objective_id"] not in seen:
            cause["child_objective_id"] = None
    return points


def progress_at(
    store: ViewStore, objective_id: str, key_result_ids: Sequence[str], at: datetime
) -> dict[str, float]:
    """What progress history held for these KRs at ``at`` (time travel of aligned KRs)."""
    values: dict[str, float] = {}
    with store.transaction(commit=False) as tx:
        for kr_id in key_result_ids:
            rows = tx.fetchall(
                "SELECT at, progress FROM okr_progress_points WHERE objective_id = :id"
                " AND key_result_id = :kr ORDER BY position DESC, ordinal DESC",
                {"id": objective_id, "kr": kr_id},
            )
            for row in rows:
                if datetime.fromisoformat(row["at"]) <= at:
                    values[kr_id] = row["progress"]
                    break
    return values


def dashboard(
    store: ViewStore, viewer: Viewer, cycle_id: str, now: datetime, team_id: str | None = None
) -> dict[str, Any] | None:
    """Team (or whole-cycle) summary of the objectives the viewer may see."""
    with store.transaction(commit=False) as tx:
        dates = _cycle_dates(tx, viewer.organization_id, cycle_id)
        if dates is None:
            return None
        rows = _cycle_rows(tx, viewer, cycle_id, with_doc=False, team_id=team_id)
        team = " AND owner_team_id = :team" if team_id is not None else ""
        key_results = tx.fetchall(
            "SELECT id, objective_id, last_check_in_at FROM okr_key_results"
            f" WHERE organization_id = :org AND cycle_id = :cycle{team}",
            {"org": viewer.organization_id, "cycle": cycle_id, "team": team_id},
        )
    ids = {row["id"] for row in rows}
    stale = [
        {
            "objective_id": kr["objective_id"],
            "key_result_id": kr["id"],
            "last_check_in_at": kr["last_check_in_at"],
        }
        for kr in key_results
        if kr["objective_id"] in ids and is_stale(kr["last_check_in_at"], now)
    ]
    rates = [row["achievement_rate"] for row in rows if row["achievement_rate"] is not None]
    counts = {status.value: 0 for status in KeyResultStatus}
    for row in rows:
        counts[row["status"]] += 1
    return {
        "cycle_id": cycle_id,
        "team_id": team_id,
        "objective_count": len(rows),
        "mean_progress": fmean(row["progress"] for row in rows) if rows else 0.0,
        "expected_progress": expected_progress(dates[0], dates[1], now),
        "achievement_rate": fmean(rates) if rates else None,
        "counts_by_status": counts,
        "stale_key_result_count": len(stale),
        "stale_key_results": sorted(stale, key=lambda s: (s["objective_id"], s["key_result_id"])),
    }


def review(store: ViewStore, viewer: Viewer, cycle_id: str) -> list[dict[str, Any]] | None:
    """Drafting-review warnings over the cycle's live objectives the viewer may see."""
    with store.transaction(commit=False) as tx:
        if _cycle_dates(tx, viewer.organization_id, cycle_id) is None:
            return None
        rows = _cycle_rows(tx, viewer, cycle_id)
    objectives = []
    for row in rows:
        doc = json.loads(row["doc"])
        objectives.append(
            ReviewObjective(
                id=doc["id"],
                title=doc["title"],
                level=Level(doc["level"]),
                aligned=bool(doc["aligned_to_objective_id"] or doc["aligned_to_key_result_id"]),
                key_results=tuple(
                    ReviewKeyResult(
                        id=kr["id"],
                        mode=ProgressMode(kr["mode"]),
                        weight=kr["weight"],
                        target=kr["target"],
                    )
                    for kr in doc["key_results"]
                ),
            )
        )
    return [asdict(warning) for warning in drafting_review(objectives)]
