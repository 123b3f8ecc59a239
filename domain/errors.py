"""Typed domain errors: every refused command raises one of these.

The API maps each class to exactly one HTTP status in one place
(``api/errors.py``), so a rule never has to know about HTTP.
"""

from __future__ import annotations


class DomainError(Exception):
    """A command broke a rule of the domain; nothing was written."""

    code = "domain_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidCommand(DomainError):
    """The command's values are impossible (start >= end, target == start, ...)."""

    code = "invalid_command"


class PhaseRuleViolation(DomainError):
    """The cycle's phase does not allow this command (a closed cycle refuses all)."""

    code = "phase_rule"


class AlignmentCycle(DomainError):
    """The alignment would make an objective its own ancestor."""

    code = "alignment_cycle"


class AlignmentTooDeep(DomainError):
    """The alignment would make a chain of aligned objectives longer than the limit."""

    code = "alignment_too_deep"


class NotFound(DomainError):
    """The aggregate or entity does not exist, or not in the caller's organization."""

    code = "not_found"


class PermissionDenied(DomainError):
    """The caller may see the aggregate but may not run this command on it."""

    code = "forbidden"


class VersionMismatch(DomainError):
    """The caller's expected version (If-Match) is not the aggregate's version."""

    code = "version_mismatch"


class Conflict(DomainError):
    """The command clashes with the aggregate's current state (e.g. archived)."""

    code = "conflict"


class LimitReached(Conflict):
    """A bounded part of an aggregate's state is full (SPEC §9: growth of one aggregate)."""

    code = "limit_reached"
