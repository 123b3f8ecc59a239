"""What every objective command shares: the phase check, resolving and checking
the objective above, and one load-authorize-change-save cycle.

Each command checks, in order: the objective exists in the caller's
organization and is visible to them (else NotFound), the caller's rights
(else PermissionDenied), the cycle's phase (else PhaseRuleViolation), then
the aggregate's own rules.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from uuid import UUID

from commands.actor import Actor
from commands.authorization import require_editor, require_visible, require_visible_parent
from commands.base import Written
from commands.reads import rely_on
from commands.teams import LazyManagers, TeamCommands
from domain.alignment import DEFAULT_MAX_DEPTH, ensure_alignment_allowed
from domain.cycle import Cycle, PhaseAction
from domain.errors import Conflict, InvalidCommand, NotFound
from domain.key_result_locator import KeyResultLocator
from domain.objective import Objective
from domain.personal import PersonalKeys, Seal, sealer

SubtreeHeight = Callable[[str, UUID, UUID, int], int]
"""``(organization_id, cycle_id, objective_id, bound)``: objectives on the longest
path down from the objective, itself included, counted up to ``bound + 1``."""

Authorize = Callable[[Actor, Objective, Collection[str]], None]

_PARENT_CHANGES = (
    Objective.Realigned,
    Objective.Archived,
    Objective.Edited,
    Objective.KeyResultArchived,
)
"""The events of an objective aligned to that change whether it may be: the rest
(check-ins above all) leave an alignment below it as valid as it was."""


def unknown_subtree(organization_id: str, cycle_id: UUID, objective_id: UUID, bound: int) -> int:
    """Without a read side (a bare application) the objectives below are unknown:
    only the objective itself is counted."""
    return 1


class ObjectiveCommandsBase(TeamCommands):
    # The write side knows each objective's parent, not its children: the height of
    # a moved objective's subtree comes from the objectives read model, which the
    # runtime wires in here (entrypoints/bootstrap.py) and the API lets catch up first.
    subtree_height: SubtreeHeight | None = None
    # Where each person's key lives (domain/personal.py), wired by the runtime
    # (entrypoints/bootstrap.py). None: a bare application keeps texts as written.
    personal_keys: PersonalKeys | None = None

    def _seal_for(self, actor: Actor) -> Seal:
        """Seals a personal text with its author's key (asked for once, never cached)."""
        return sealer(self.personal_keys, actor.organization_id, actor.user_id)

    @property
    def max_alignment_depth(self) -> int:
        """``OKR_MAX_ALIGNMENT_DEPTH``: objectives on the longest root-to-leaf path."""
        return int(self.env.get("OKR_MAX_ALIGNMENT_DEPTH") or DEFAULT_MAX_DEPTH)

    def _ensure_alignment(
        self, actor: Actor, cycle_id: UUID, objective_id: UUID | None, parent_id: UUID | None
    ) -> None:
        """The alignment rules (domain/alignment.py) for hanging an objective under
        ``parent_id``: a new one (``objective_id`` None) alone, an existing one with
        everything that hangs below it."""
        if parent_id is None:
            return
        bound = self.max_alignment_depth
        height = (
            1
            if objective_id is None
            else (self.subtree_height or unknown_subtree)(
                actor.organization_id, cycle_id, objective_id, bound
            )
        )
        ensure_alignment_allowed(
            objective_id,
            parent_id,
            self._parent_of(actor),
            subtree_height=height,
            max_depth=bound,
        )

    def _parent_of(self, actor: Actor) -> Callable[[UUID], UUID | None]:
        def parent_of(objective_id: UUID) -> UUID | None:
            found = self.find(actor, objective_id, Objective)
            if found is None:
                return None
            # Only a re-alignment of it changes the walk (a loop, the depth).
            rely_on(found, changed_by=(Objective.Realigned,))
            return found.parent_id

        return parent_of

    def _cycle_allows(self, actor: Actor, cycle_id: UUID, action: PhaseAction) -> Cycle:
        cycle = self.load(actor, cycle_id, Cycle)
        cycle.require(action)
        rely_on(cycle)  # a phase change saved before this command refuses it instead
        return cycle

    def _check_parent_visible(
        self, actor: Actor, objective_id: UUID | None, key_result_id: UUID | None
    ) -> None:
        """Before anything else: a parent the caller may not see answers 404, as if it
        did not exist; a missing parent is left to ``_resolve_parent`` (also 404)."""
        if key_result_id is not None:
            locator = self.find(actor, key_result_id, KeyResultLocator)
            parent = None if locator is None else self.find(actor, locator.objective_id, Objective)
            named = f"key result {key_result_id}"
        elif objective_id is not None:
            parent = self.find(actor, objective_id, Objective)
            named = f"objective {objective_id}"
        else:
            return
        if parent is not None:
            managers = self.team_managers(actor, parent.owner_team_id)
            require_visible_parent(actor, parent, managers, named)

    def _resolve_parent(
        self,
        actor: Actor,
        cycle_id: UUID,
        objective_id: UUID | None,
        key_result_id: UUID | None,
    ) -> UUID | None:
        """The objective above: the one named, or the one owning the named KR."""
        if objective_id is not None and key_result_id is not None:
            raise InvalidCommand("align to an objective or to a key result, not both")
        if key_result_id is not None:
            locator = self.find(actor, key_result_id, KeyResultLocator)
            if locator is None:
                raise NotFound(f"key result {key_result_id} not found")
            objective_id = locator.objective_id
            parent = self.load(actor, objective_id, Objective)
            if parent.key_result(key_result_id).archived:
                raise Conflict(f"key result {key_result_id} is archived")
        elif objective_id is not None:
            parent = self.load(actor, objective_id, Objective)
        else:
            return None
        # A parent the caller may not see answers exactly like a missing one.
        require_visible(actor, parent, self.team_managers(actor, parent.owner_team_id))
        # Archived, hidden, its key result archived or re-aligned meanwhile: checked again.
        rely_on(parent, changed_by=_PARENT_CHANGES)
        if parent.archived:
            raise Conflict(f"objective {parent.id} is archived")
        if parent.cycle_id != cycle_id:
            raise InvalidCommand("an objective can only be aligned within its own cycle")
        return parent.id

    def _edit(
        self,
        actor: Actor,
        objective_id: UUID,
        action: PhaseAction,
        command: Callable[[Objective, Collection[str]], object],
        expected_version: int | None,
        may: Authorize = require_editor,
    ) -> Written:
        managers: Collection[str] = frozenset()

        def authorize(objective: Objective) -> None:
            nonlocal managers  # loaded at most once per attempt, used by both steps
            managers = LazyManagers(lambda: self.team_managers(actor, objective.owner_team_id))
            may(actor, objective, managers)

        def checked(objective: Objective) -> object:
            self._cycle_allows(actor, objective.cycle_id, action)
            return command(objective, managers)

        return self.change(
            actor, objective_id, Objective, checked, expected_version, authorize=authorize
        )
