"""Who may see what: a private objective, and a personal note. The one home of both
rules, used by commands and every query alike.

Private objectives are seen by admins, the owner user, the managers of the
owner team, and the people who work on its key results (assignees and
participants: they must see what they check in on).

Personal notes (topics ``career`` and ``appraisal``) are about a person, not
about the objective: only their author, the owner user (of an individual
objective), the managers of the owner team and admins read them, whoever
else may see the objective. Notes of other topics follow the objective.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from domain.values import NoteTopic, Visibility

PERSONAL_NOTE_TOPICS = frozenset({NoteTopic.CAREER.value, NoteTopic.APPRAISAL.value})


@dataclass(frozen=True)
class Viewer:
    organization_id: str
    user_id: str
    is_admin: bool
    managed_team_ids: Collection[str] = frozenset()
    # An integration token reads on behalf of a program, not of a person: it is
    # never the author, owner or manager a personal note is meant for.
    is_integration: bool = False


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


def is_personal(topic: str) -> bool:
    """Is a note of this topic about a person (career, appraisal)?"""
    return topic in PERSONAL_NOTE_TOPICS


def may_read_note(
    viewer: Viewer,
    *,
    topic: str,
    author: str | None,
    owner_user_id: str | None,
    owner_team_id: str | None,
) -> bool:
    """May a viewer who sees the objective read this note of it?

    The caller has already applied ``may_see`` to the objective; this adds the
    personal-note rule. ``owner_user_id`` is set only on individual objectives.
    """
    if not is_personal(topic):
        return True
    if viewer.is_integration:
        return False
    if viewer.is_admin:
        return True
    if author is not None and viewer.user_id == author:
        return True
    if owner_user_id is not None and viewer.user_id == owner_user_id:
        return True
    return owner_team_id is not None and owner_team_id in viewer.managed_team_ids
