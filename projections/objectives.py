"""Read model of objectives: the OKR tree, progress history and KR check-in dates.

One projection keeps three tables because progress history is a by-product
of computing the tree: when a check-in moves a KR, the objective's progress,
and through ``aligned`` KRs every ancestor's, move with it, and each of those
moves is a point in the history with its cause. Computing that twice in two
projections would be two copies of the roll-up.

Rows hold the document of ``objective_document`` (the API's read shape), so
a read is one query; the aggregate is rebuilt from the event store at the
version being applied (with a bounded in-memory cache), so the numbers come
from the same formulas as the write side and time travel.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar
from uuid import UUID

from cachetools import LRUCache
from eventsourcing.application import Application

from domain.objective import Objective
from domain.progress import aligned_progress
from domain.values import ProgressMode
from projections.objective_batch import ObjectiveBatch
from projections.progress_causes import CHILD_PROGRESS, ONE_KR_EVENTS, cause_of
from projections.readmodel import ReadModel
from projections.store import Row, Tx

CACHE_SIZE = 2_000
OBJECTIVE = ""  # key_result_id of an objective-level progress point


class ObjectivesView(ReadModel):
    name: ClassVar[str] = "objectives"
    version: ClassVar[int] = 1
    ddl: ClassVar[tuple[str, ...]] = (
        "CREATE TABLE IF NOT EXISTS okr_objectives ("
        " id TEXT PRIMARY KEY,"
        " organization_id TEXT NOT NULL,"
        " cycle_id TEXT NOT NULL,"
        " parent_id TEXT,"
        " aligned_kr_id TEXT,"
        " level TEXT NOT NULL,"
        " owner_team_id TEXT,"
        " owner_user_id TEXT,"
        " visibility TEXT NOT NULL,"
        " contributors TEXT NOT NULL,"
        " archived INTEGER NOT NULL,"
        " progress DOUBLE PRECISION NOT NULL,"
        " status TEXT NOT NULL,"
        " achievement_rate DOUBLE PRECISION,"
        " version INTEGER NOT NULL,"
        " doc TEXT NOT NULL,"
        " drafted_position BIGINT NOT NULL,"
        " updated_at TEXT NOT NULL)",
        "CREATE INDEX IF NOT EXISTS okr_objectives_cycle"
        " ON okr_objectives (organization_id, cycle_id)",
        "CREATE INDEX IF NOT EXISTS okr_objectives_aligned_kr ON okr_objectives (aligned_kr_id)",
        "CREATE INDEX IF NOT EXISTS okr_objectives_team"
        " ON okr_objectives (organization_id, cycle_id, owner_team_id)",
        "CREATE TABLE IF NOT EXISTS okr_key_results ("
        " id TEXT PRIMARY KEY,"
        " objective_id TEXT NOT NULL,"
        " organization_id TEXT NOT NULL,"
        " cycle_id TEXT NOT NULL,"
        " owner_team_id TEXT,"
        " mode TEXT NOT NULL,"
        " progress DOUBLE PRECISION NOT NULL,"
        " last_check_in_at TEXT)",
        "CREATE INDEX IF NOT EXISTS okr_key_results_objective ON okr_key_results (objective_id)",
        "CREATE INDEX IF NOT EXISTS okr_key_results_cycle"
        " ON okr_key_results (organization_id, cycle_id)",
        "CREATE INDEX IF NOT EXISTS okr_key_results_team"
        " ON okr_key_results (organization_id, cycle_id, owner_team_id)",
        "CREATE TABLE IF NOT EXISTS okr_progress_points ("
        " position BIGINT NOT NULL,"
        " ordinal INTEGER NOT NULL,"
        " objective_id TEXT NOT NULL,"
        " key_result_id TEXT NOT NULL,"
        " at TEXT NOT NULL,"
        " progress DOUBLE PRECISION NOT NULL,"
        " cause TEXT NOT NULL,"
        " PRIMARY KEY (position, ordinal))",
        "CREATE INDEX IF NOT EXISTS okr_progress_points_objective"
        " ON okr_progress_points (objective_id, position, ordinal)",
    )

    def __init__(self) -> None:
        self._app: Application[UUID] | None = None
        # The objectives last applied, at their version: most events follow one of
        # the same objective, whose state is then not read back from the store.
        self._cache: LRUCache[UUID, Objective] = LRUCache(maxsize=CACHE_SIZE)
        self._batch = ObjectiveBatch()

    def attach(self, app: Any) -> None:
        self._app = app

    def reset(self) -> None:
        self._cache.clear()
        self._batch = ObjectiveBatch()

    # ------------------------------------------------------------ aggregates

    def _aggregate(self, objective_id: UUID, version: int) -> Objective:
        """The objective at ``version``: from the batch or cache, else the event store."""
        held = self._batch.aggregates.get(str(objective_id))
        if held is not None and held.version == version:
            return held
        cached = self._cache.get(objective_id)  # a hit counts as the latest use
        if cached is not None and cached.version == version:
            return cached
        assert self._app is not None, "attach() the application first"
        objective: object = self._app.repository.get(objective_id, version=version)
        assert isinstance(objective, Objective)
        self._remember(objective)
        return objective

    def _remember(self, objective: Objective) -> None:
        self._cache[objective.id] = objective

    # ------------------------------------------------------------ applying

    def apply(self, tx: Tx, event: Any, position: int) -> None:
        """Change the batch's rows in memory; ``flush`` writes them once per batch."""
        if not isinstance(event, Objective.Event):
            return
        batch = self._batch
        objective_id = str(event.originator_id)
        version = event.originator_version
        before = batch.row(tx, objective_id)
        if version == 1:
            objective = event.mutate(None)
        else:
            objective = self._aggregate(event.originator_id, version - 1)
            event.mutate(objective)
        assert isinstance(objective, Objective)
        self._remember(objective)
        cause = cause_of(event)
        at = event.timestamp.isoformat()
        touched = str(event.key_result_id) if isinstance(event, ONE_KR_EVENTS) else None
        after = self._write(tx, objective, before, cause, position, at, touched)
        # A move of this objective moves the aligned KRs it hangs from, and up.
        if before is None or _differs(before, after):
            parents = {before["aligned_kr_id"] if before else None, after["aligned_kr_id"]}
            kr_ids = sorted(p for p in parents if p is not None)
            for kr_id in kr_ids:
                # Moved between two KRs (maybe of one parent): recompute each parent
                # whole, so it records one step, never a half-moved one.
                self._roll_up(tx, kr_id, objective_id, position, at, set(), len(kr_ids) == 1)

    def flush(self, tx: Tx) -> None:
        self._batch.flush(tx, self._aligned_values)
        self._batch = ObjectiveBatch()

    def _write(
        self,
        tx: Tx,
        objective: Objective,
        before: Row | None,
        cause: Mapping[str, Any],
        position: int,
        at: str,
        touched: str | None = None,
    ) -> Row:
        """Recompute the objective's numbers, record what moved, keep the row in the batch.

        ``touched``: the one KR the event changed; the others keep their
        progress from the row before (half the events are of this kind).
        """
        kr_progress = self._only_touched(tx, objective, before, touched)
        if kr_progress is None:
            kr_progress = objective.key_result_progress(self._aligned_values(tx, objective))
        progress = objective.progress_of(kr_progress)
        old_krs = before["kr_progress"] if before else {}
        objective_id = str(objective.id)
        for kr_id, value in kr_progress.items():
            if old_krs.get(kr_id) != value:
                self._batch.point(position, objective_id, kr_id, value, cause, at)
        if before is None or before["progress"] != progress:
            self._batch.point(position, objective_id, OBJECTIVE, progress, cause, at)
        after: Row = {
            "id": objective_id,
            "aligned_kr_id": self._parent_kr_of(objective),
            "archived": int(objective.archived),
            "progress": progress,
            "kr_progress": kr_progress,
            "version": objective.version,
            "drafted_position": before["drafted_position"] if before else position,
            "updated_at": at,
        }
        self._batch.keep(objective, after)
        return after

    def _only_touched(
        self, tx: Tx, objective: Objective, before: Row | None, touched: str | None
    ) -> dict[str, float] | None:
        """Every live KR's progress with only ``touched`` recomputed; None: compute them all."""
        if touched is None or before is None:
            return None
        kr = objective.key_results.get(touched)
        if kr is None or kr.archived:
            return None
        old: Mapping[str, float] = before["kr_progress"]
        progress: dict[str, float] = {}
        for live in objective.active_key_results():
            if live.id == touched:
                aligned = (
                    aligned_progress(self._batch.children_progress(tx, kr.id))
                    if kr.mode == ProgressMode.ALIGNED
                    else None
                )
                progress[live.id] = kr.progress(aligned)
            elif live.id in old:
                progress[live.id] = old[live.id]
            else:
                return None
        return progress

    def _aligned_values(self, tx: Tx, objective: Objective) -> dict[str, float]:
        """Each ``aligned`` KR: mean progress of the live objectives aligned to it."""
        return {
            kr.id: aligned_progress(self._batch.children_progress(tx, kr.id))
            for kr in objective.active_key_results()
            if kr.mode == ProgressMode.ALIGNED
        }

    def _roll_up(
        self,
        tx: Tx,
        kr_id: str,
        child_id: str,
        position: int,
        at: str,
        seen: set[str],
        only_kr: bool = True,
    ) -> None:
        """A child's progress moved: recompute the objective owning ``kr_id``, then up.

        ``only_kr``: ``kr_id`` is the parent's only KR that moved (else all are
        recomputed). A loop, not recursion: a chain stored before the depth limit
        (or imported) may be any length; ``seen`` ends the walk round a stored cycle.
        """
        step: tuple[str, str] | None = (kr_id, child_id)
        while step is not None:
            kr_id, child_id = step
            step = None
            parent_id = self._batch.owner_of(tx, kr_id)
            if parent_id is None or parent_id in seen:
                return
            seen.add(parent_id)
            before = self._batch.row(tx, parent_id)
            if before is None:
                return
            parent = self._aggregate(UUID(parent_id), before["version"])
            cause = {"type": CHILD_PROGRESS, "child_objective_id": child_id}
            after = self._write(tx, parent, before, cause, position, at, kr_id if only_kr else None)
            only_kr = True
            if after["progress"] != before["progress"] and after["aligned_kr_id"] is not None:
                step = (after["aligned_kr_id"], parent_id)

    @staticmethod
    def _parent_kr_of(objective: Objective) -> str | None:
        kr = objective.aligned_to_key_result_id
        return None if kr is None else str(kr)


def _differs(before: Row, after: Row) -> bool:
    """Did anything a parent's aligned KR depends on change?"""
    return (
        before["progress"] != after["progress"]
        or bool(before["archived"]) != bool(after["archived"])
        or before["aligned_kr_id"] != after["aligned_kr_id"]
    )
