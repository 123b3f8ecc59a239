"""What a registration's GitHub deliveries said of Projects (v2) items (SPEC §16).

A ``projects_v2_item`` delivery names its issue only by GraphQL node id
(``content_node_id``): no repository, no number. Every ``issues`` delivery
carries the issue's ``node_id`` beside its key, so each one teaches this
table ``node id → issue key`` for its registration, and a later Status change
on the board finds the issue it moves. An item whose issue no ``issues``
delivery has named yet is ignored with that reason (the next edit of the
issue, or any label change, teaches it). The table also keeps the last
column status per node, which an open issue's later deliveries use: "open"
says less than the board does (``consumers.trackers.github``).

Only ids, keys and a status are stored: nothing personal. Bounded per
registration (``MAX_ITEMS``, the least recently seen go first); deleting a
registration deletes its rows.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final

from projections.store import ViewStore

__all__ = ["MAX_ITEMS", "RegistrationItems", "WebhookProjectItems"]

MAX_ITEMS: Final = 10_000
"""Issues remembered per registration: a large organization's open issues."""

_MAX_NODE_CHARS: Final = 200

DDL: Final = (
    "CREATE TABLE IF NOT EXISTS okr_webhook_project_items ("
    " registration_id TEXT NOT NULL,"
    " node_id TEXT NOT NULL,"
    " issue_key TEXT NOT NULL,"
    " column_status TEXT,"
    " seen_at TEXT NOT NULL,"
    " PRIMARY KEY (registration_id, node_id))",
    "CREATE INDEX IF NOT EXISTS okr_webhook_project_items_by_seen"
    " ON okr_webhook_project_items (registration_id, seen_at)",
)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


class WebhookProjectItems:
    """The node ids of every registration, in the read-model database."""

    def __init__(self, store: ViewStore) -> None:
        self.store = store

    def create_table(self) -> None:
        with self.store.transaction() as tx:
            for statement in DDL:
                tx.execute(statement)

    def of(self, registration_id: str) -> RegistrationItems:
        return RegistrationItems(self, registration_id)

    def forget(self, registration_id: str) -> None:
        with self.store.transaction() as tx:
            tx.execute(
                "DELETE FROM okr_webhook_project_items WHERE registration_id = :r",
                {"r": registration_id},
            )


class RegistrationItems:
    """One registration's view: ``consumers.trackers.github.ProjectItems``, plus learning."""

    def __init__(self, items: WebhookProjectItems, registration_id: str) -> None:
        self.store = items.store
        self.registration_id = registration_id

    def _row(self, node_id: str) -> dict[str, str | None] | None:
        if len(node_id) > _MAX_NODE_CHARS:
            return None
        with self.store.transaction(commit=False) as tx:
            return tx.fetchone(
                "SELECT issue_key, column_status FROM okr_webhook_project_items"
                " WHERE registration_id = :r AND node_id = :n",
                {"r": self.registration_id, "n": node_id},
            )

    def issue_key(self, node_id: str) -> str | None:
        row = self._row(node_id)
        return None if row is None else row["issue_key"]

    def column_status(self, node_id: str) -> str | None:
        row = self._row(node_id)
        return None if row is None else row["column_status"]

    def learn_issue(self, node_id: str, issue_key: str) -> None:
        """Remember the node id of an issue an ``issues`` delivery named."""
        if len(node_id) > _MAX_NODE_CHARS:
            return
        with self.store.transaction() as tx:
            tx.execute(
                "INSERT INTO okr_webhook_project_items"
                " (registration_id, node_id, issue_key, column_status, seen_at)"
                " VALUES (:r, :n, :k, NULL, :at) ON CONFLICT (registration_id, node_id)"
                " DO UPDATE SET issue_key = excluded.issue_key, seen_at = excluded.seen_at",
                {"r": self.registration_id, "n": node_id, "k": issue_key, "at": _now()},
            )
            tx.execute(
                "DELETE FROM okr_webhook_project_items WHERE registration_id = :r"
                " AND seen_at < (SELECT seen_at FROM okr_webhook_project_items"
                " WHERE registration_id = :r ORDER BY seen_at DESC LIMIT 1 OFFSET :keep)",
                {"r": self.registration_id, "keep": MAX_ITEMS - 1},
            )

    def remember_column(self, node_id: str, status: str) -> None:
        """The status the issue's board column gave it last."""
        with self.store.transaction() as tx:
            tx.execute(
                "UPDATE okr_webhook_project_items SET column_status = :s, seen_at = :at"
                " WHERE registration_id = :r AND node_id = :n",
                {"r": self.registration_id, "n": node_id, "s": status, "at": _now()},
            )
