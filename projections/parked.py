"""The parked events: poison events each holding back one organization in one read model.

A row names the read model's lane (its generation and share, e.g.
``objectives@g3#0/1``: the position it holds back), the organization held
back, the position of the first of its events that the model did not apply,
and why (SPEC §10). The follower that owns the lane writes and removes rows
(``projections.parking``); the command line only asks for a retry
(``retry_requested``) and health only reads, so the follower never races
another writer of its read-model rows.

An organization that cannot be known (the aggregate's first event does not
decode either) is held back as ``UNKNOWN_ORGANIZATION`` for that one aggregate
(``aggregate_id``), so no real organization stops with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from projections.store import Row, Tx, ViewStore

TABLE = "okr_parked_events"
UNKNOWN_ORGANIZATION = ""
"""No organization can be the empty string (tokens refuse it): the sentinel."""

DDL = (
    f"CREATE TABLE IF NOT EXISTS {TABLE} ("
    " lane TEXT NOT NULL,"
    " organization_id TEXT NOT NULL,"
    " aggregate_id TEXT NOT NULL,"
    " model TEXT NOT NULL,"
    " position BIGINT NOT NULL,"
    " topic TEXT NOT NULL,"
    " error TEXT NOT NULL,"
    " parked_at TEXT NOT NULL,"
    " retry_requested INTEGER NOT NULL,"
    " retried_at TEXT,"
    " PRIMARY KEY (lane, organization_id, aggregate_id))",
)
COLUMNS = (
    "lane",
    "organization_id",
    "aggregate_id",
    "model",
    "position",
    "topic",
    "error",
    "parked_at",
    "retry_requested",
    "retried_at",
)


@dataclass(frozen=True)
class ParkedEvent:
    """One organization held back in one lane, from ``position`` on."""

    lane: str
    organization_id: str
    aggregate_id: str
    model: str
    position: int
    topic: str
    error: str
    parked_at: str
    retry_requested: int = 0
    retried_at: str | None = None

    @property
    def key(self) -> tuple[str, str]:
        """What it holds back within its lane: an organization, or one aggregate of none."""
        return (self.organization_id, self.aggregate_id)

    @property
    def key_in_lane(self) -> tuple[str, str, str]:
        """The row's primary key."""
        return (self.lane, self.organization_id, self.aggregate_id)

    @property
    def organization(self) -> str:
        """The organization as a person reads it."""
        if self.organization_id == UNKNOWN_ORGANIZATION:
            return f"(unknown; aggregate {self.aggregate_id})"
        return self.organization_id

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @staticmethod
    def of_row(row: Row) -> ParkedEvent:
        return ParkedEvent(**{c: row[c] for c in COLUMNS})


def create_table(store: ViewStore) -> None:
    with store.transaction() as tx:
        for statement in DDL:
            tx.execute(statement)


def parked_events(store: ViewStore) -> list[ParkedEvent]:
    """Every parked event, by model, organization and position."""
    with store.transaction(commit=False) as tx:
        return read(tx)


def read(tx: Tx) -> list[ParkedEvent]:
    rows = tx.fetchall(
        f"SELECT {', '.join(COLUMNS)} FROM {TABLE} ORDER BY model, organization_id, position"
    )
    return [ParkedEvent.of_row(row) for row in rows]


def insert(tx: Tx, parked: Sequence[ParkedEvent]) -> None:
    """Rows of a new park; written in the same transaction as the position moving past it."""
    marks = ", ".join(f":{c}" for c in COLUMNS)
    tx.executemany(
        f"INSERT INTO {TABLE} ({', '.join(COLUMNS)}) VALUES ({marks})"
        " ON CONFLICT (lane, organization_id, aggregate_id) DO NOTHING",
        [p.to_json() for p in parked],
    )


def remove(tx: Tx, parked: ParkedEvent) -> bool:
    """Un-park; False if the row was gone (another runner of the lane took it first)."""
    gone = tx.fetchall(
        f"DELETE FROM {TABLE} WHERE lane = :lane AND organization_id = :org"
        " AND aggregate_id = :aggregate RETURNING lane",
        {"lane": parked.lane, "org": parked.organization_id, "aggregate": parked.aggregate_id},
    )
    return bool(gone)


def failed_again(tx: Tx, parked: ParkedEvent, error: str, at: str) -> None:
    """A retry failed: keep the row, with the new reason; the request it answered is done
    (a request made meanwhile raised ``retry_requested`` further and stays)."""
    tx.execute(
        f"UPDATE {TABLE} SET error = :error, retried_at = :at,"
        " retry_requested = retry_requested - :seen"
        " WHERE lane = :lane AND organization_id = :org AND aggregate_id = :aggregate",
        {
            "error": error,
            "at": at,
            "seen": parked.retry_requested,
            "lane": parked.lane,
            "org": parked.organization_id,
            "aggregate": parked.aggregate_id,
        },
    )


def request_retry(
    store: ViewStore, model: str | None = None, organization: str | None = None
) -> list[ParkedEvent]:
    """Ask the follower owning each matching row to retry it; returns the rows asked."""
    where = ["1 = 1"]
    params: dict[str, Any] = {}
    if model is not None:
        where.append("model = :model")
        params["model"] = model
    if organization is not None:
        where.append("organization_id = :org")
        params["org"] = organization
    condition = " AND ".join(where)
    with store.transaction() as tx:
        tx.execute(
            f"UPDATE {TABLE} SET retry_requested = retry_requested + 1 WHERE {condition}",
            params,
        )
        rows = tx.fetchall(
            f"SELECT {', '.join(COLUMNS)} FROM {TABLE} WHERE {condition}"
            " ORDER BY model, organization_id, position",
            params,
        )
    return [ParkedEvent.of_row(row) for row in rows]


def rekey_generation(tx: Tx, model: str, number: int, layout: int) -> None:
    """A switch re-keyed generation ``number`` of ``model`` to ``layout`` shares: its
    parks follow their organizations to the lane that now holds them (an unknowable
    organization's to share 0, where its events go)."""
    from projections.organizations import partition_of

    for statement in DDL:
        tx.execute(statement)
    prefix = f"{model}@g{number}#"
    rows = tx.fetchall(
        f"SELECT lane, organization_id, aggregate_id FROM {TABLE}"
        " WHERE model = :model AND substr(lane, 1, :length) = :prefix",
        {"model": model, "length": len(prefix), "prefix": prefix},
    )
    for row in rows:
        organization = row["organization_id"] or None
        target = f"{prefix}{partition_of(organization, layout)}/{layout}"
        tx.execute(
            f"UPDATE {TABLE} SET lane = :target WHERE lane = :lane"
            " AND organization_id = :org AND aggregate_id = :aggregate",
            {
                "target": target,
                "lane": row["lane"],
                "org": row["organization_id"],
                "aggregate": row["aggregate_id"],
            },
        )


def forget_generation(tx: Tx, model: str, number: int) -> None:
    """A retired generation's tables are dropped: so are the events parked in them."""
    for statement in DDL:
        tx.execute(statement)
    prefix = f"{model}@g{number}#"
    tx.execute(
        f"DELETE FROM {TABLE} WHERE model = :model AND substr(lane, 1, :length) = :prefix",
        {"model": model, "length": len(prefix), "prefix": prefix},
    )
