"""Readiness (SPEC §14): may a load balancer send this process traffic now?

Ready means the event store answers and every read model is within
``OKR_READY_MAX_LAG`` seconds of the log. A read model's lag in seconds is
the age of the oldest event it has not applied yet (0 when it is caught up):
it measures how stale what readers see is, whatever the write rate, which a
count of events does not.

It answers within ``ANSWER_WITHIN`` seconds whatever the stores do: a
database that is gone makes the store library retry for many seconds, and a
probe that hangs is worse than one that says no. The check runs in a daemon
thread; concurrent polls share the check in flight, so a stuck store holds
one thread, not one per poll.

It is polled, so it stays cheap: one query for the log's end, one indexed
lookup per read model for its served position, and only for a model that is
behind, one read of the single next event (models at the same position share
it). What it reports names the part that is not ready and by how much, never
an organization's data; positions are left out, as they are global.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime

from api.ports import Runtime
from projections.lag import time_of_next_event

log = logging.getLogger(__name__)

ANSWER_WITHIN = 2.0
"""Seconds a readiness poll waits for the stores before answering "not ready"."""


@dataclass
class Readiness:
    """What is not ready, one short line each (empty: ready)."""

    problems: list[str] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        return not self.problems


def check_readiness(runtime: Runtime, now: datetime | None = None) -> Readiness:
    """The event store's answer, then each read model's lag against the limit."""
    limit = runtime.settings.ready_max_lag
    try:
        end = runtime.app.recorder.max_notification_id() or 0
    except Exception as error:  # any failure of the store is "not ready", never a 500
        log.warning("readiness: the event store does not answer (%s)", type(error).__name__)
        return Readiness(["the event store does not answer"])
    follower = runtime.follower
    try:
        positions = {model.name: follower.position(model) for model in follower.models}
    except Exception as error:
        log.warning("readiness: the read-model store does not answer (%s)", type(error).__name__)
        return Readiness(["the read-model store does not answer"])
    now = now or datetime.now(UTC)
    oldest: dict[int, datetime | None] = {}
    problems = []
    for name, position in positions.items():
        if position >= end:
            continue
        if position not in oldest:
            try:
                oldest[position] = time_of_next_event(runtime.app, position)
            except Exception as error:
                log.warning("readiness: cannot read the event log (%s)", type(error).__name__)
                return Readiness(["the event store does not answer"])
        since = oldest[position]
        lag = (now - since).total_seconds() if since is not None else 0.0
        if lag > limit:
            problems.append(f"read model {name} is {lag:.0f} s behind (limit {limit:g} s)")
    return Readiness(problems)


class ReadinessProbe:
    """One per app: runs ``check_readiness`` off the event loop, one check at a time."""

    def __init__(self, runtime: Runtime, answer_within: float = ANSWER_WITHIN) -> None:
        self.runtime = runtime
        self.answer_within = answer_within
        self._in_flight: Future[Readiness] | None = None
        self._lock = threading.Lock()

    def _start(self) -> Future[Readiness]:
        with self._lock:
            if self._in_flight is None or self._in_flight.done():
                future: Future[Readiness] = Future()

                def run() -> None:
                    try:
                        future.set_result(check_readiness(self.runtime))
                    except BaseException as error:  # reported to the waiting poll
                        future.set_exception(error)

                threading.Thread(target=run, name="okr-readiness", daemon=True).start()
                self._in_flight = future
            return self._in_flight

    async def check(self) -> Readiness:
        waiting = asyncio.wrap_future(self._start())
        try:
            return await asyncio.wait_for(asyncio.shield(waiting), self.answer_within)
        except TimeoutError:
            return Readiness([f"the stores do not answer within {self.answer_within:g} s"])
