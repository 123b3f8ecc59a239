"""Team commands: form teams into a hierarchy and set their members."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from uuid import UUID

from commands.actor import Actor
from commands.authorization import require_admin, require_team_manager
from commands.base import CommandsBase, Written
from commands.messages import FormTeam, SetTeamMember
from commands.reads import rely_on
from domain.team import Team


class LazyManagers(Collection[str]):
    """A team's managers, loaded only when a rule asks about them.

    Most check-ins come from the key result's assignee on a public objective,
    whose right depends on neither; not loading the team saves a store query.
    """

    def __init__(self, load: Callable[[], frozenset[str]]) -> None:
        self._load = load
        self._managers: frozenset[str] | None = None

    def _get(self) -> frozenset[str]:
        if self._managers is None:
            self._managers = self._load()
        return self._managers

    def __contains__(self, user_id: object) -> bool:
        return user_id in self._get()

    def __iter__(self) -> Iterator[str]:
        return iter(self._get())

    def __len__(self) -> int:
        return len(self._get())


class TeamCommands(CommandsBase):
    def form_team(self, actor: Actor, command: FormTeam) -> Written:
        require_admin(actor, "form a team")
        if command.parent_id is not None:
            self.load(actor, command.parent_id, Team)
        team = Team.form(
            organization_id=actor.organization_id,
            name=command.name,
            parent_id=command.parent_id,
            actor=actor.label,
        )
        return self.create(team)

    def set_team_member(self, actor: Actor, command: SetTeamMember) -> Written:
        def set_member(team: Team) -> None:
            require_team_manager(actor, team)
            team.set_member(command.user_id, command.role, actor=actor.label)

        return self.change(actor, command.team_id, Team, set_member, command.expected_version)

    def team_managers(self, actor: Actor, team_id: UUID | None) -> frozenset[str]:
        """Managers of the owner team; none when the team is gone or not set."""
        if team_id is None:
            return frozenset()
        team = self.find(actor, team_id, Team)
        if team is None:
            return frozenset()
        rely_on(team)  # a manager's right withdrawn meanwhile: checked again
        return frozenset(user for user in team.members if team.is_manager(user))
