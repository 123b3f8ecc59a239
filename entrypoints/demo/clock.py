"""A write side that tells time by a clock it is given: the demo's backdated history.

The library stamps an event with the wall clock when an aggregate triggers it
(``eventsourcing.domain.datetime_now_with_tzinfo``). Rather than patching that
function for the whole process, this application restamps the events of each
save with its own ``clock`` before they are recorded, and keeps the
aggregate's created/modified times in step, so the cached aggregate and the
stored events agree. The domain never reads event times while deciding, so a
save's events may take their time at the save. Only ``okr demo`` uses it: the
service's own application keeps the library's clock and pays nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from eventsourcing.domain import BaseAggregate
from eventsourcing.persistence import Recording

from commands.application import OkrApplication


@dataclass
class DemoClock:
    """The story's time: set to a moment, or moved forward."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class BackdatedApplication(OkrApplication):
    """``OkrApplication`` whose events and check-ins happen at ``clock()``."""

    def __init__(self, env: dict[str, str] | None = None, *, clock: Callable[[], datetime]) -> None:
        super().__init__(env)
        self.clock = clock  # the commands' own clock (a check-in's time) too

    def save(self, *objs: Any, **kwargs: Any) -> list[Recording[UUID]]:
        now = self.clock()
        for obj in objs:
            if isinstance(obj, BaseAggregate):
                restamp(obj, now)
        return super().save(*objs, **kwargs)


def restamp(aggregate: BaseAggregate[UUID], at: datetime) -> None:
    """Give the aggregate's pending events, and its times, the moment ``at``."""
    for event in aggregate.pending_events:
        object.__setattr__(event, "timestamp", at)  # events are frozen dataclasses
        if event.originator_version == aggregate.INITIAL_VERSION:
            aggregate._created_on = at
        aggregate._modified_on = at
