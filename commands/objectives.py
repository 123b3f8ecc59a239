"""Objective commands, one module per job: drafting (commands/drafting.py), key
results (commands/key_results.py), tracking (commands/tracking.py), notes and
retrospectives (commands/notes.py), on the shared steps of
commands/objective_base.py."""

from __future__ import annotations

from commands.drafting import DraftingCommands
from commands.key_results import KeyResultCommands
from commands.notes import NoteCommands
from commands.objective_base import SubtreeHeight, unknown_subtree
from commands.tracking import TrackingCommands

__all__ = ["ObjectiveCommands", "SubtreeHeight", "unknown_subtree"]


class ObjectiveCommands(DraftingCommands, KeyResultCommands, TrackingCommands, NoteCommands):
    """Every command on an objective and its key results."""
