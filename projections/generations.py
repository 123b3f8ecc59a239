"""The catalogue of read-model generations and their positions (SPEC §10).

Each read model is kept in one or more *generations*: a set of physical
tables ``<table>__g<N>`` built by one code version of the model, in a
partition layout (how many shares of the organizations it is written in).
At most one generation of a model is ``serving``: the names readers use
(``okr_objectives``) are views over its tables. Others are ``building``
(a rebuild, or a newer code version catching up beside it) or ``retired``
(switched away from; their tables are dropped once nobody writes them).

A position per (model, generation, partition) says up to where that share
of that generation has applied the log. It only moves forward, by
compare-and-set in the same transaction as the rows (``advance``), so no
two processes can both write a batch for the same positions.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from projections.readmodel import ReadModel
from projections.renaming import Renamer, index_names, suffix_of, table_names
from projections.store import Tx, ViewStore

log = logging.getLogger(__name__)

GENERATIONS = "okr_rm_generations"
POSITIONS = "okr_rm_positions"
CATALOG_DDL = (
    f"CREATE TABLE IF NOT EXISTS {GENERATIONS} ("
    " model TEXT NOT NULL,"
    " generation INTEGER NOT NULL,"
    " code_version INTEGER NOT NULL,"
    " partitions INTEGER NOT NULL,"
    " state TEXT NOT NULL,"
    " builder TEXT NOT NULL,"
    " tables TEXT NOT NULL,"
    " PRIMARY KEY (model, generation))",
    f"CREATE TABLE IF NOT EXISTS {POSITIONS} ("
    " model TEXT NOT NULL,"
    " generation INTEGER NOT NULL,"
    " part INTEGER NOT NULL,"
    " position BIGINT NOT NULL,"
    " PRIMARY KEY (model, generation, part))",
)
_CATALOG_LOCK = 0x0C_0A_71_14
"""PostgreSQL advisory lock key: one process at a time changes the catalogue's
shape (adoption, a new generation); batches never take it."""

BUILDING, SERVING, RETIRED = "building", "serving", "retired"
MAX_PARTITIONS = 64
"""Most shares a generation may be laid out in (each is a runner process, and a
row of positions per model); ``okr project`` and ``okr rebuild`` refuse more."""
RUNNER, REBUILD = "runner", "rebuild"


class ProjectionRefused(Exception):
    """This runner must not write: its code is older than what is served, or its
    partition layout is not the generation's. The message says what to do."""


class LaneMoved(Exception):
    """A batch's positions were taken by another process, or its generation was
    retired: the batch rolls back and the runner looks again where it stands."""


@dataclass(frozen=True)
class Generation:
    model: str
    number: int
    code_version: int
    partitions: int
    state: str
    builder: str
    tables: tuple[str, ...]


@dataclass
class Lane:
    """What one runner writes for one model: a generation's share, and how far it is."""

    model: ReadModel
    generation: int
    partitions: int
    partition: int
    building: bool
    position: int = 0
    rename: Renamer = field(init=False)

    def __post_init__(self) -> None:
        names = table_names(self.model.ddl) + index_names(self.model.ddl)
        self.rename = Renamer(names, suffix_of(self.generation))

    @property
    def name(self) -> str:
        return f"{self.model.name}@g{self.generation}#{self.partition}/{self.partitions}"


def lock_catalog(store: ViewStore, tx: Tx) -> None:
    """Serialise changes to the catalogue (PostgreSQL; SQLite has one writer)."""
    if store.dialect == "postgres":
        tx.execute(f"SELECT pg_advisory_xact_lock({_CATALOG_LOCK})")
    for statement in CATALOG_DDL:
        tx.execute(statement)


def generations(tx: Tx, model: str, lock: str = "") -> list[Generation]:
    rows = tx.fetchall(
        f"SELECT model, generation, code_version, partitions, state, builder, tables"
        f" FROM {GENERATIONS} WHERE model = :model ORDER BY generation {lock}",
        {"model": model},
    )
    return [
        Generation(
            r["model"],
            int(r["generation"]),
            int(r["code_version"]),
            int(r["partitions"]),
            r["state"],
            r["builder"],
            tuple(t for t in r["tables"].split(",") if t),
        )
        for r in rows
    ]


def serving(found: Sequence[Generation]) -> Generation | None:
    return next((g for g in found if g.state == SERVING), None)


