"""Follows the application's event log and feeds its events to read models.

One loop serves both backends: it reads notifications in batches after the
lowest recorded position, applies each to every read model that has not seen
it, and commits the rows with every model's new position in one transaction.
A crash anywhere rolls the batch back; a restart resumes from the positions.
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
from collections.abc import Callable, Sequence
from typing import Any

from eventsourcing.application import Application
from eventsourcing.persistence import Tracking
from tenacity import (
    RetryCallState,
    RetryError,
    Retrying,
    retry_if_exception_type,
    stop_when_event_set,
    wait_fixed,
)

from projections.parking import Parking, Poison
from projections.readmodel import ReadModel
from projections.store import ViewStore

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
    ) -> None:
        self.app = app
        self.store = store
        self.models = list(models)
        self.batch_size = batch_size
        self.batch_window = batch_window
        self.wake = threading.Event()
        self._urgent = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._listener: threading.Thread | None = None
        self.error: BaseException | None = None
        for model in self.models:
            model.attach(app)
            model.create_tables(store)
        self.parking = Parking(app, store, self.models, self.lane)

    def tracking_name(self, model: ReadModel) -> str:
        return f"{self.app.name}:{model.name}"

    def lane(self, model: ReadModel) -> str:
        """What a parked event of ``model`` is filed under: the position it holds back."""
        return self.tracking_name(model)

    def position(self, model: ReadModel) -> int:
        return self.store.max_tracking_id(self.tracking_name(model)) or 0

    def catch_up(self, on_batch: Callable[[int], None] | None = None) -> int:
        """Apply everything written so far; returns how many events were read."""
        try:
            return self._catch_up(on_batch)
        except BaseException:
            for model in self.models:
                model.reset()  # their caches may hold state of the rolled-back batch
            raise

    def _catch_up(self, on_batch: Callable[[int], None] | None) -> int:
        total = 0
        positions = {model.name: self.position(model) for model in self.models}
        self.parking.begin()  # read the parked events back; replay those asked to retry
        while not self._stop.is_set():
            start = min(positions.values(), default=0)
            notifications = self.app.recorder.select_notifications(
                start=start, limit=self.batch_size, inclusive_of_start=False
            )
            if not notifications:
                break
            try:
                with self.store.transaction() as tx:
                    for notification in notifications:
                        event = self.parking.decode(notification)
                        for model in self.models:
                            if notification.id > positions[model.name]:
                                self.parking.apply(model, tx, event, notification.id)
                    last = notifications[-1].id
                    for model in self.models:
                        self.parking.flush(model, tx)
                    for model in self.models:
                        if last > positions[model.name]:
                            tx.track(Tracking(self.tracking_name(model), last))
            except Poison as poison:
                for model in self.models:
                    model.reset()  # the batch rolled back: so does their memory of it
                if not self.parking.record(poison):
                    raise poison.cause from None  # retried after RETRY_PAUSE; parked if it goes on
                continue  # redo the batch without the parked event
            self.parking.committed()
            for model in self.models:
                positions[model.name] = max(positions[model.name], last)
            total += len(notifications)
            if on_batch is not None:
                on_batch(len(notifications))
            if len(notifications) < self.batch_size:
                break  # that was the end of the log: no need to ask again
        return total

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
            retry=retry_if_exception_type(Exception),
            wait=wait_fixed(RETRY_PAUSE),
            stop=stop_when_event_set(self._stop),
            sleep=self._pause,
            before_sleep=self._failed,
        )
        try:
            retrying(self.catch_up)
        except RetryError:
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


def wait_for_position(
    store: ViewStore,
    app_name: str,
    models: Sequence[ReadModel],
    position: int,
    timeout: float,
) -> bool:
    """True once every model's recorded position is at least ``position``."""

    # A hand-made poll rather than tenacity: it runs after writes that wait for
    # their read models, and most calls return on the first look; a Retrying
    # object per call would cost more than the loop it replaces.
    import time

    deadline = time.monotonic() + timeout
    delay = 0.005
    while True:
        if all((store.max_tracking_id(f"{app_name}:{m.name}") or 0) >= position for m in models):
            return True
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        time.sleep(min(delay, remaining))
        delay = min(delay * 2, 0.1)
