"""The OKR application: one event log, one class composed of the command groups."""

from __future__ import annotations

from typing import ClassVar

from commands.cycles import CycleCommands
from commands.issues import IssueCommands
from commands.objectives import ObjectiveCommands
from domain.objective import Objective


class OkrApplication(ObjectiveCommands, IssueCommands, CycleCommands):
    """Every command of SPEC §7 that writes, one method each."""

    # Objectives collect many events (every check-in); snapshots keep loading fast.
    snapshotting_intervals: ClassVar = {Objective: 100}