def positions(tx: Tx, model: str, generation: int) -> dict[int, int]:
    rows = tx.fetchall(
        f"SELECT part, position FROM {POSITIONS} WHERE model = :model AND generation = :generation",
        {"model": model, "generation": generation},
    )
    return {int(r["part"]): int(r["position"]) for r in rows}


def next_number(tx: Tx) -> int:
    """Generations are numbered across models, so one rebuild's models share one."""
    row = tx.fetchone(f"SELECT MAX(generation) AS top FROM {GENERATIONS}")
    return int(row["top"]) + 1 if row and row["top"] is not None else 1


def create_generation(
    tx: Tx,
    model: ReadModel,
    number: int,
    partitions: int,
    state: str,
    builder: str,
    position: int = 0,
) -> None:
    rename = Renamer(table_names(model.ddl) + index_names(model.ddl), suffix_of(number))
    for statement in model.ddl:
        tx.execute(rename(statement))
    tx.execute(
        f"INSERT INTO {GENERATIONS} (model, generation, code_version, partitions, state,"
        " builder, tables) VALUES (:model, :generation, :version, :partitions, :state,"
        " :builder, :tables)",
        {
            "model": model.name,
            "generation": number,
            "version": model.version,
            "partitions": partitions,
            "state": state,
            "builder": builder,
            "tables": ",".join(table_names(model.ddl)),
        },
    )
    set_positions(tx, model.name, number, partitions, position)


def set_positions(tx: Tx, model: str, generation: int, partitions: int, position: int) -> None:
    """A generation's positions laid out anew, all at ``position`` (a new generation,
    or the switch re-keying shares that all stand at the same position)."""
    tx.execute(
        f"DELETE FROM {POSITIONS} WHERE model = :model AND generation = :generation",
        {"model": model, "generation": generation},
    )
    tx.executemany(
        f"INSERT INTO {POSITIONS} (model, generation, part, position)"
        " VALUES (:model, :generation, :part, :position)",
        [
            {"model": model, "generation": generation, "part": part, "position": position}
            for part in range(partitions)
        ],
    )


def point_views(tx: Tx, tables: Sequence[str], generation: int) -> None:
    """The readers' names become views over ``generation``'s tables (same transaction
    as the state flip: both databases have transactional DDL)."""
    for table in tables:
        tx.execute(f"DROP VIEW IF EXISTS {table}")
        tx.execute(f"CREATE VIEW {table} AS SELECT * FROM {table}{suffix_of(generation)}")


def relation_kind(store: ViewStore, tx: Tx, name: str) -> str | None:
    """'table', 'view' or None: what a name is in the database."""
    if store.dialect == "postgres":
        row = tx.fetchone(
            "SELECT c.relkind FROM pg_class c WHERE c.oid = to_regclass(:name)", {"name": name}
        )
        kinds = {"r": "table", "v": "view"}
        return kinds.get(str(row["relkind"])) if row else None
    row = tx.fetchone("SELECT type FROM sqlite_master WHERE name = :name", {"name": name})
    return str(row["type"]) if row else None


def prepare(store: ViewStore, app_name: str, models: Sequence[ReadModel]) -> None:
    """Make sure each model is served by some generation: the first one on a new
    database, or the tables of the code before generations adopted as generation
    ``number`` (kept rows and positions: an upgrade needs no rebuild)."""
    with store.transaction() as tx:
        lock_catalog(store, tx)
        for model in models:
            if serving(generations(tx, model.name)) is None:
                _serve_first(store, tx, app_name, model)


def _serve_first(store: ViewStore, tx: Tx, app_name: str, model: ReadModel) -> None:
    number = next_number(tx)
    tables = table_names(model.ddl)
    old = [t for t in tables if relation_kind(store, tx, t) == "table"]
    if not old:
        create_generation(tx, model, number, 1, SERVING, RUNNER)
        point_views(tx, tables, number)
        return
    # Adoption: the old code's tables become this generation's, in place.
    suffix = suffix_of(number)
    for table in old:
        tx.execute(f"DROP TABLE IF EXISTS {table}__rebuild")
        tx.execute(f"ALTER TABLE {table} RENAME TO {table}{suffix}")
    for index in index_names(model.ddl):
        if store.dialect == "postgres":
            tx.execute(f"ALTER INDEX IF EXISTS {index} RENAME TO {index}{suffix}")
        else:
            tx.execute(f"DROP INDEX IF EXISTS {index}")
    tracking = str(getattr(store, "tracking_table_name", "tracking"))
    row = tx.fetchone(
        f"SELECT MAX(notification_id) AS position FROM {tracking} WHERE application_name = :name",
        {"name": f"{app_name}:{model.name}"},
    )
    position = int(row["position"]) if row and row["position"] is not None else 0
    create_generation(tx, model, number, 1, SERVING, RUNNER, position)  # IF NOT EXISTS
    point_views(tx, tables, number)
    log.info("adopted the tables of %s as generation %d at %d", model.name, number, position)


