"""The read shape of an objective (SPEC §7), built in one place.

The tree projection stores this document per objective, and time travel
builds it from a rebuilt aggregate, so both answer the same shape with the
same formulas. ``expected_progress`` depends on the time of reading and is
added by ``with_pace`` at read time.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from domain.key_result import KeyResult
from domain.objective import Objective
from domain.progress import expected_progress


def _uuid(value: Any) -> str | None:
    return None if value is None else str(value)


def key_result_document(kr: KeyResult, aligned: float | None) -> dict[str, Any]:
    return {
        "id": kr.id,
        "title": kr.title,
        "mode": kr.mode,
        "weight": kr.weight,
        "progress": kr.progress(aligned),
        "status": kr.status if kr.checked_in else None,
        "confidence": kr.confidence,
        "start": kr.start,
        "target": kr.target,
        "current": kr.current,
        "unit": kr.unit,
        "milestones": [{"title": m["title"], "done": bool(m["done"])} for m in kr.milestones],
        "issues": [
            {
                "tracker": i["tracker"],
                "issue_key": i["issue_key"],
                "status": i["status"],
                "estimate": i["estimate"],
            }
            for i in kr.issues.values()
        ],
        "assignee_id": kr.assignee_id,
        "participant_ids": list(kr.participant_ids),
        "last_check_in_at": kr.last_check_in_at,
    }


def objective_document(
    objective: Objective, aligned: Mapping[str, float] | None = None
) -> dict[str, Any]:
    """``aligned`` maps each ``aligned``-mode KR id to its children's mean progress."""
    aligned = aligned or {}
    document: dict[str, Any] = {
        "id": str(objective.id),
        "cycle_id": str(objective.cycle_id),
        "title": objective.title,
        "description": objective.description,
        "level": objective.level,
        "owner_team_id": _uuid(objective.owner_team_id),
        "owner_user_id": objective.owner_user_id,
        "visibility": objective.visibility,
        "aligned_to_objective_id": _uuid(objective.aligned_to_objective_id),
        "aligned_to_key_result_id": _uuid(objective.aligned_to_key_result_id),
        "archived": objective.archived,
        "progress": objective.progress(aligned),
        "status": objective.status(),
        "version": objective.version,
        "key_results": [
            key_result_document(kr, aligned.get(kr.id)) for kr in objective.active_key_results()
        ],
    }
    if objective.retrospective is not None:
        document["retrospective"] = {
            **objective.retrospective,
            "scores": dict(objective.retrospective["scores"]),
            "achievement_rate": objective.achievement_rate(aligned),
        }
    return document


def with_pace(document: dict[str, Any], start: date, end: date, at: datetime) -> dict[str, Any]:
    """Add ``expected_progress`` for the moment of reading (or of time travel)."""
    return {**document, "expected_progress": expected_progress(start, end, at)}
