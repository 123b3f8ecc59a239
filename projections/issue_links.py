"""Read model of tracker issues: current status, and which key results link them."""

from __future__ import annotations

from typing import Any, ClassVar

from domain.issue import Issue
from projections.readmodel import ReadModel
from projections.store import Row, Tx, ViewStore


class IssueLinksView(ReadModel):
    name: ClassVar[str] = "issue_links"
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

    def apply(self, tx: Tx, event: Any, position: int) -> None:
        if not isinstance(event, Issue.Event):
            return
        params: dict[str, Any] = {
            "id": str(event.originator_id),
            "version": event.originator_version,
        }
        if isinstance(event, Issue.Registered):
            tx.execute(
                "INSERT INTO okr_issues (id, organization_id, tracker, issue_key, version)"
                " VALUES (:id, :org, :tracker, :key, :version) ON CONFLICT (id) DO NOTHING",
                {
                    **params,
                    "org": event.organization_id,
                    "tracker": event.tracker,
                    "key": event.issue_key,
                },
            )
            return
        if isinstance(event, Issue.StatusReported) and event.applied:
            tx.execute(
                "UPDATE okr_issues SET status = :status, raw_status = :raw,"
                " title = COALESCE(:title, title), url = COALESCE(:url, url),"
                " estimate = COALESCE(:estimate, estimate), last_event_id = :event_id,"
                " occurred_at = :occurred_at WHERE id = :id",
                {
                    **params,
                    "status": event.status,
                    "raw": event.raw_status,
                    "title": event.title,
                    "url": event.url,
                    "estimate": event.estimate,
                    "event_id": event.event_id,
                    "occurred_at": event.occurred_at.isoformat(),
                },
            )
        elif isinstance(event, Issue.Linked):
            tx.execute(
                "INSERT INTO okr_issue_links (issue_id, objective_id, key_result_id)"
                " VALUES (:id, :objective, :kr) ON CONFLICT (issue_id, key_result_id) DO NOTHING",
                {**params, "objective": str(event.objective_id), "kr": str(event.key_result_id)},
            )
        elif isinstance(event, Issue.Unlinked):
            tx.execute(
                "DELETE FROM okr_issue_links WHERE issue_id = :id AND key_result_id = :kr",
                {**params, "kr": str(event.key_result_id)},
            )
        tx.execute("UPDATE okr_issues SET version = :version WHERE id = :id", params)


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
