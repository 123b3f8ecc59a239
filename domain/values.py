"""Value objects of the OKR domain: the closed vocabularies of SPEC §2.

This module owns every enumerated word the domain uses (levels, visibility,
cycle phases and cadences, progress modes, check-in and issue statuses, team
and token roles, note topics) and the one rule that belongs to a vocabulary
itself: the order in which a cycle's phase may move.

They are ``StrEnum`` so that their values are the exact strings of the SPEC:
they serialise into events and JSON unchanged, and a stored string compares
equal to its member, which keeps old events readable without a mapping table.
"""

from __future__ import annotations

from enum import StrEnum


class Level(StrEnum):
    """Where an objective sits in the organisation."""

    ORGANIZATION = "organization"
    TEAM = "team"
    INDIVIDUAL = "individual"


class Visibility(StrEnum):
    """Who may see an objective; ``public`` is the default."""

    PUBLIC = "public"
    PRIVATE = "private"


class Phase(StrEnum):
    """Phase of a cycle, declared in the only order it may move through.

    The declaration order is the phase order (enum members iterate in it), so
    the forward-only rule (SPEC §2, Cycle: forward, one step at a time) is
    written once, here; ``first``, ``next`` and ``rank`` read it.
    """

    LAUNCH = "launch"
    DRAFTING = "drafting"
    TRACKING = "tracking"
    RETROSPECTIVE = "retrospective"
    CLOSED = "closed"

    @classmethod
    def first(cls) -> Phase:
        """The phase a new cycle starts in."""
        return next(iter(cls))

    @property
    def rank(self) -> int:
        """Position in the phase order, from 0 for the first phase."""
        return list(Phase).index(self)

    def next(self) -> Phase | None:
        """The phase after this one, or ``None`` once the cycle is closed."""
        order = list(Phase)
        return order[self.rank + 1] if self.rank + 1 < len(order) else None


def next_phase(phase: Phase | str) -> Phase | None:
    """The phase a cycle moves to from ``phase``; ``None`` after the last.

    An unknown string raises ``ValueError``.
    """
    return Phase(phase).next()


class Cadence(StrEnum):
    """How long a cycle is meant to run; ``custom`` has no fixed length."""

    QUARTER = "quarter"
    HALF = "half"
    YEAR = "year"
    CUSTOM = "custom"


class ProgressMode(StrEnum):
    """How a key result's progress is measured (the rows of SPEC §2's table)."""

    PERCENTAGE = "percentage"
    NUMERIC = "numeric"
    MILESTONE = "milestone"
    ISSUES = "issues"
    ALIGNED = "aligned"


class KeyResultStatus(StrEnum):
    """Status given at a check-in.

    The seed's words are "normal", "risky" and "falling behind"; the SPEC
    renames them to ``on_track``, ``at_risk`` and ``behind``.
    """

    ON_TRACK = "on_track"
    AT_RISK = "at_risk"
    BEHIND = "behind"
    POSTPONED = "postponed"


class IssueStatus(StrEnum):
    """Canonical status of a linked tracker issue, whatever tracker sent it."""

    TODO = "todo"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    CANCELLED = "cancelled"


class TeamRole(StrEnum):
    """A user's role in a team."""

    MANAGER = "manager"
    MEMBER = "member"


class NoteTopic(StrEnum):
    """Topic of a note on an objective (the seed's communication records)."""

    GOAL_SETTING = "goal_setting"
    PROGRESS = "progress"
    COACHING = "coaching"
    CAREER = "career"
    APPRAISAL = "appraisal"


class TokenRole(StrEnum):
    """What an API token may do: administer, act as a member, or feed issues."""

    ADMIN = "admin"
    MEMBER = "member"
    INTEGRATION = "integration"
