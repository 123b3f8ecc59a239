"""The OKR application: one event log, one class composed of the command groups."""

from __future__ import annotations

from typing import Any, ClassVar

from commands.cycles import CycleCommands
from commands.issues import IssueCommands
from commands.objectives import ObjectiveCommands
from domain.issue import Issue
from domain.objective import Objective

DEFAULT_SNAPSHOT_INTERVAL = 100


class OkrApplication(ObjectiveCommands, IssueCommands, CycleCommands):
    """Every command of SPEC §7 that writes, one method each."""

    # Objectives (every check-in) and issues (every tracker event) collect
    # many events; snapshots keep loading them fast. OKR_SNAPSHOT_INTERVAL
    # changes the interval; 0 turns it off.
    snapshotting_intervals: ClassVar[dict[Any, int]] = {
        Objective: DEFAULT_SNAPSHOT_INTERVAL,
        Issue: DEFAULT_SNAPSHOT_INTERVAL,
    }

    def __init__(self, env: dict[str, str] | None = None) -> None:
        super().__init__(env)
        interval = int(self.env.get("OKR_SNAPSHOT_INTERVAL") or DEFAULT_SNAPSHOT_INTERVAL)
        # Per instance, so two applications in one process may differ (tests do).
        intervals = {Objective: interval, Issue: interval} if interval > 0 else {}
        setattr(self, "snapshotting_intervals", intervals)  # noqa: B010
