"""Who may do what (SPEC §7 "who may"), as rules of the write side.

Every ``require_*`` raises ``PermissionDenied`` or returns. Visibility is
checked first and answers ``NotFound``: a caller who may not see a private
objective must not learn that it exists. Cross-organization access never
reaches here: loading answers ``NotFound`` already.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator

from commands.actor import Actor
from domain.errors import NotFound, PermissionDenied
from domain.objective import Objective
from domain.team import Team
from domain.values import Level, TokenRole
from domain.visibility import Viewer
from domain.visibility import may_see as domain_may_see


def require_admin(actor: Actor, what: str) -> None:
    if not actor.is_admin:
        raise PermissionDenied(f"only an admin may {what}")


def require_person(actor: Actor) -> None:
    """Integration tokens feed issue events and read; they change nothing else."""
    if actor.role is TokenRole.INTEGRATION:
        raise PermissionDenied("an integration token may only submit issue events")


def require_issue_feed(actor: Actor) -> None:
    if actor.role not in (TokenRole.ADMIN, TokenRole.INTEGRATION):
        raise PermissionDenied("only an admin or an integration token may submit issue events")


def is_editor(actor: Actor, objective: Objective, managers: Collection[str]) -> bool:
    """Editors: admins, the owner user, and managers of the owner team."""
    return (
        actor.is_admin
        or (objective.owner_user_id is not None and actor.user_id == objective.owner_user_id)
        or actor.user_id in managers
    )


def may_see(actor: Actor, objective: Objective, managers: Collection[str]) -> bool:
    """The rule of domain/visibility.py, for a loaded aggregate."""
    team = None if objective.owner_team_id is None else str(objective.owner_team_id)
    viewer = Viewer(
        organization_id=actor.organization_id,
        user_id=actor.user_id,
        is_admin=actor.is_admin,
        managed_team_ids=_TeamIfManaged(team, actor.user_id, managers),
    )
    return domain_may_see(
        viewer,
        visibility=objective.visibility,
        owner_user_id=objective.owner_user_id,
        owner_team_id=team,
        contributors=objective.contributors(),
    )


class _TeamIfManaged(Collection[str]):
    """The owner team, as the one team the actor manages, if they manage it.

    Asks ``managers`` (maybe a lazily loaded team) only when the visibility
    rule gets that far: public objectives, admins and owners never need it.
    """

    def __init__(self, team: str | None, user_id: str, managers: Collection[str]) -> None:
        self._team, self._user_id, self._managers = team, user_id, managers

    def __contains__(self, team: object) -> bool:
        return team is not None and team == self._team and self._user_id in self._managers

    def _teams(self) -> frozenset[str]:
        return (
            frozenset({self._team})
            if self._team is not None and self._team in self
            else frozenset()
        )

    def __iter__(self) -> Iterator[str]:
        return iter(self._teams())

    def __len__(self) -> int:
        return len(self._teams())


def require_visible(actor: Actor, objective: Objective, managers: Collection[str]) -> None:
    if not may_see(actor, objective, managers):
        raise NotFound(f"objective {objective.id} not found")


def require_editor(actor: Actor, objective: Objective, managers: Collection[str]) -> None:
    require_visible(actor, objective, managers)
    require_person(actor)
    if not is_editor(actor, objective, managers):
        raise PermissionDenied(
            "only an admin, the owner or a manager of the owner team may change this objective"
        )


def require_key_result_worker(
    actor: Actor, objective: Objective, key_result_id: str, managers: Collection[str]
) -> None:
    """Check-ins and issue links: editors, the KR's assignee and participants."""
    require_visible(actor, objective, managers)
    require_person(actor)
    # The KR's own people first: their right needs no look at the team's managers.
    kr = objective.key_result(key_result_id)
    if actor.user_id == kr.assignee_id or actor.user_id in kr.participant_ids:
        return
    if is_editor(actor, objective, managers):
        return
    raise PermissionDenied(
        "only editors, the key result's assignee or its participants may do this"
    )


def require_may_draft(
    actor: Actor, level: str, owner_user_id: str | None, managers: Collection[str]
) -> None:
    """Organization: admin; team: admin or owner team manager; individual: owner or admin."""
    require_person(actor)
    if actor.is_admin:
        return
    if level == Level.ORGANIZATION:
        raise PermissionDenied("only an admin may draft an organization objective")
    if level == Level.TEAM and actor.user_id not in managers:
        raise PermissionDenied("only an admin or a manager of the owner team may draft it")
    if level == Level.INDIVIDUAL and actor.user_id != owner_user_id:
        raise PermissionDenied("only the owner or an admin may draft an individual objective")


def require_visible_parent(
    actor: Actor, parent: Objective, managers: Collection[str], named: str
) -> None:
    """Aligning to a private objective (or one of its KRs) the caller can't see answers
    exactly like aligning to a missing one: ``named`` is what the caller named."""
    if not may_see(actor, parent, managers):
        raise NotFound(f"{named} not found")


def require_note_author(actor: Actor, objective: Objective, managers: Collection[str]) -> None:
    """Anyone who may see the objective may write a note on it (but not an integration)."""
    require_visible(actor, objective, managers)
    require_person(actor)


def require_team_manager(actor: Actor, team: Team) -> None:
    """Members are set by an admin or a manager of the team."""
    require_person(actor)
    if not (actor.is_admin or team.is_manager(actor.user_id)):
        raise PermissionDenied("only an admin or a manager of the team may set members")


def require_directory_reader(actor: Actor) -> None:
    """The people directory (SPEC §11) is read by people of the organization: admins and
    members. An integration token feeds issue events; it has no need of who is who."""
    if actor.role is TokenRole.INTEGRATION:
        raise PermissionDenied("an integration token may not read the people directory")


def require_directory_editor(actor: Actor) -> None:
    """Names and e-mail addresses are set by an admin of the organization."""
    require_admin(actor, "change the people directory")


def may_read_email(actor: Actor, user_id: str) -> bool:
    """An e-mail address is shown to admins and to the person themselves; other members
    see who is who (id and display name) but not how to write to them."""
    return actor.is_admin or actor.user_id == user_id
