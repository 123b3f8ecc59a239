"""Queries on the objectives read model: one objective, the tree, progress history,
the team dashboard and the drafting review.

Visibility is per viewer (private objectives), so it is applied here, at
read time, with the one rule of ``domain/visibility.py``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from datetime import date, datetime, timedelta
from statistics import fmean
from typing import Any

from domain.progress import expected_progress
from domain.review import ReviewKeyResult, ReviewObjective, drafting_review
from domain.values import KeyResultStatus, Level, ProgressMode
from domain.visibility import Viewer, may_see
from projections.objective_document import with_pace
from projections.store import Row, Tx, ViewStore

STALE_AFTER = timedelta(days=14)

_ROW = (
    "SELECT o.id, o.parent_id, o.owner_team_id, o.owner_user_id, o.visibility, o.contributors,"
    " o.archived, o.progress, o.status, o.achievement_rate, o.doc"
    " FROM okr_objectives o"
)


def _visible(viewer: Viewer, row: Row) -> bool:
    return may_see(
        viewer,
        visibility=row["visibility"],
        owner_user_id=row["owner_user_id"],
        owner_team_id=row["owner_team_id"],
        contributors=json.loads(row["contributors"]),
    )


def _cycle_dates(tx: Tx, organization_id: str, cycle_id: str) -> tuple[date, date] | None:
    row = tx.fetchone(
        "SELECT start_date, end_date FROM okr_cycles WHERE id = :id AND organization_id = :org",
        {"id": cycle_id, "org": organization_id},
    )
    if row is None:
        return None
    return date.fromisoformat(row["start_date"]), date.fromisoformat(row["end_date"])


def _cycle_rows(tx: Tx, viewer: Viewer, cycle_id: str) -> list[Row]:
    rows = tx.fetchall(
        f"{_ROW} WHERE o.organization_id = :org AND o.cycle_id = :cycle AND o.archived = 0"
        " ORDER BY o.drafted_position, o.id",
        {"org": viewer.organization_id, "cycle": cycle_id},
    )
    return [row for row in rows if _visible(viewer, row)]


def get_objective(
    store: ViewStore, viewer: Viewer, objective_id: str, now: datetime
) -> dict[str, Any] | None:
    """The read shape; None when missing, in another organization, or not visible."""
    with store.transaction(commit=False) as tx:
        row = tx.fetchone(
            f"{_ROW} WHERE o.id = :id AND o.organization_id = :org",
            {"id": objective_id, "org": viewer.organization_id},
        )
        if row is None or not _visible(viewer, row):
            return None
        document = json.loads(row["doc"])
        dates = _cycle_dates(tx, viewer.organization_id, document["cycle_id"])
    if dates is None:
        return {**document, "expected_progress": 0.0}
    return with_pace(document, dates[0], dates[1], now)


def cycle_tree(
    store: ViewStore, viewer: Viewer, cycle_id: str, now: datetime, team_id: str | None = None
) -> dict[str, Any] | None:
    """Objectives nested by alignment (to an objective or to one of its KRs).

    With ``team_id``: the subtrees rooted at that team's objectives. An
    objective whose parent is hidden (archived, private) becomes a root.
    """
    with store.transaction(commit=False) as tx:
        dates = _cycle_dates(tx, viewer.organization_id, cycle_id)
        if dates is None:
            return None
        rows = _cycle_rows(tx, viewer, cycle_id)
    pace = expected_progress(dates[0], dates[1], now)
    nodes: dict[str, dict[str, Any]] = {}
    for row in rows:
        node = json.loads(row["doc"])
        node["expected_progress"] = pace
        node["children"] = []
        nodes[row["id"]] = node
    roots: list[dict[str, Any]] = []
    for row in rows:
        parent = nodes.get(row["parent_id"]) if row["parent_id"] else None
        (parent["children"] if parent is not None else roots).append(nodes[row["id"]])
    if team_id is not None:
        roots = [
            nodes[row["id"]]
            for row in rows
            if row["owner_team_id"] == team_id
            and not (
                row["parent_id"] in nodes and nodes[row["parent_id"]]["owner_team_id"] == team_id
            )
        ]
    return {"cycle_id": cycle_id, "objectives": roots}


def progress_history(store: ViewStore, objective_id: str) -> list[dict[str, Any]]:
    with store.transaction(commit=False) as tx:
        rows = tx.fetchall(
            "SELECT at, key_result_id, progress, cause FROM okr_progress_points"
            " WHERE objective_id = :id ORDER BY position, ordinal",
            {"id": objective_id},
        )
    return [
        {
            "at": row["at"],
            "key_result_id": row["key_result_id"] or None,
            "progress": row["progress"],
            "cause": json.loads(row["cause"]),
        }
        for row in rows
    ]


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
        rows = [
            row
            for row in _cycle_rows(tx, viewer, cycle_id)
            if team_id is None or row["owner_team_id"] == team_id
        ]
        key_results = tx.fetchall(
            "SELECT id, objective_id, last_check_in_at FROM okr_key_results"
            " WHERE organization_id = :org AND cycle_id = :cycle",
            {"org": viewer.organization_id, "cycle": cycle_id},
        )
    ids = {row["id"] for row in rows}
    cutoff = now - STALE_AFTER
    stale = [
        {
            "objective_id": kr["objective_id"],
            "key_result_id": kr["id"],
            "last_check_in_at": kr["last_check_in_at"],
        }
        for kr in key_results
        if kr["objective_id"] in ids
        and (
            kr["last_check_in_at"] is None
            or datetime.fromisoformat(kr["last_check_in_at"]) < cutoff
        )
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
