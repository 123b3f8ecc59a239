"""Read model of cycles: one row per cycle with its dates, cadence and phase."""

from __future__ import annotations

from typing import Any, ClassVar

from domain.cycle import Cycle
from domain.values import Phase
from projections.readmodel import ReadModel
from projections.store import Row, Tx, ViewStore


class CyclesView(ReadModel):
    name: ClassVar[str] = "cycles"
    version: ClassVar[int] = 1
    ddl: ClassVar[tuple[str, ...]] = (
        "CREATE TABLE IF NOT EXISTS okr_cycles ("
        " id TEXT PRIMARY KEY,"
        " organization_id TEXT NOT NULL,"
        " name TEXT NOT NULL,"
        " start_date TEXT NOT NULL,"
        " end_date TEXT NOT NULL,"
        " cadence TEXT NOT NULL,"
        " phase TEXT NOT NULL,"
        " version INTEGER NOT NULL,"
        " created_at TEXT NOT NULL,"
        " updated_at TEXT NOT NULL)",
        "CREATE INDEX IF NOT EXISTS okr_cycles_org ON okr_cycles (organization_id, start_date)",
    )

    def apply(self, tx: Tx, event: Any, position: int) -> None:
        match event:
            case Cycle.Planned():
                tx.execute(
                    "INSERT INTO okr_cycles (id, organization_id, name, start_date, end_date,"
                    " cadence, phase, version, created_at, updated_at) VALUES (:id, :org, :name,"
                    " :start, :end, :cadence, :phase, :version, :at, :at)"
                    " ON CONFLICT (id) DO NOTHING",
                    {
                        "id": str(event.originator_id),
                        "org": event.organization_id,
                        "name": event.name,
                        "start": str(event.start_date),
                        "end": str(event.end_date),
                        "cadence": str(event.cadence),
                        "phase": Phase.first().value,
                        "version": event.originator_version,
                        "at": event.timestamp.isoformat(),
                    },
                )
            case Cycle.PhaseAdvanced():
                tx.execute(
                    "UPDATE okr_cycles SET phase = :phase, version = :version, updated_at = :at"
                    " WHERE id = :id",
                    {
                        "id": str(event.originator_id),
                        "phase": str(event.phase),
                        "version": event.originator_version,
                        "at": event.timestamp.isoformat(),
                    },
                )


_COLUMNS = "id, organization_id, name, start_date, end_date, cadence, phase, version"


def get_cycle(store: ViewStore, organization_id: str, cycle_id: str) -> Row | None:
    with store.transaction(commit=False) as tx:
        return tx.fetchone(
            f"SELECT {_COLUMNS} FROM okr_cycles WHERE id = :id AND organization_id = :org",
            {"id": cycle_id, "org": organization_id},
        )


def cycles_page(
    store: ViewStore, organization_id: str, *, after: str | None, limit: int
) -> tuple[list[Row], str | None] | None:
    """One page of the organization's cycles by start date, name, id (keyset after the
    cycle ``after``), and the id to resume after (None: the end). None if ``after``
    is no cycle of this organization."""
    keyset = ""
    params: dict[str, object] = {"org": organization_id, "limit": limit + 1, "after": after}
    with store.transaction(commit=False) as tx:
        if after is not None:
            last = tx.fetchone(
                "SELECT start_date, name, id FROM okr_cycles WHERE id = :after"
                " AND organization_id = :org",
                params,
            )
            if last is None:
                return None
            params.update(start=last["start_date"], name=last["name"])
            keyset = " AND (start_date, name, id) > (:start, :name, :after)"
        rows = tx.fetchall(
            f"SELECT {_COLUMNS} FROM okr_cycles WHERE organization_id = :org{keyset}"
            " ORDER BY start_date, name, id LIMIT :limit",
            params,
        )
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1]["id"] if more else None)


def list_cycles(store: ViewStore, organization_id: str) -> list[Row]:
    with store.transaction(commit=False) as tx:
        return tx.fetchall(
            f"SELECT {_COLUMNS} FROM okr_cycles WHERE organization_id = :org"
            " ORDER BY start_date, name, id",
            {"org": organization_id},
        )
