"""The people directory (SPEC §11): who a user id is, per organization.

Events name people by their pseudonymous user id only; display names and
e-mail addresses live here, outside the event store, because they change and
must be erasable. Reads join names at the moment they answer (``names``), so
no read model, snapshot or cache holds a copy that would outlive an erasure.

An erased person's row is deleted (``forget``); on SQLite the connection
overwrites deleted content (``secure_delete``), so the name does not linger
in the database file's free pages.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from domain.errors import LimitReached
from projections.store import Tx, ViewStore, overwriting

DDL = (
    "CREATE TABLE IF NOT EXISTS okr_people ("
    " organization_id TEXT NOT NULL,"
    " user_id TEXT NOT NULL,"
    " display_name TEXT NOT NULL,"
    " email TEXT,"
    " updated_at TEXT NOT NULL,"
    " PRIMARY KEY (organization_id, user_id))",
)

NAMES_PER_QUERY = 500
"""Ids asked for in one ``IN (...)`` list: a page of reads names far fewer."""

PEOPLE_PER_ORGANIZATION = 100_000
"""Entries one organization may hold (SPEC §9: no organization exhausts the service);
replacing an entry is always allowed."""


@dataclass(frozen=True)
class Person:
    user_id: str
    display_name: str
    email: str | None
    updated_at: str


class People:
    """The directory of every organization, in the read-model store's database."""

    def __init__(self, store: ViewStore, limit: int = PEOPLE_PER_ORGANIZATION) -> None:
        self.store = store
        self.limit = limit
        with store.transaction() as tx:
            for statement in DDL:
                tx.execute(statement)

    def put(
        self, organization_id: str, user_id: str, display_name: str, email: str | None
    ) -> Person:
        """Create or replace one entry (the caller has checked the values, ``domain/person.py``).

        One statement (an upsert), so two puts of the same entry at once end with one
        of them whole, never a mixture of both. An organization holding ``limit``
        entries gets no new one (``LimitReached``); two new entries racing at the
        limit may pass it by one, which bounds nothing that matters.
        """
        person = Person(user_id, display_name, email, datetime.now(UTC).isoformat())
        with self.store.transaction() as tx:
            if self._full(tx, organization_id, user_id):
                raise LimitReached(
                    f"the directory of this organization holds {self.limit} people already"
                )
            tx.execute(
                "INSERT INTO okr_people (organization_id, user_id, display_name, email,"
                " updated_at) VALUES (:org, :user, :name, :email, :at)"
                " ON CONFLICT (organization_id, user_id) DO UPDATE SET"
                " display_name = excluded.display_name, email = excluded.email,"
                " updated_at = excluded.updated_at",
                {
                    "org": organization_id,
                    "user": user_id,
                    "name": display_name,
                    "email": email,
                    "at": person.updated_at,
                },
            )
        return person

    def _full(self, tx: Tx, organization_id: str, user_id: str) -> bool:
        """Whether a new entry would pass the limit (an existing one may always change)."""
        params = {"org": organization_id, "user": user_id}
        if tx.fetchone(
            "SELECT 1 AS found FROM okr_people WHERE organization_id = :org AND user_id = :user",
            params,
        ):
            return False
        row = tx.fetchone(
            "SELECT COUNT(*) AS n FROM okr_people WHERE organization_id = :org", params
        )
        return row is not None and int(row["n"]) >= self.limit

    def get(self, organization_id: str, user_id: str) -> Person | None:
        with self.store.transaction(commit=False) as tx:
            row = tx.fetchone(
                "SELECT user_id, display_name, email, updated_at FROM okr_people"
                " WHERE organization_id = :org AND user_id = :user",
                {"org": organization_id, "user": user_id},
            )
        return None if row is None else Person(**row)

    def page(self, organization_id: str, *, after: str | None, limit: int) -> list[Person]:
        """Entries ordered by user id, after the cursor ``after`` (None: from the start)."""
        with self.store.transaction(commit=False) as tx:
            rows = tx.fetchall(
                "SELECT user_id, display_name, email, updated_at FROM okr_people"
                " WHERE organization_id = :org AND user_id > :after"
                " ORDER BY user_id LIMIT :limit",
                {"org": organization_id, "after": after or "", "limit": limit},
            )
        return [Person(**row) for row in rows]

    def names(self, organization_id: str, user_ids: Iterable[str | None]) -> dict[str, str]:
        """Display names of those of ``user_ids`` in the directory (others are absent)."""
        wanted = sorted({u for u in user_ids if u})
        found: dict[str, str] = {}
        for start in range(0, len(wanted), NAMES_PER_QUERY):
            chunk = wanted[start : start + NAMES_PER_QUERY]
            marks = ", ".join(f":u{i}" for i in range(len(chunk)))
            params: dict[str, str] = {f"u{i}": u for i, u in enumerate(chunk)}
            params["org"] = organization_id
            with self.store.transaction(commit=False) as tx:
                rows = tx.fetchall(
                    "SELECT user_id, display_name FROM okr_people"
                    f" WHERE organization_id = :org AND user_id IN ({marks})",
                    params,
                )
            found.update((row["user_id"], row["display_name"]) for row in rows)
        return found

    def forget(self, organization_id: str, user_id: str) -> bool:
        """Delete the entry (erasure); whether there was one."""
        with overwriting(self.store) as tx:
            found = tx.fetchone(
                "SELECT 1 AS found FROM okr_people WHERE organization_id = :org"
                " AND user_id = :user",
                {"org": organization_id, "user": user_id},
            )
            tx.execute(
                "DELETE FROM okr_people WHERE organization_id = :org AND user_id = :user",
                {"org": organization_id, "user": user_id},
            )
        return found is not None
