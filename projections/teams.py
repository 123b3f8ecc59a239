"""Read model of teams: the hierarchy and its members (who manages what)."""

from __future__ import annotations

from typing import Any, ClassVar

from domain.team import Team
from projections.readmodel import ReadModel
from projections.store import Row, Tx, ViewStore


class TeamsView(ReadModel):
    name: ClassVar[str] = "teams"
    version: ClassVar[int] = 1
    ddl: ClassVar[tuple[str, ...]] = (
        "CREATE TABLE IF NOT EXISTS okr_teams ("
        " id TEXT PRIMARY KEY,"
        " organization_id TEXT NOT NULL,"
        " name TEXT NOT NULL,"
        " parent_id TEXT,"
        " version INTEGER NOT NULL)",
        "CREATE INDEX IF NOT EXISTS okr_teams_org ON okr_teams (organization_id)",
        "CREATE TABLE IF NOT EXISTS okr_team_members ("
        " team_id TEXT NOT NULL,"
        " user_id TEXT NOT NULL,"
        " organization_id TEXT NOT NULL,"
        " role TEXT NOT NULL,"
        " PRIMARY KEY (team_id, user_id))",
        "CREATE INDEX IF NOT EXISTS okr_team_members_user"
        " ON okr_team_members (organization_id, user_id)",
    )

    def apply(self, tx: Tx, event: Any, position: int) -> None:
        match event:
            case Team.Formed():
                tx.execute(
                    "INSERT INTO okr_teams (id, organization_id, name, parent_id, version)"
                    " VALUES (:id, :org, :name, :parent, :version) ON CONFLICT (id) DO NOTHING",
                    {
                        "id": str(event.originator_id),
                        "org": event.organization_id,
                        "name": event.name,
                        "parent": None if event.parent_id is None else str(event.parent_id),
                        "version": event.originator_version,
                    },
                )
            case Team.MemberSet():
                team = tx.fetchone(
                    "SELECT organization_id FROM okr_teams WHERE id = :id",
                    {"id": str(event.originator_id)},
                )
                assert team is not None, "a member was set on a team the view never saw"
                tx.execute(
                    "INSERT INTO okr_team_members (team_id, user_id, organization_id, role)"
                    " VALUES (:team, :user, :org, :role)"
                    " ON CONFLICT (team_id, user_id) DO UPDATE SET role = excluded.role",
                    {
                        "team": str(event.originator_id),
                        "user": event.user_id,
                        "org": team["organization_id"],
                        "role": event.role,
                    },
                )
                tx.execute(
                    "UPDATE okr_teams SET version = :version WHERE id = :id",
                    {"id": str(event.originator_id), "version": event.originator_version},
                )


def list_teams(store: ViewStore, organization_id: str) -> list[Row]:
    with store.transaction(commit=False) as tx:
        teams = tx.fetchall(
            "SELECT id, name, parent_id, version FROM okr_teams WHERE organization_id = :org"
            " ORDER BY name, id",
            {"org": organization_id},
        )
        members = tx.fetchall(
            "SELECT team_id, user_id, role FROM okr_team_members WHERE organization_id = :org"
            " ORDER BY user_id",
            {"org": organization_id},
        )
    by_team: dict[str, list[Row]] = {}
    for member in members:
        by_team.setdefault(member["team_id"], []).append(
            {"user_id": member["user_id"], "role": member["role"]}
        )
    return [{**team, "members": by_team.get(team["id"], [])} for team in teams]


def teams_page(
    store: ViewStore, organization_id: str, *, after: str | None, limit: int
) -> tuple[list[Row], str | None] | None:
    """One page of the organization's teams by name, id (keyset after the team
    ``after``) with their members, and the id to resume after (None: the end).
    None if ``after`` is no team of this organization."""
    keyset = ""
    params: dict[str, object] = {"org": organization_id, "limit": limit + 1, "after": after}
    with store.transaction(commit=False) as tx:
        if after is not None:
            last = tx.fetchone(
                "SELECT name FROM okr_teams WHERE id = :after AND organization_id = :org", params
            )
            if last is None:
                return None
            params["name"] = last["name"]
            keyset = " AND (name, id) > (:name, :after)"
        teams = tx.fetchall(
            "SELECT id, name, parent_id, version FROM okr_teams WHERE organization_id = :org"
            f"{keyset} ORDER BY name, id LIMIT :limit",
            params,
        )
        more = len(teams) > limit
        teams = teams[:limit]
        by_team: dict[str, list[Row]] = {team["id"]: [] for team in teams}
        if teams:
            marks = ", ".join(f":t{i}" for i in range(len(teams)))
            members = tx.fetchall(
                "SELECT team_id, user_id, role FROM okr_team_members"
                f" WHERE organization_id = :org AND team_id IN ({marks}) ORDER BY user_id",
                {"org": organization_id, **{f"t{i}": t["id"] for i, t in enumerate(teams)}},
            )
            for member in members:
                by_team[member["team_id"]].append(
                    {"user_id": member["user_id"], "role": member["role"]}
                )
    page = [{**team, "members": by_team[team["id"]]} for team in teams]
    return page, (teams[-1]["id"] if more else None)


def get_team(store: ViewStore, organization_id: str, team_id: str) -> Row | None:
    return next((t for t in list_teams(store, organization_id) if t["id"] == team_id), None)


def managed_teams(store: ViewStore, organization_id: str, user_id: str) -> set[str]:
    """The teams this user manages: their managers see the teams' private objectives."""
    with store.transaction(commit=False) as tx:
        rows = tx.fetchall(
            "SELECT team_id FROM okr_team_members WHERE organization_id = :org"
            " AND user_id = :user AND role = 'manager'",
            {"org": organization_id, "user": user_id},
        )
    return {row["team_id"] for row in rows}
