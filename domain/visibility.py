"""Who may see a private objective: the one rule, used by commands and queries alike.

Private objectives are seen by admins, the owner user, the managers of the
owner team, and the people who work on its key results (assignees and
participants: they must see what they check in on).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from domain.values import Visibility


@dataclass(frozen=True)
class Viewer:
    organization_id: str
    user_id: str
    is_admin: bool
    managed_team_ids: Collection[str] = frozenset()


def may_see(
    viewer: Viewer,
    *,
    visibility: str,
    owner_user_id: str | None,
    owner_team_id: str | None,
    contributors: Collection[str],
) -> bool:
    if visibility == Visibility.PUBLIC or viewer.is_admin:
        return True
    if owner_user_id is not None and viewer.user_id == owner_user_id:
        return True
    if owner_team_id is not None and owner_team_id in viewer.managed_team_ids:
        return True
    return viewer.user_id in contributors
