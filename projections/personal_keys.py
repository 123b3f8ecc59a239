"""Each person's key for their personal texts (``domain/personal.py``), in the
read-model store's database, and its deletion (erasure, SPEC §11).

A key is asked for at every write of a personal text and at every answer that
holds one; nothing caches it, so once ``forget`` has deleted it no process can
open that person's texts any more (a write that fetched the key just before
stores a text nobody can open: erased too).

The key is deleted so that its bytes do not linger: on SQLite with
``secure_delete`` (freed pages are overwritten) and a WAL checkpoint that
truncates the log; on PostgreSQL the table (small: one row a person) is
rewritten by ``VACUUM FULL``, so the dead row's bytes are in no file of it. Backups and WAL
archives taken before keep it: docs/privacy.md says what an operator does.
"""

from __future__ import annotations

import base64
from collections.abc import Collection

from domain.personal import PersonKey, new_key
from projections.store import ViewStore, overwriting

DDL = (
    "CREATE TABLE IF NOT EXISTS okr_person_keys ("
    " key_id TEXT PRIMARY KEY,"
    " organization_id TEXT NOT NULL,"
    " user_id TEXT NOT NULL,"
    " secret TEXT NOT NULL,"
    " UNIQUE (organization_id, user_id))",
)

KEYS_PER_QUERY = 500


def _key(row: dict[str, str]) -> PersonKey:
    return PersonKey(row["key_id"], row["organization_id"], base64.b64decode(row["secret"]))


class PersonalKeyStore:
    """``domain.personal.PersonalKeys`` on a read-model store (SQLite or PostgreSQL)."""

    def __init__(self, store: ViewStore) -> None:
        self.store = store
        with store.transaction() as tx:
            for statement in DDL:
                tx.execute(statement)

    def key_for(self, organization_id: str, user_id: str) -> PersonKey:
        """One query for a person who has a key; a first text makes one (two writers at
        once agree on the first one inserted)."""
        wanted = {"org": organization_id, "user": user_id}
        select = (
            "SELECT key_id, organization_id, secret FROM okr_person_keys"
            " WHERE organization_id = :org AND user_id = :user"
        )
        with self.store.transaction(commit=False) as tx:
            row = tx.fetchone(select, wanted)
        if row is not None:
            return _key(row)
        fresh = new_key(organization_id)
        with self.store.transaction() as tx:
            tx.execute(
                "INSERT INTO okr_person_keys (key_id, organization_id, user_id, secret)"
                " VALUES (:id, :org, :user, :secret)"
                " ON CONFLICT (organization_id, user_id) DO NOTHING",
                {**wanted, "id": fresh.key_id, "secret": base64.b64encode(fresh.secret).decode()},
            )
            row = tx.fetchone(select, wanted)
        assert row is not None
        return _key(row)

    def keys(self, key_ids: Collection[str]) -> dict[str, PersonKey]:
        wanted = sorted(set(key_ids))
        found: dict[str, PersonKey] = {}
        for start in range(0, len(wanted), KEYS_PER_QUERY):
            chunk = wanted[start : start + KEYS_PER_QUERY]
            marks = ", ".join(f":k{i}" for i in range(len(chunk)))
            with self.store.transaction(commit=False) as tx:
                rows = tx.fetchall(
                    "SELECT key_id, organization_id, secret FROM okr_person_keys"
                    f" WHERE key_id IN ({marks})",
                    {f"k{i}": key_id for i, key_id in enumerate(chunk)},
                )
            found.update((row["key_id"], _key(row)) for row in rows)
        return found

    def forget(self, organization_id: str, user_id: str) -> bool:
        """Delete the person's key, its bytes with it; whether there was one."""
        wanted = {"org": organization_id, "user": user_id}
        with overwriting(self.store) as tx:
            found = tx.fetchone(
                "SELECT key_id FROM okr_person_keys WHERE organization_id = :org"
                " AND user_id = :user",
                wanted,
            )
            tx.execute(
                "DELETE FROM okr_person_keys WHERE organization_id = :org AND user_id = :user",
                wanted,
            )
        scrub(self.store, "okr_person_keys", small=True)
        return found is not None


def scrub(store: ViewStore, table: str, *, small: bool = False) -> None:
    """After a delete or an update: no copy of the old rows' bytes stays in the database's
    files. SQLite (whose connection deleted with ``secure_delete``): the write-ahead log
    truncated. PostgreSQL: the table vacuumed; a ``small`` one with ``VACUUM FULL``,
    which writes the live rows into a new file (a plain VACUUM frees the dead rows'
    space without overwriting it; FULL locks the table for the moment it takes)."""
    datastore = store.datastore  # type: ignore[attr-defined]
    if store.dialect == "sqlite":
        with datastore.get_connection(commit=True) as connection:  # outside a transaction
            connection.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return
    with datastore.get_connection() as connection:  # autocommit: VACUUM needs no transaction
        connection.execute(f"VACUUM {'FULL ' if small else ''}{table}")
