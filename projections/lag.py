"""How stale a read model is in seconds: the age of the oldest event it has not
applied yet (0 when caught up). It measures what readers feel whatever the
write rate, which a count of events does not; readiness (SPEC §14) and the
``okr_projection_lag_seconds`` series both use it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from eventsourcing.application import Application


def time_of_next_event(app: Application[Any], position: int) -> datetime | None:
    """When the first event after ``position`` was recorded (None if there is none,
    or if it does not decode: a poison event is parked, not a lag)."""
    found = app.recorder.select_notifications(start=position, limit=1, inclusive_of_start=False)
    if not found:
        return None
    try:
        event: Any = app.mapper.to_domain_event(found[0])
    except Exception:  # an unknown topic or a broken state: no time to tell
        return None
    stamp = event.timestamp
    return stamp if isinstance(stamp, datetime) else None


def lag_seconds(app: Application[Any], position: int, head: int, now: datetime) -> float:
    """Seconds since the oldest event after ``position`` (up to ``head``) was recorded."""
    if position >= head:
        return 0.0
    since = time_of_next_event(app, position)
    return max(0.0, (now - since).total_seconds()) if since is not None else 0.0
