"""Follows the application's event log and feeds its events to read models.

One loop serves both backends: it reads notifications in batches after the
lowest position of its lanes (each model's generation and share, see
``projections.lanes``), applies each to every model that has not seen it
and whose share holds the event's organization, and commits the rows with
every lane's new position in one transaction. The positions move by
compare-and-set (``generations.advance``): a batch whose positions another
process covered, or whose generation was retired by a switch, rolls back
and the runner looks again where it stands. A crash anywhere rolls the batch
back; a restart resumes from the positions.
An event that one read model cannot apply is parked for its organization in
that model alone (``projections.parking``), and the batch redone without it.

What wakes the loop differs: in the embedded (SQLite) mode the application
signals after each save; on PostgreSQL a LISTEN on the event table's channel
does, with a poll as a safety net in both.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from eventsourcing.application import Application
from eventsourcing.persistence import Notification
from tenacity import (
    RetryCallState,
    RetryError,
    Retrying,
    retry_if_exception,
    retry_if_exception_type,
    stop_when_event_set,
    wait_fixed,
)

from projections import metrics
from projections.generations import (
    Lane,
    LaneMoved,
    ProjectionRefused,
    advance,
    any_retired,
    prepare,
    wait_for_position,
)
from projections.generations import served_positions as _served_positions
from projections.lag import lag_seconds
from projections.lanes import resolve
from projections.organizations import OrganizationOf, partition_of
from projections.parking import Parking, Poison
from projections.readmodel import ReadModel
from projections.store import ViewStore
from projections.switch import drop_retired, switch

log = logging.getLogger(__name__)

RETRY_PAUSE = 1.0
"""Seconds between two tries of a failed batch (or of a lost LISTEN connection)."""


class Follower:
    def __init__(
        self,
        app: Application[Any],
        store: ViewStore,
        models: Sequence[ReadModel],
        batch_size: int = 500,
        batch_window: float = 0.0,
        partitions: int = 1,
        partition: int = 0,
        generation: int | None = None,
    ) -> None:
        if not 0 <= partition < partitions:
            raise ValueError(f"partition {partition} is not one of 0..{partitions - 1}")
        self.app = app
        self.store = store
        self.models = list(models)
        self.batch_size = batch_size
        self.batch_window = batch_window
        self.partitions = partitions
        self.partition = partition
        self.generation = generation
        self.wake = threading.Event()
        self._urgent = threading.Event()
        self._stop = threading.Event()
        self.stale = threading.Event()
        """Set when stored events were rewritten (an erasure of legacy plaintext): the
        models drop the aggregates they hold before the next batch."""
        self._thread: threading.Thread | None = None
        self._listener: threading.Thread | None = None
        self.error: BaseException | None = None
        self.refused: ProjectionRefused | None = None
        self.moved = 0
        """Batches rolled back because their lane moved (CAS lost, or retired)."""
        self.before_writing: Callable[[Sequence[Notification]], None] | None = None
        """Tests only: called with a batch read and decoded, before its transaction."""
        self._lanes: list[Lane] | None = None
        self._organizations = OrganizationOf(app)
        self._label = f"{partition}/{partitions}"
        for model in self.models:
            model.attach(app)
        if generation is None:
            prepare(store, app.name, self.models)
        self.parking = Parking(
            app,
            store,
            self.models,
            self.lane,
            partition=self._label,
            organizations=self._organizations,
            lane_of=self._lane_of,
        )
        if generation is not None:
            self.parking.park_after = 1  # a rebuild's batch is retried by no one

    def lanes(self) -> list[Lane]:
        """Where this runner writes each model; raises ``ProjectionRefused``."""
        if self._lanes is None:
            self._lanes = resolve(
                self.store, self.models, self.partitions, self.partition, self.generation
            )
        return self._lanes

    def lane(self, model: ReadModel) -> str:
        """The model's generation and share, e.g. ``objectives@g3#0/2``."""
        return self._lane_of(model).name

    def _lane_of(self, model: ReadModel) -> Lane:
        return next(lane for lane in self.lanes() if lane.model.name == model.name)

    def position(self, model: ReadModel) -> int:
        """Up to where the SERVED tables of ``model`` are complete for every organization."""
        return _served_positions(self.store).get(model.name, 0)

    def catch_up(
        self, on_batch: Callable[[int], None] | None = None, until: int | None = None
    ) -> int:
        """Apply everything written so far (or up to ``until``); returns how many
        events were read."""
        try:
            return self._catch_up(on_batch, until)
        except BaseException:
            self._forget()
            raise

    def _forget(self) -> None:
        """After a rollback: models' caches may hold the batch's state, and the lanes'
        positions are read again from the database."""
        for model in self.models:
            model.reset()
        self._lanes = None

    def _catch_up(self, on_batch: Callable[[int], None] | None, until: int | None) -> int:
        total = 0
        lanes = self.lanes()
        self.parking.begin()  # read the parked events back; replay those asked to retry
        while not self._stop.is_set():
            if self.stale.is_set():
                self.stale.clear()
                for model in self.models:
                    model.reset()
            start = min(lane.position for lane in lanes)
            if until is not None and start >= until:
                break
            began = time.perf_counter()
            notifications = self.app.recorder.select_notifications(
                start=start, limit=self.batch_size, stop=until, inclusive_of_start=False
            )
            if not notifications:
                break
            mine, events = self._share_of(notifications)
            last = notifications[-1].id
            if self.before_writing is not None:
                self.before_writing(notifications)
            applied = dict.fromkeys((lane.model.name for lane in lanes), 0)
            try:
                with self.store.transaction() as tx:
                    writers = [(lane, lane.rename.wrap(tx)) for lane in lanes]
                    for notification, event, ours in zip(notifications, events, mine, strict=True):
                        if not ours:
                            continue
                        for lane, lane_tx in writers:
                            if notification.id > lane.position:
                                self.parking.apply(lane.model, lane_tx, event, notification.id)
                                applied[lane.model.name] += 1
                    for lane, lane_tx in writers:
                        self.parking.flush(lane.model, lane_tx)
                    moves = [(lane, last) for lane in lanes if last > lane.position]
                    advance(self.store, tx, moves)
            except Exception as error:
                # A lane moved (CAS lost, generation retired), or a switch dropped the
                # tables of an idle runner's retired generation: look again and go on.
                if isinstance(error, LaneMoved) or any_retired(self.store, lanes):
                    log.info("read-model batch rolled back: %s; looking again", error)
                    self.moved += 1
                    self._forget()
                    drop_retired(self.store)
                    lanes = self.lanes()
                    self.parking.begin()
                    continue
                if not isinstance(error, Poison):
                    raise
                for model in self.models:
                    model.reset()  # the batch rolled back: so does their memory of it
                if not self.parking.record(error):
                    raise error.cause from None  # retried after RETRY_PAUSE; parked if it goes on
                continue  # redo the batch without the parked event
            self.parking.committed()
            for lane in lanes:
                lane.position = max(lane.position, last)
            self._measure(lanes, applied, began, len(notifications) < self.batch_size, last)
            total += len(notifications)
            if on_batch is not None:
                on_batch(len(notifications))
            if len(notifications) < self.batch_size:
                break  # that was the end of the log: no need to ask again
        if until is not None and not self._stop.is_set():
            self._advance_to(lanes, until)
        if self.generation is None and any(lane.building for lane in lanes):
            self._switch_when_caught_up(lanes)
        return total

    def _advance_to(self, lanes: Sequence[Lane], until: int) -> None:
        """Everything up to ``until`` was read: a lane short of it (no event of its
        share came after its position) moves there, so all shares meet at ``until``."""
        behind = [(lane, until) for lane in lanes if lane.position < until]
        if behind:
            with self.store.transaction() as tx:
                advance(self.store, tx, behind)
            for lane, _ in behind:
                lane.position = until

    def _share_of(self, notifications: Sequence[Notification]) -> tuple[list[bool], list[Any]]:
        """Which events belong to this runner's organizations (all, for one runner),
        and those decoded. An event of an aggregate whose organization is already
        known is sorted before decoding: a runner of one share of N would otherwise
        decode the whole log, N runners N times over. (Others are left undecoded:
        ``None``.)"""
        if self.partitions == 1:
            return [True] * len(notifications), [self.parking.decode(n) for n in notifications]
        mine: list[bool] = []
        events: list[Any] = []
        for notification in notifications:
            known, organization = self._organizations.cached(notification.originator_id)
            if known and partition_of(organization, self.partitions) != self.partition:
                mine.append(False)
                events.append(None)
                continue
            event = self.parking.decode(notification)
            organization = self._organizations.of_event(event)
            mine.append(partition_of(organization, self.partitions) == self.partition)
            events.append(event)
        return mine, events

    def _switch_when_caught_up(self, lanes: Sequence[Lane]) -> None:
        """A newer code version built beside the served one: serve it once every share
        is as far as the served generation (any share's runner may find it so)."""
        building = {lane.model.name: lane.generation for lane in lanes if lane.building}
        if switch(self.store, building):
            log.info("serving the newer read models now: %s", building)
            self._lanes = None

    def _measure(
        self,
        lanes: Sequence[Lane],
        applied: dict[str, int],
        began: float,
        at_end: bool,
        last: int,
    ) -> None:
        """The Prometheus series after a committed batch: a few label lookups, and one
        query for the log's end only when the batch was full (else it is ``last``)."""
        head = last if at_end else (self.app.recorder.max_notification_id() or last)
        metrics.BATCH_SECONDS.labels(self._label).observe(time.perf_counter() - began)
        now = datetime.now(UTC)
        seconds: dict[int, float] = {}  # lanes at one position share the one lookup
        for lane in lanes:
            name = lane.model.name
            if lane.position not in seconds:
                seconds[lane.position] = lag_seconds(self.app, lane.position, head, now)
            metrics.POSITION.labels(name, self._label).set(lane.position)
            metrics.LAG_EVENTS.labels(name, self._label).set(max(0, head - lane.position))
            metrics.LAG_SECONDS.labels(name, self._label).set(seconds[lane.position])
            metrics.APPLIED.labels(name, self._label).inc(applied[name])

    def run(self, poll_interval: float = 1.0) -> None:
        """Follow until stopped; a failing batch is logged and retried, never skipped.

        Once woken, it waits ``batch_window`` seconds before reading, unless a
        reader in this process is waiting for a position: under load a batch
        then carries many events, and the fixed cost of a batch (its
        transaction and a position per model) is paid once for all of them.
        """
        while not self._stop.is_set():
            self.wake.clear()
            self._urgent.clear()
            if not self._catch_up_until_it_succeeds():
                return
            self.error = None
            if self.wake.wait(poll_interval) and self.batch_window > 0:
                self._urgent.wait(self.batch_window)

    def _catch_up_until_it_succeeds(self) -> bool:
        """One ``catch_up``, retried after ``RETRY_PAUSE`` while it fails (the batch
        rolled back: nothing is skipped); False if stopped before it succeeded."""
        retrying = Retrying(
            retry=retry_if_exception(lambda error: not isinstance(error, ProjectionRefused)),
            wait=wait_fixed(RETRY_PAUSE),
            stop=stop_when_event_set(self._stop),
            sleep=self._pause,
            before_sleep=self._failed,
        )
        try:
            retrying(self.catch_up)
        except RetryError:
            return False
        except ProjectionRefused as refused:
            # Older code than what is served, or another layout: stop, never write.
            log.error("read-model runner stops: %s", refused)
            self.refused = self.error = refused
            self._stop.set()
            return False
        return True

    def _pause(self, seconds: float) -> None:
        """Wait between tries; a stop ends the pause at once."""
        self._stop.wait(seconds)

    def _lost_connection(self, attempt: RetryCallState) -> None:
        error = attempt.outcome.exception() if attempt.outcome is not None else None
        log.error("LISTEN connection failed; reconnecting", exc_info=error)

    def _failed(self, attempt: RetryCallState) -> None:
        error = attempt.outcome.exception() if attempt.outcome is not None else None
        log.error("read-model batch failed; retrying", exc_info=error)
        metrics.FAILED_BATCHES.labels(self._label).inc()
        self.error = error

    def start(self, poll_interval: float = 1.0, listen: bool = False) -> None:
        if listen:
            self._listener = threading.Thread(target=self._listen, name="okr-listen", daemon=True)
            self._listener.start()
        self._thread = threading.Thread(
            target=self.run, args=(poll_interval,), name="okr-follower", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._urgent.set()
        self.wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._listener is not None:
            self._listener.join(timeout=2)

    def wait_for(self, position: int, timeout: float) -> bool:
        """Read-your-writes: block until every model has applied ``position``."""
        self._urgent.set()
        self.wake.set()
        return wait_for_position(self.store, self.app.name, self.models, position, timeout)

    @property
    def running(self) -> bool:
        """The follower thread is alive (it ends when stopped, or when refused)."""
        return self._thread is not None and self._thread.is_alive()

    def _listen(self) -> None:
        """PostgreSQL only: the event table NOTIFYs its channel on every insert; a lost
        connection is opened again after ``RETRY_PAUSE``, until the follower stops."""
        retrying = Retrying(
            retry=retry_if_exception_type(Exception),
            wait=wait_fixed(RETRY_PAUSE),
            stop=stop_when_event_set(self._stop),
            sleep=self._pause,
            before_sleep=self._lost_connection,
        )
        with contextlib.suppress(RetryError):
            retrying(self._listen_once)

    def _listen_once(self) -> None:
        from psycopg.sql import SQL, Identifier

        recorder: Any = self.app.recorder
        with recorder.datastore.get_connection() as conn:
            conn.execute(SQL("LISTEN {0}").format(Identifier(recorder.channel_name)))
            conn.commit()
            while not self._stop.is_set():
                for _ in conn.notifies(timeout=0.2, stop_after=1):
                    self.wake.set()
