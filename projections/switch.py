"""The blue/green switch: readers move to a caught-up generation in one transaction.

The switch locks the models' generation rows (``FOR UPDATE`` on PostgreSQL;
a batch's commit share-locks them), checks the new generation is at least
as far as the serving one for every organization, re-keys its positions to
the layout runners will use, flips the states and re-points the views: all
or nothing. The old tables are dropped afterwards in a separate transaction
that gives up quickly: an old runner still mid-batch holds locks on them, and
waiting for it could deadlock with it (it rolls back on its own, seeing its
generation retired; a later switch or start drops what was left).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping
from pathlib import Path

from projections import parked
from projections.generations import (
    BUILDING,
    GENERATIONS,
    POSITIONS,
    RETIRED,
    RUNNER,
    SERVING,
    ProjectionRefused,
    generations,
    point_views,
    positions,
    serving,
    set_positions,
)
from projections.renaming import suffix_of
from projections.store import Tx, ViewStore

log = logging.getLogger(__name__)

HOLD_ENV = "OKR_TEST_HOLD_IN_SWITCH"
"""Tests only: a file path; the switch writes it and waits there, inside its
transaction, so a test can kill the process at that point."""


class _NotYet(Exception):
    """The new generation is behind the serving one: roll back, catch up, try again."""


def switch(store: ViewStore, targets: Mapping[str, int], layout: int | None = None) -> bool:
    """Serve generation ``targets[model]`` of each model, all at once; False (nothing
    changed) when one is behind what is served. ``layout``: the partitions runners
    will use from now on (the new generation's shares must then all be at one
    position, so the re-keyed positions are exact)."""
    try:
        with store.transaction() as tx:
            for model in sorted(targets):
                _switch_one(store, tx, model, targets[model], layout)
            _hold_for_test()
    except _NotYet:
        return False
    drop_retired(store)
    return True


def _switch_one(store: ViewStore, tx: Tx, model: str, number: int, layout: int | None) -> None:
    lock = "FOR UPDATE" if store.dialect == "postgres" else ""
    found = generations(tx, model, lock)
    new = next((g for g in found if g.number == number), None)
    if new is None or new.state == RETIRED:
        raise ProjectionRefused(f"generation {number} of {model} was retired meanwhile")
    if new.state == SERVING:
        return
    old = serving(found)
    if old is not None and old.code_version > new.code_version:
        raise ProjectionRefused(
            f"{model} is served by a newer version ({old.code_version}) than generation"
            f" {number} was built by ({new.code_version})"
        )
    built = positions(tx, model, number)
    served = positions(tx, model, old.number) if old is not None else {}
    if not built or min(built.values()) < max(served.values(), default=0):
        raise _NotYet
    if layout is not None and layout != new.partitions:
        if len(set(built.values())) != 1:
            raise _NotYet
        set_positions(tx, model, number, layout, min(built.values()))
        tx.execute(
            f"UPDATE {GENERATIONS} SET partitions = :layout WHERE model = :model"
            " AND generation = :number",
            {"layout": layout, "model": model, "number": number},
        )
        parked.rekey_generation(tx, model, number, layout)
    # Retired with it: what served, runners' builds of this version or older (they follow
    # the new one), and rebuilds begun before this one (killed ones, or slower twins);
    # a rebuild begun after it goes on, and switches in its turn.
    tx.execute(
        f"UPDATE {GENERATIONS} SET state = '{RETIRED}' WHERE model = :model"
        f" AND generation <> :number AND (state = '{SERVING}' OR (state = '{BUILDING}'"
        f" AND code_version <= :version AND (builder = '{RUNNER}' OR generation < :number)))",
        {"model": model, "number": number, "version": new.code_version},
    )
    tx.execute(
        f"UPDATE {GENERATIONS} SET state = '{SERVING}' WHERE model = :model"
        " AND generation = :number",
        {"model": model, "number": number},
    )
    point_views(tx, new.tables, number)
    log.info("%s: generation %d serves now", model, number)


def _hold_for_test() -> None:
    hold = os.environ.get(HOLD_ENV)
    if hold:
        Path(hold).write_text("holding the switch transaction\n")
        time.sleep(3600)


def drop_retired(store: ViewStore) -> None:
    """Drop the tables of retired generations, giving up at once on a lock (an old
    runner mid-batch): they are dropped at a later switch or start."""
    try:
        with store.transaction() as tx:
            if store.dialect == "postgres":
                tx.execute("SET LOCAL lock_timeout = '200ms'")
            rows = tx.fetchall(
                f"SELECT model, generation, tables FROM {GENERATIONS} WHERE state = '{RETIRED}'"
            )
            for row in rows:
                number = int(row["generation"])
                for table in (t for t in str(row["tables"]).split(",") if t):
                    tx.execute(f"DROP TABLE IF EXISTS {table}{suffix_of(number)}")
                key = {"model": row["model"], "number": number}
                where = "WHERE model = :model AND generation = :number"
                tx.execute(f"DELETE FROM {POSITIONS} {where}", key)
                parked.forget_generation(tx, str(row["model"]), number)
                tx.execute(f"DELETE FROM {GENERATIONS} {where}", key)
    except Exception:
        log.info("retired read-model tables are still in use; dropped later", exc_info=True)
