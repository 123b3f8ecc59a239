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

import json
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.application import Application

from domain.objective import Objective
from domain.progress import aligned_progress
from domain.values import ProgressMode
from projections.objective_document import objective_document
from projections.readmodel import ReadModel
from projections.store import Row, Tx

CACHE_SIZE = 2_000
OBJECTIVE = ""  # key_result_id of an objective-level progress point

# What moved progress, by event class name.
CAUSES: dict[str, str] = {
    "Drafted": "drafted",
    "KeyResultAdded": "key_result_added",
    "KeyResultEdited": "key_result_edited",
    "KeyResultArchived": "key_result_archived",
    "WeightsChanged": "weight_change",
    "CheckedIn": "check_in",
    "IssueLinked": "issue_linked",
    "IssueUnlinked": "issue_unlinked",
    "IssueStatusChanged": "issue_event",
    "Realigned": "realigned",
    "Archived": "archived",
}


class ObjectivesView(ReadModel):
    name: ClassVar[str] = "objectives"
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
        self._cache: OrderedDict[UUID, Objective] = OrderedDict()

    def attach(self, app: Any) -> None:
        self._app = app

    def reset(self) -> None:
        self._cache.clear()

    # ------------------------------------------------------------ aggregates

    def _aggregate(self, tx: Tx, objective_id: UUID, version: int) -> Objective:
        """The objective at ``version``: from the cache, else from the event store."""
        cached = self._cache.get(objective_id)
        if cached is not None and cached.version == version:
            self._cache.move_to_end(objective_id)
            return cached
        assert self._app is not None, "attach() the application first"
        objective = self._app.repository.get(objective_id, version=version)
        assert isinstance(objective, Objective)
        self._remember(objective)
        return objective

    def _remember(self, objective: Objective) -> None:
        self._cache[objective.id] = objective
        self._cache.move_to_end(objective.id)
        while len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)

    # ------------------------------------------------------------ applying

    def apply(self, tx: Tx, event: Any, position: int) -> None:
        if not isinstance(event, Objective.Event):
            return
        objective_id = event.originator_id
        version = event.originator_version
        if version == 1:
            objective: Objective = event.mutate(None)
            before: Row | None = None
        else:
            before = self._row(tx, objective_id)
            objective = self._aggregate(tx, objective_id, version - 1)
            event.mutate(objective)
        self._remember(objective)
        cause = {"type": CAUSES.get(type(event).__name__, type(event).__name__)}
        if hasattr(event, "event_id"):
            cause["event_id"] = event.event_id
        if hasattr(event, "actor"):
            cause["actor"] = event.actor
        points = _Points(position, event.timestamp.isoformat())
        self._write(tx, objective, before, cause, points)
        # A move of this objective moves the aligned KRs it hangs from, and up.
        parents = {self._parent_kr(before), self._parent_kr_of(objective)} - {None}
        if before is None or _differs(before, objective, self._row(tx, objective_id)):
            for kr_id in sorted(p for p in parents if p is not None):
                self._roll_up(tx, kr_id, str(objective_id), points, set())
        points.flush(tx)

    def _write(
        self,
        tx: Tx,
        objective: Objective,
        before: Row | None,
        cause: Mapping[str, Any],
        points: _Points,
    ) -> dict[str, Any]:
        document = objective_document(objective, self._aligned_values(tx, objective))
        old_doc = json.loads(before["doc"]) if before else None
        old_krs = {kr["id"]: kr["progress"] for kr in old_doc["key_results"]} if old_doc else {}
        for kr in document["key_results"]:
            if old_krs.get(kr["id"]) != kr["progress"]:
                points.add(str(objective.id), kr["id"], kr["progress"], cause)
        if old_doc is None or old_doc["progress"] != document["progress"]:
            points.add(str(objective.id), OBJECTIVE, document["progress"], cause)
        self._upsert(tx, objective, document, points.at, points.position)
        return document

    def _aligned_values(self, tx: Tx, objective: Objective) -> dict[str, float]:
        """Each ``aligned`` KR: mean progress of the live objectives aligned to it."""
        values: dict[str, float] = {}
        for kr in objective.active_key_results():
            if kr.mode != ProgressMode.ALIGNED:
                continue
            rows = tx.fetchall(
                "SELECT progress FROM okr_objectives WHERE aligned_kr_id = :kr AND archived = 0",
                {"kr": kr.id},
            )
            values[kr.id] = aligned_progress(row["progress"] for row in rows)
        return values

    def _roll_up(self, tx: Tx, kr_id: str, child_id: str, points: _Points, seen: set[str]) -> None:
        """A child's progress moved: recompute the objective owning ``kr_id``, then up."""
        owner = tx.fetchone(
            "SELECT objective_id FROM okr_key_results WHERE id = :kr", {"kr": kr_id}
        )
        if owner is None or owner["objective_id"] in seen:
            return
        parent_id = owner["objective_id"]
        seen.add(parent_id)
        before = self._row(tx, UUID(parent_id))
        if before is None:
            return
        parent = self._aggregate(tx, UUID(parent_id), before["version"])
        cause = {"type": "child_progress", "child_objective_id": child_id}
        document = self._write(tx, parent, before, cause, points)
        if document["progress"] != before["progress"]:
            grand = self._parent_kr_of(parent)
            if grand is not None:
                self._roll_up(tx, grand, parent_id, points, seen)

    @staticmethod
    def _parent_kr(row: Row | None) -> str | None:
        return None if row is None else row["aligned_kr_id"]

    @staticmethod
    def _parent_kr_of(objective: Objective) -> str | None:
        kr = objective.aligned_to_key_result_id
        return None if kr is None else str(kr)

    @staticmethod
    def _row(tx: Tx, objective_id: UUID) -> Row | None:
        return tx.fetchone(
            "SELECT id, aligned_kr_id, progress, archived, version, doc FROM okr_objectives"
            " WHERE id = :id",
            {"id": str(objective_id)},
        )

    def _upsert(
        self, tx: Tx, objective: Objective, document: dict[str, Any], at: str, position: int
    ) -> None:
        """``position`` is kept only from the first write: the drafting order."""
        contributors = sorted(objective.contributors())
        retrospective = document.get("retrospective")
        tx.execute(
            "INSERT INTO okr_objectives (id, organization_id, cycle_id, parent_id, aligned_kr_id,"
            " level, owner_team_id, owner_user_id, visibility, contributors, archived, progress,"
            " status, achievement_rate, version, doc, drafted_position, updated_at) VALUES (:id,"
            " :org, :cycle, :parent, :kr, :level, :team, :user, :visibility, :contributors,"
            " :archived, :progress, :status, :rate, :version, :doc, :position, :at)"
            " ON CONFLICT (id) DO UPDATE SET parent_id = excluded.parent_id,"
            " aligned_kr_id = excluded.aligned_kr_id, visibility = excluded.visibility,"
            " contributors = excluded.contributors, archived = excluded.archived,"
            " progress = excluded.progress, status = excluded.status,"
            " achievement_rate = excluded.achievement_rate, version = excluded.version,"
            " doc = excluded.doc, updated_at = excluded.updated_at",
            {
                "id": str(objective.id),
                "org": objective.organization_id,
                "cycle": str(objective.cycle_id),
                "parent": None if objective.parent_id is None else str(objective.parent_id),
                "kr": self._parent_kr_of(objective),
                "level": objective.level,
                "team": document["owner_team_id"],
                "user": objective.owner_user_id,
                "visibility": objective.visibility,
                "contributors": json.dumps(contributors),
                "archived": int(objective.archived),
                "progress": document["progress"],
                "status": document["status"],
                "rate": retrospective["achievement_rate"] if retrospective else None,
                "version": objective.version,
                "doc": json.dumps(document, separators=(",", ":")),
                "position": position,
                "at": at,
            },
        )
        tx.execute(
            "DELETE FROM okr_key_results WHERE objective_id = :id", {"id": str(objective.id)}
        )
        if not objective.archived:
            tx.executemany(
                "INSERT INTO okr_key_results (id, objective_id, organization_id, cycle_id,"
                " owner_team_id, mode, progress, last_check_in_at) VALUES (:id, :objective,"
                " :org, :cycle, :team, :mode, :progress, :last)",
                [
                    {
                        "id": kr["id"],
                        "objective": str(objective.id),
                        "org": objective.organization_id,
                        "cycle": str(objective.cycle_id),
                        "team": document["owner_team_id"],
                        "mode": kr["mode"],
                        "progress": kr["progress"],
                        "last": kr["last_check_in_at"],
                    }
                    for kr in document["key_results"]
                ],
            )