def advance(store: ViewStore, tx: Tx, moves: Sequence[tuple[Lane, int]]) -> None:
    """Compare-and-set each lane's position from where it read it to its new one,
    after checking (and, on PostgreSQL, share-locking) that its generation is not
    retired; raises ``LaneMoved`` (the caller's transaction then rolls back)."""
    if not moves:
        return
    lock = "FOR SHARE" if store.dialect == "postgres" else ""
    names = sorted({lane.model.name for lane, _ in moves})
    marks = ", ".join(f":m{i}" for i in range(len(names)))
    rows = tx.fetchall(
        f"SELECT model, generation, state FROM {GENERATIONS} WHERE model IN ({marks})"
        f" ORDER BY model, generation {lock}",
        {f"m{i}": name for i, name in enumerate(names)},
    )
    states = {(r["model"], int(r["generation"])): r["state"] for r in rows}
    for lane, position in moves:
        if states.get((lane.model.name, lane.generation)) in (None, RETIRED):
            raise LaneMoved(f"{lane.name} was retired")
        moved = tx.fetchall(
            f"UPDATE {POSITIONS} SET position = :new WHERE model = :model"
            " AND generation = :generation AND part = :part AND position = :expected"
            " RETURNING position",
            {
                "new": position,
                "model": lane.model.name,
                "generation": lane.generation,
                "part": lane.partition,
                "expected": lane.position,
            },
        )
        if len(moved) != 1:
            raise LaneMoved(f"{lane.name} is no longer at {lane.position}")


def any_retired(store: ViewStore, lanes: Sequence[Lane]) -> bool:
    """Whether a lane's generation was retired (or already dropped): asked only after a
    batch failed, e.g. on tables a switch dropped under an idle runner."""
    with store.transaction(commit=False) as tx:
        rows = tx.fetchall(f"SELECT model, generation, state FROM {GENERATIONS}")
    states = {(r["model"], int(r["generation"])): r["state"] for r in rows}
    return any(states.get((lane.model.name, lane.generation)) in (None, RETIRED) for lane in lanes)


def served_positions(store: ViewStore) -> dict[str, int]:
    """Per model, the position up to which its SERVED tables are complete for every
    organization: the least of the serving generation's shares."""
    with store.transaction(commit=False) as tx:
        rows = tx.fetchall(
            f"SELECT g.model AS model, MIN(p.position) AS position FROM {GENERATIONS} g"
            f" JOIN {POSITIONS} p ON p.model = g.model AND p.generation = g.generation"
            f" WHERE g.state = '{SERVING}' GROUP BY g.model"
        )
    return {r["model"]: int(r["position"]) for r in rows}


def summary(store: ViewStore) -> dict[str, dict[str, object]]:
    """For health: per model, what is served and whether a build is under way."""
    with store.transaction(commit=False) as tx:
        rows = tx.fetchall(
            f"SELECT model, generation, code_version, partitions, state FROM {GENERATIONS}"
            " ORDER BY model, generation"
        )
    out: dict[str, dict[str, object]] = {}
    for r in rows:
        entry = out.setdefault(r["model"], {"building": False})
        if r["state"] == SERVING:
            entry.update(
                generation=int(r["generation"]),
                version=int(r["code_version"]),
                partitions=int(r["partitions"]),
            )
        elif r["state"] == BUILDING:
            entry["building"] = True
    return out


def wait_for_position(
    store: ViewStore,
    app_name: str,
    models: Sequence[ReadModel],
    position: int,
    timeout: float,
) -> bool:
    """True once every model's SERVED position is at least ``position`` (one query
    a look: the least share of each serving generation)."""

    # A hand-made poll rather than tenacity: it runs after writes that wait for
    # their read models, and most calls return on the first look; a Retrying
    # object per call would cost more than the loop it replaces.
    deadline = time.monotonic() + timeout
    delay = 0.005
    while True:
        served = served_positions(store)
        if all(served.get(m.name, 0) >= position for m in models):
            return True
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        time.sleep(min(delay, remaining))
        delay = min(delay * 2, 0.1)
