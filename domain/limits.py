"""How large the parts of an aggregate's state that callers grow may become (SPEC §9).

Everything an aggregate keeps in its state is read on every load and copied
into every snapshot. Whatever one caller can grow by repeating a command is
therefore either kept out of the state (notes live only in their events; a
check-in overwrites the KR's latest values; an issue remembers a bounded
window of event ids, ``domain.issue.RECENT_EVENT_IDS``) or bounded here, so
that loading and saving an aggregate costs the same however long its history.
A command past a bound is refused with 409 ``limit_reached``; nothing is lost,
since each bound is far above what the OKR process needs (the drafting review
already warns past 5 key results).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from domain.errors import LimitReached

if TYPE_CHECKING:
    from domain.objective import Objective

MAX_KEY_RESULTS_PER_OBJECTIVE: Final = 50
"""Key results of one objective, archived ones included (they stay in its state)."""

MAX_LINKED_ISSUES_PER_OBJECTIVE: Final = 1_000
"""Issue links over all key results of one objective (each link is in its state)."""

MAX_LINKS_PER_ISSUE: Final = 100
"""Key results that may link one issue (the issue keeps each link in its state)."""

MAX_TEAM_MEMBERS: Final = 5_000
"""Members of one team (members are never removed, only their role changes)."""


def require_room(count: int, limit: int, what: str) -> None:
    """Refuse the command that would make ``count`` exceed ``limit``."""
    if count >= limit:
        raise LimitReached(f"{what} has reached its limit of {limit}")


def require_room_for_key_result(objective: Objective) -> None:
    require_room(
        len(objective.key_results),
        MAX_KEY_RESULTS_PER_OBJECTIVE,
        f"the number of key results of objective {objective.id}",
    )


def require_room_for_issue_link(objective: Objective) -> None:
    require_room(
        sum(len(kr.issues) for kr in objective.key_results.values()),
        MAX_LINKED_ISSUES_PER_OBJECTIVE,
        f"the number of issues linked to objective {objective.id}",
    )
