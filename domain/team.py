"""The ``Team`` aggregate: a node of the organization's hierarchy and its members.

A team's managers may edit the team's objectives and add members; that is
why membership is a fact on the write side and not only a read model.
"""

from __future__ import annotations

from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain import limits
from domain.errors import InvalidCommand
from domain.text import check_text
from domain.values import TeamRole


class Formed(Aggregate.Created):
    """A team was formed (``Team.__init__`` sets the state from these fields)."""

    class_version = 1
    organization_id: str
    name: str
    parent_id: UUID | None
    actor: str


class MemberSet(Aggregate.Event):
    """A user joined the team, or their role in it changed."""

    class_version = 1
    user_id: str
    role: str
    actor: str

    def apply(self, aggregate: Team) -> None:
        aggregate.members[self.user_id] = TeamRole(self.role)


class Team(Aggregate):
    """A team (its events are stored as ``Team.<Name>``)."""

    Formed = Formed
    MemberSet = MemberSet

    @event(Formed)
    def __init__(self, organization_id: str, name: str, parent_id: UUID | None, actor: str) -> None:
        self.organization_id = organization_id
        self.name = name
        self.parent_id = parent_id
        self.members: dict[str, TeamRole] = {}

    @classmethod
    def form(cls, *, organization_id: str, name: str, parent_id: UUID | None, actor: str) -> Team:
        check_text("name", name)
        if not name.strip():
            raise InvalidCommand("a team needs a name")
        return cls(
            organization_id=organization_id, name=name.strip(), parent_id=parent_id, actor=actor
        )

    def set_member(self, user_id: str, role: str, actor: str) -> None:
        """Adding an existing member again changes their role; the same role is a no-op."""
        check_text("user_id", user_id)
        if not user_id.strip():
            raise InvalidCommand("user_id must not be empty")
        try:
            wanted = TeamRole(role)
        except ValueError:
            raise InvalidCommand(f"unknown team role {role!r}") from None
        if self.members.get(user_id) == wanted:
            return
        if user_id not in self.members:
            limits.require_room(
                len(self.members),
                limits.MAX_TEAM_MEMBERS,
                f"the number of members of team {self.name}",
            )
        self.trigger_event(self.MemberSet, user_id=user_id, role=wanted.value, actor=actor)

    def is_manager(self, user_id: str) -> bool:
        return self.members.get(user_id) == TeamRole.MANAGER
