"""What an objective's own fields must be: its level and owner, who sees it, where it hangs.

Checked before an event is triggered (drafting, editing, re-aligning), never
when events are replayed: an old event stays readable whatever these say now.
"""

from __future__ import annotations

from collections.abc import Mapping
from uuid import UUID

from domain.errors import InvalidCommand
from domain.key_result import finite
from domain.personal import Seal, seal_text
from domain.text import check_text, optional_text
from domain.values import Level, NoteTopic, Visibility


def owned_level(level: str, owner_team_id: UUID | None, owner_user_id: str | None) -> Level:
    """The level, checked against its owner: a person for an individual objective,
    a team (and no person) for the others."""
    try:
        kind = Level(level)
    except ValueError:
        raise InvalidCommand(f"unknown level {level!r}") from None
    check_text("owner_user_id", owner_user_id)
    if kind is Level.INDIVIDUAL:
        if not owner_user_id or not owner_user_id.strip():
            raise InvalidCommand("an individual objective needs owner_user_id")
    else:
        if owner_team_id is None:
            raise InvalidCommand(f"an {kind.value}-level objective needs owner_team_id")
        if owner_user_id is not None:
            raise InvalidCommand(f"an {kind.value}-level objective is owned by a team, not a user")
    return kind


def visibility_of(value: str) -> Visibility:
    try:
        return Visibility(value)
    except ValueError:
        raise InvalidCommand(f"unknown visibility {value!r}") from None


def check_one_alignment(objective_id: UUID | None, key_result_id: UUID | None) -> None:
    """An objective hangs from an objective or from a key result, not both."""
    if objective_id is not None and key_result_id is not None:
        raise InvalidCommand("align to an objective or to a key result, not both")


def note_topic(topic: str) -> NoteTopic:
    try:
        return NoteTopic(topic)
    except ValueError:
        raise InvalidCommand(f"unknown note topic {topic!r}") from None


def retrospective_scores(scores: Mapping[UUID, float]) -> dict[str, float]:
    """Each key result's final score, between 0 and 1, by key result id."""
    clean: dict[str, float] = {}
    for key_result_id, score in scores.items():
        value = finite(f"score of {key_result_id}", score, minimum=0)
        if value is None or value > 1:
            raise InvalidCommand(f"score of {key_result_id} must be between 0 and 1")
        clean[str(key_result_id)] = value
    return clean


def retrospective_texts(seal: Seal, **texts: str | None) -> dict[str, str]:
    """A retrospective's answers, each checked, then sealed with its author's key."""
    return {name: seal_text(seal, optional_text(name, text)) or "" for name, text in texts.items()}
