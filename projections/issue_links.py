"""Read model of tracker issues: current status, and which key results link them."""

from __future__ import annotations

from typing import Any, ClassVar

from domain.issue import Issue
from projections.readmodel import ReadModel
from projections.store import Row, Tx, ViewStore


class IssueLinksView(ReadModel):
    name: ClassVar[str] = "issue_links"
    version: ClassVar[int] = 1
    ddl: ClassVar[tuple[str, ...]] = (
        "CREATE TABLE IF NOT EXISTS okr_issues ("
        " id TEXT PRIMARY KEY,"
        " organization_id TEXT NOT NULL,"
        " tracker TEXT NOT NULL,"
        " issue_key TEXT NOT NULL,"
        " status TEXT,"
        " raw_status TEXT,"
        " title TEXT,"
        " url TEXT,"
        " estimate DOUBLE PRECISION,"
        " last_event_id TEXT,"
        " occurred_at TEXT,"
        " version INTEGER NOT NULL)",
        "CREATE UNIQUE INDEX IF NOT EXISTS okr_issues_key"
        " ON okr_issues (organization_id, tracker, issue_key)",
        "CREATE TABLE IF NOT EXISTS okr_issue_links ("
        " issue_id TEXT NOT NULL,"
        " objective_id TEXT NOT NULL,"
        " key_result_id TEXT NOT NULL,"
        " PRIMARY KEY (issue_id, key_result_id))",
        "CREATE INDEX IF NOT EXISTS okr_issue_links_kr ON okr_issue_links (key_result_id)",
    )

    def __init__(self) -> None:
        self._batch = _Batch()

    def reset(self) -> None:
        self._batch = _Batch()

    def apply(self, tx: Tx, event: Any, position: int) -> None:
        """Fold the event into the batch's pending rows; ``flush`` writes each row once."""
        if not isinstance(event, Issue.Event):
            return
        self._batch.apply(event)

    def flush(self, tx: Tx) -> None:
        self._batch.flush(tx)
        self._batch = _Batch()


class _Batch:
    """A batch's changes to ``okr_issues`` and ``okr_issue_links``, one statement each.

    Every change is a plain assignment, so folding a batch's events first and
    writing the result gives the same rows as one statement per event: a
    registered issue is inserted (if absent) before the batch's updates, the
    last report of an issue sets its status, a report without a title (url,
    estimate) keeps the one before it, and the last link or unlink of a key
    result decides whether the link row exists.
    """

    def __init__(self) -> None:
        self.registered: dict[str, dict[str, Any]] = {}
        self.updates: dict[str, dict[str, Any]] = {}
        self.links: dict[tuple[str, str], str | None] = {}  # → objective id, None: unlinked

    def apply(self, event: Any) -> None:
        issue_id = str(event.originator_id)
        update = self.updates.setdefault(
            issue_id,
            {
                "id": issue_id,
                "reported": False,
                "status": None,
                "raw": None,
                "event_id": None,
                "occurred_at": None,
                "title": None,
                "url": None,
                "estimate": None,
                "estimate_set": False,
            },
        )
        update["version"] = event.originator_version
        match event:
            case Issue.Registered():
                self.registered[issue_id] = {
                    "id": issue_id,
                    "org": event.organization_id,
                    "tracker": event.tracker,
                    "key": event.issue_key,
                    "version": event.originator_version,
                }
            case Issue.StatusReported(applied=True):
                update.update(
                    reported=True,
                    status=event.status,
                    raw=event.raw_status,
                    event_id=event.event_id,
                    occurred_at=event.occurred_at.isoformat(),
                )
                for name in ("title", "url"):
                    if getattr(event, name) is not None:
                        update[name] = getattr(event, name)
                # A number sets it, a cleared one (SPEC §16) empties it, a
                # report that says nothing of it keeps the one before.
                if event.estimate is not None or event.estimate_cleared:
                    update["estimate"] = event.estimate
                    update["estimate_set"] = True
            case Issue.Linked():
                self.links[(issue_id, str(event.key_result_id))] = str(event.objective_id)
            case Issue.Unlinked():
                self.links[(issue_id, str(event.key_result_id))] = None

    def flush(self, tx: Tx) -> None:
        tx.executemany(INSERT_ISSUE, list(self.registered.values()))
        tx.executemany(UPDATE_ISSUE, list(self.updates.values()))
        tx.executemany(
            "DELETE FROM okr_issue_links WHERE issue_id = :id AND key_result_id = :kr",
            [{"id": i, "kr": kr} for (i, kr), objective in self.links.items() if objective is None],
        )
        tx.executemany(
            "INSERT INTO okr_issue_links (issue_id, objective_id, key_result_id)"
            " VALUES (:id, :objective, :kr) ON CONFLICT (issue_id, key_result_id) DO NOTHING",
            [
                {"id": i, "kr": kr, "objective": objective}
                for (i, kr), objective in self.links.items()
                if objective is not None
            ],
        )


INSERT_ISSUE = (
    "INSERT INTO okr_issues (id, organization_id, tracker, issue_key, version)"
    " VALUES (:id, :org, :tracker, :key, :version) ON CONFLICT (id) DO NOTHING"
)
UPDATE_ISSUE = (
    "UPDATE okr_issues SET"
    " status = CASE WHEN :reported THEN :status ELSE status END,"
    " raw_status = CASE WHEN :reported THEN :raw ELSE raw_status END,"
    " last_event_id = CASE WHEN :reported THEN :event_id ELSE last_event_id END,"
    " occurred_at = CASE WHEN :reported THEN :occurred_at ELSE occurred_at END,"
    " title = COALESCE(:title, title), url = COALESCE(:url, url),"
    " estimate = CASE WHEN :estimate_set THEN :estimate ELSE estimate END,"
    " version = :version WHERE id = :id"
)


def get_issue(store: ViewStore, organization_id: str, tracker: str, issue_key: str) -> Row | None:
    """The issue's current status and the key results it is linked to."""
    with store.transaction(commit=False) as tx:
        issue = tx.fetchone(
            "SELECT id, tracker, issue_key, status, raw_status, title, url, estimate,"
            " occurred_at FROM okr_issues WHERE organization_id = :org AND tracker = :tracker"
            " AND issue_key = :key",
            {"org": organization_id, "tracker": tracker, "key": issue_key},
        )
        if issue is None:
            return None
        links = tx.fetchall(
            "SELECT objective_id, key_result_id FROM okr_issue_links WHERE issue_id = :id"
            " ORDER BY objective_id, key_result_id",
            {"id": issue["id"]},
        )
    return {**issue, "links": links}