def _differs(before: Row, objective: Objective, after: Row | None) -> bool:
    """Did anything a parent's aligned KR depends on change?"""
    if after is None:
        return True
    return (
        before["progress"] != after["progress"]
        or bool(before["archived"]) != objective.archived
        or before["aligned_kr_id"] != after["aligned_kr_id"]
    )


class _Points:
    """Progress points of one event, numbered so their order survives in the table."""

    def __init__(self, position: int, at: str) -> None:
        self.position = position
        self.at = at
        self.rows: list[dict[str, Any]] = []

    def add(
        self, objective_id: str, key_result_id: str, progress: float, cause: Mapping[str, Any]
    ) -> None:
        self.rows.append(
            {
                "position": self.position,
                "ordinal": len(self.rows),
                "objective": objective_id,
                "kr": key_result_id,
                "at": self.at,
                "progress": progress,
                "cause": json.dumps(dict(cause), separators=(",", ":")),
            }
        )

    def flush(self, tx: Tx) -> None:
        tx.executemany(
            "INSERT INTO okr_progress_points (position, ordinal, objective_id, key_result_id, at,"
            " progress, cause) VALUES (:position, :ordinal, :objective, :kr, :at, :progress,"
            " :cause)",
            self.rows,
        )
        self.rows = []


def iter_documents(rows: Iterable[Row]) -> Iterable[dict[str, Any]]:
    for row in rows:
        yield json.loads(row["doc"])
