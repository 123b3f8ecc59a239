"""What moved an objective's progress: the cause each progress point records.

Keyed by event class (the class the store resolves, ``Objective.<Name>``),
so a renamed or removed event breaks this module at import, not a reader
silently; a test checks that every event class of ``Objective`` has a cause.
The cause names are stored in the progress points and answered by the API:
they never change.
"""

from __future__ import annotations

from typing import Any, Final

from domain.objective import Objective

CAUSES: Final[dict[type[Objective.Event], str]] = {
    Objective.Drafted: "drafted",
    Objective.KeyResultAdded: "key_result_added",
    Objective.KeyResultEdited: "key_result_edited",
    Objective.KeyResultArchived: "key_result_archived",
    Objective.WeightsChanged: "weight_change",
    Objective.KeyResultCheckedIn: "check_in",
    Objective.IssueLinked: "issue_linked",
    Objective.IssueUnlinked: "issue_unlinked",
    Objective.IssueStatusChanged: "issue_event",
    Objective.Realigned: "realigned",
    Objective.Archived: "archived",
    Objective.Edited: "edited",
    Objective.NoteAdded: "note",
    Objective.RetrospectiveRecorded: "retrospective",
}

CHILD_PROGRESS: Final = "child_progress"
"""The cause of a move that no event of the objective made: a child's progress moved."""

ONE_KR_EVENTS: Final = (Objective.KeyResultCheckedIn, Objective.IssueStatusChanged)
"""Events that change one KR's own state and nothing another KR's progress depends on
(a child's move, in ``ObjectivesView._roll_up``, is the third such change: of one
aligned KR)."""


def cause_of(event: Objective.Event) -> dict[str, Any]:
    """The cause a progress point records for ``event``: its kind, who, and the
    tracker event that caused it (an issue status change)."""
    cause: dict[str, Any] = {"type": CAUSES[type(event)]}
    if isinstance(event, Objective.IssueStatusChanged):
        cause["event_id"] = event.event_id
    actor = getattr(event, "actor", _NO_ACTOR)
    if actor is not _NO_ACTOR:
        cause["actor"] = actor
    return cause


_NO_ACTOR: Final = object()
