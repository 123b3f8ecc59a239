"""What an objective's state says: its people, its key results' and its own progress.

Pure readings of the state the events built (no events, no rules of change),
shared by the write side, the tree projection, time travel and the audit trail,
so every reader computes progress with the same formulas (``domain/progress.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from domain.errors import Conflict, NotFound
from domain.key_result import KeyResult
from domain.progress import achievement_rate, objective_progress, objective_status


class ObjectiveReadings:
    """Mixed into ``Objective``; the attributes are set by its events."""

    key_results: dict[str, KeyResult]
    retrospective: dict[str, Any] | None
    aligned_to_objective_id: UUID | None
    aligned_parent_id: UUID | None
    archived: bool

    def _require_active(self) -> None:
        if self.archived:
            raise Conflict("the objective is archived")

    def _active_key_result(self, key_result_id: UUID | str) -> KeyResult:
        kr = self.key_result(key_result_id)
        if kr.archived:
            raise Conflict(f"key result {key_result_id} is archived")
        return kr

    def key_result(self, key_result_id: UUID | str) -> KeyResult:
        kr = self.key_results.get(str(key_result_id))
        if kr is None:
            raise NotFound(f"key result {key_result_id} not found")
        return kr

    @property
    def parent_id(self) -> UUID | None:
        """The objective above this one in the tree, through an objective or a KR."""
        return self.aligned_to_objective_id or self.aligned_parent_id

    def contributors(self) -> set[str]:
        """Assignees and participants of its key results: they see it even when private."""
        people: set[str] = set()
        for kr in self.key_results.values():
            if kr.assignee_id:
                people.add(kr.assignee_id)
            people.update(kr.participant_ids)
        return people

    def active_key_results(self) -> list[KeyResult]:
        return [kr for kr in self.key_results.values() if not kr.archived]

    def progress(self, aligned: Mapping[str, float] | None = None) -> float:
        """``aligned`` maps an aligned KR's id to the mean progress of its children."""
        return self.progress_of(self.key_result_progress(aligned))

    def key_result_progress(self, aligned: Mapping[str, float] | None = None) -> dict[str, float]:
        """Progress of each live KR, by id."""
        aligned = aligned or {}
        return {kr.id: kr.progress(aligned.get(kr.id)) for kr in self.active_key_results()}

    def progress_of(self, key_result_progress: Mapping[str, float]) -> float:
        """Objective progress from its live KRs' progress (computed once, used twice)."""
        return objective_progress(
            [(kr.weight, key_result_progress[kr.id]) for kr in self.active_key_results()]
        )

    def status(self) -> str:
        return objective_status(
            [kr.status if kr.checked_in else None for kr in self.active_key_results()]
        ).value

    def achievement_rate(self, aligned: Mapping[str, float] | None = None) -> float | None:
        """None until a retrospective exists; a KR without a score scores its progress."""
        if self.retrospective is None:
            return None
        aligned = aligned or {}
        scores = self.retrospective["scores"]
        return achievement_rate(
            [
                (kr.weight, scores.get(kr.id, kr.progress(aligned.get(kr.id))))
                for kr in self.active_key_results()
            ]
        )
