"""The rows of one batch of the objectives projection, in memory until written once.

``ObjectiveBatch`` answers the projection's reads (an objective's row, the
children of an aligned KR, the owner of a KR) from memory first and from the
tables second, and ``flush`` writes every changed row, its KR rows and the
batch's progress points in a few statements.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from domain.alignment import counts_for_aligned_key_result
from domain.objective import Objective
from projections.objective_document import objective_document
from projections.store import Row, Tx

AlignedValues = Callable[[Tx, Objective], Mapping[str, float]]
"""Each aligned KR of an objective: the mean progress of its live children."""


class ObjectiveBatch:
    """Rows of one batch of events, kept in memory and written once by ``flush``.

    Reads go to memory first and fall back to the tables, which hold the state
    as of the previous batch; so within a batch every event sees the effects
    of the ones before it, exactly as if each had been written at once.
    """

    def __init__(self) -> None:
        self.rows: dict[str, Row] = {}  # objective id → row (loaded or changed)
        self.aggregates: dict[str, Objective] = {}  # changed objectives, at their row version
        self.dirty: set[str] = set()
        self.by_kr: dict[str, set[str]] = {}  # aligned KR → ids of rows in memory under it
        self.kr_owner: dict[str, str] = {}  # live KR → objective, for rows in memory
        self.children_in_tables: dict[str, list[Row]] = {}
        self.points: list[dict[str, Any]] = []
        self.ordinals: dict[int, int] = {}

    def row(self, tx: Tx, objective_id: str) -> Row | None:
        if objective_id in self.rows:
            return self.rows[objective_id]
        found = tx.fetchone(
            "SELECT id, aligned_kr_id, progress, archived, version, doc, drafted_position,"
            " updated_at FROM okr_objectives WHERE id = :id",
            {"id": objective_id},
        )
        if found is None:
            return None
        document = json.loads(found.pop("doc"))
        found["kr_progress"] = {kr["id"]: kr["progress"] for kr in document["key_results"]}
        self._index(found)
        return found

    def keep(self, objective: Objective, row: Row) -> None:
        old = self.rows.get(row["id"])
        if old is not None:
            for kr_id in old["kr_progress"]:
                if self.kr_owner.get(kr_id) == row["id"]:
                    del self.kr_owner[kr_id]
        self._index(row)
        self.aggregates[row["id"]] = objective
        self.dirty.add(row["id"])

    def _index(self, row: Row) -> None:
        # An archived objective still follows its children (its aligned KRs keep
        # their meaning for audit and time travel), so its KRs stay owned.
        self.rows[row["id"]] = row
        if row["aligned_kr_id"] is not None:
            self.by_kr.setdefault(row["aligned_kr_id"], set()).add(row["id"])
        for kr_id in row["kr_progress"]:
            self.kr_owner[kr_id] = row["id"]

    def children_progress(self, tx: Tx, kr_id: str) -> list[float]:
        """Progress of the live objectives aligned to ``kr_id``: memory over tables."""
        if kr_id not in self.children_in_tables:
            self.children_in_tables[kr_id] = tx.fetchall(
                "SELECT id, progress, aligned_kr_id, archived FROM okr_objectives"
                " WHERE aligned_kr_id = :kr",
                {"kr": kr_id},
            )
        # Which children count is the domain's rule; memory knows better than the
        # tables for a row it holds (moved, archived, progressed in this batch).
        values = {
            r["id"]: r["progress"]
            for r in self.children_in_tables[kr_id]
            if r["id"] not in self.rows
            and counts_for_aligned_key_result(kr_id, r["aligned_kr_id"], bool(r["archived"]))
        }
        for child_id in self.by_kr.get(kr_id, ()):
            child = self.rows[child_id]
            if counts_for_aligned_key_result(
                kr_id, child["aligned_kr_id"], bool(child["archived"])
            ):
                values[child_id] = child["progress"]
        return [values[k] for k in sorted(values)]

    def owner_of(self, tx: Tx, kr_id: str) -> str | None:
        """The objective owning a live KR (None: the KR is archived)."""
        if kr_id in self.kr_owner:
            return self.kr_owner[kr_id]
        found = tx.fetchone(
            "SELECT objective_id FROM okr_key_results WHERE id = :kr", {"kr": kr_id}
        )
        if found is None or found["objective_id"] in self.rows:
            return None  # a row in memory would have said so if the KR were live
        owner: str = found["objective_id"]
        return owner

    def point(
        self,
        position: int,
        objective_id: str,
        key_result_id: str,
        progress: float,
        cause: Mapping[str, Any],
        at: str,
    ) -> None:
        ordinal = self.ordinals.get(position, 0)
        self.ordinals[position] = ordinal + 1
        self.points.append(
            {
                "position": position,
                "ordinal": ordinal,
                "objective_id": objective_id,
                "key_result_id": key_result_id,
                "at": at,
                "progress": progress,
                "cause": json.dumps(dict(cause), separators=(",", ":")),
            }
        )

    def flush(self, tx: Tx, aligned_values: AlignedValues) -> None:
        """Write every changed row once, its KR rows, and the batch's progress points."""
        rows: list[Row] = []
        key_results: list[Row] = []
        for objective_id in sorted(self.dirty):
            objective = self.aggregates[objective_id]
            row = self.rows[objective_id]
            document = objective_document(objective, aligned_values(tx, objective))
            retrospective = document.get("retrospective")
            rows.append(
                {
                    "id": objective_id,
                    "org": objective.organization_id,
                    "cycle": str(objective.cycle_id),
                    "parent": None if objective.parent_id is None else str(objective.parent_id),
                    "kr": row["aligned_kr_id"],
                    "level": objective.level,
                    "team": document["owner_team_id"],
                    "user": objective.owner_user_id,
                    "visibility": objective.visibility,
                    "contributors": json.dumps(sorted(objective.contributors())),
                    "archived": int(objective.archived),
                    "progress": document["progress"],
                    "status": document["status"],
                    "rate": retrospective["achievement_rate"] if retrospective else None,
                    "version": objective.version,
                    "doc": json.dumps(document, separators=(",", ":")),
                    "position": row["drafted_position"],
                    "at": row["updated_at"],
                }
            )
            # Archived objectives keep their KR rows: they still own their children.
            key_results.extend(
                {
                    "id": kr["id"],
                    "objective_id": objective_id,
                    "organization_id": objective.organization_id,
                    "cycle_id": str(objective.cycle_id),
                    "owner_team_id": document["owner_team_id"],
                    "mode": kr["mode"],
                    "progress": kr["progress"],
                    "last_check_in_at": kr["last_check_in_at"],
                }
                for kr in document["key_results"]
            )
        tx.executemany(UPSERT_OBJECTIVE, rows)
        tx.executemany(
            "DELETE FROM okr_key_results WHERE objective_id = :id",
            [{"id": objective_id} for objective_id in sorted(self.dirty)],
        )
        tx.insert_rows("okr_key_results", KEY_RESULT_COLUMNS, key_results)
        tx.insert_rows("okr_progress_points", POINT_COLUMNS, self.points)


UPSERT_OBJECTIVE = (
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
    " doc = excluded.doc, updated_at = excluded.updated_at"
)
KEY_RESULT_COLUMNS = (
    "id",
    "objective_id",
    "organization_id",
    "cycle_id",
    "owner_team_id",
    "mode",
    "progress",
    "last_check_in_at",
)
POINT_COLUMNS = (
    "position",
    "ordinal",
    "objective_id",
    "key_result_id",
    "at",
    "progress",
    "cause",
)
