"""Poison events (SPEC §10): one event a read model cannot apply stops only its
organization, in that read model alone; the rest of the log goes on.

The follower hands every event to a read model through ``Parking``:

- ``decode``: a stored event that does not decode (an unknown topic, a broken
  state) becomes ``Undecodable``; each read model parks it as it meets it, with
  no rollback (no model touched it).
- ``apply``: an organization parked in this model's lane is skipped from its
  parked position on (its later events wait for the retry); a failure of the
  model on one event is raised as ``Poison``. The follower rolls the batch
  back (PostgreSQL has aborted the transaction anyway, and the models' memory
  may hold half of the event), resets the models and calls ``record``, which
  parks it in memory once it failed ``park_after`` times in a row; the batch is
  then redone without it, and the row is written in that batch's transaction,
  with the position moving past it.
- ``flush``: a model's failure here names no event; the batch is redone with
  that model flushing after each event (``isolated``), which names it.
- ``begin``, at the start of each catch-up: the parked rows are read back, and
  each row the command line asked to retry is replayed — that organization's
  events from the parked position up to the lane's position, in order, in one
  transaction that also removes the row. Only the follower's own thread moves
  the lane's position, so the replay and the batches cannot overlap.

A lost or busy database (``TRANSIENT``) is never a poison: the batch is rolled
back and tried again, as before.
"""

from __future__ import annotations

import logging
import re
import sqlite3
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.application import Application
from eventsourcing.persistence import InterfaceError, Notification, OperationalError
from eventsourcing.utils import get_topic

from projections import parked
from projections.generations import Lane, LaneMoved, advance
from projections.metrics import PARKED
from projections.organizations import OrganizationOf
from projections.parked import UNKNOWN_ORGANIZATION, ParkedEvent
from projections.readmodel import ReadModel
from projections.store import Tx, ViewStore

log = logging.getLogger(__name__)

TRANSIENT: tuple[type[BaseException], ...] = (
    OperationalError,
    InterfaceError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
    sqlite3.OperationalError,
    sqlite3.InterfaceError,
)
"""A database that went away, is locked or timed out (raw inside a transaction, the
library's own outside it): the batch is retried, nothing is parked."""

NOT_THE_EVENTS_FAULT: tuple[type[BaseException], ...] = (*TRANSIENT, LaneMoved)
"""What makes a retry's replay roll back without counting against the event: the
database, or the lane (another runner took it, or its generation was retired)."""

PARK_AFTER = 3
"""Tries of one event by one model before it is parked: a person must act on a
parked event, so a fluke (an error the list above does not know) gets two more
chances, ``RETRY_PAUSE`` apart."""

ERROR_LENGTH = 500
_CREDENTIALS = re.compile(r"(\w+://)[^/\s@]*@")

Key = tuple[str, str]
"""(organization, aggregate): ``(org, "")``, or ``("", aggregate)`` when unknowable."""


def describe(error: BaseException) -> str:
    """The error as one line for the operator: its type and first line, no credentials."""
    first = (str(error).strip().splitlines() or [""])[0]
    text = f"{type(error).__name__}: {first}" if first else type(error).__name__
    return _CREDENTIALS.sub(r"\1***@", text)[:ERROR_LENGTH]


def now() -> str:
    return datetime.now(UTC).isoformat()


@dataclass(frozen=True)
class Undecodable:
    """A stored event that does not decode; read models park it, none applies it."""

    stored: Notification
    error: str

    @property
    def originator_id(self) -> UUID | str:
        return self.stored.originator_id


class StillUndecodable(Exception):
    """A retry met the parked event, and it still does not decode (its reason given)."""


class Poison(Exception):
    """A read model failed on the event at ``position`` (None: in its flush)."""

    def __init__(
        self, lane: str, model: ReadModel, position: int | None, event: Any, cause: Exception
    ) -> None:
        super().__init__(f"{model.name} failed at position {position}: {describe(cause)}")
        self.lane = lane
        self.model = model
        self.position = position
        self.event = event
        self.cause = cause


class Parking:
    """The follower's poison-event handling for its read models' lanes."""

    def __init__(
        self,
        app: Application[Any],
        store: ViewStore,
        models: Sequence[ReadModel],
        lane: Callable[[ReadModel], str],
        *,
        lane_of: Callable[[ReadModel], Lane],
        partition: str = "0/1",
        organizations: OrganizationOf | None = None,
        page: int = 500,
    ) -> None:
        self._app = app
        self._store = store
        self._models = list(models)
        self._lane = lane
        self._lane_of = lane_of
        self.partition = partition
        self._organizations = organizations or OrganizationOf(app)
        self._page = page
        self.park_after = PARK_AFTER
        self._parked: dict[str, dict[Key, ParkedEvent]] = {}
        self._pending: dict[str, list[ParkedEvent]] = {}
        self._failures: Counter[tuple[str, int]] = Counter()
        self._isolated: set[str] = set()
        parked.create_table(store)

    # ------------------------------------------------------------ each catch-up

    def begin(self) -> None:
        """Read the parked rows back (the table is the truth: an unwritten park is
        found again), then do the retries asked for."""
        lanes = {self._lane(model): model for model in self._models}
        rows = [row for row in parked.parked_events(self._store) if row.lane in lanes]
        self._parked = {}
        self._pending = {}
        for row in rows:
            self._parked.setdefault(row.lane, {})[row.key] = row
        for row in rows:
            if row.retry_requested > 0:
                self._retry(lanes[row.lane], row)
        self._publish()

    # ------------------------------------------------------------ each batch

    def decode(self, notification: Notification) -> Any:
        """The domain event, or ``Undecodable`` (parked by each model that meets it)."""
        try:
            return self._app.mapper.to_domain_event(notification)
        except TRANSIENT:
            raise
        except Exception as error:
            return Undecodable(notification, describe(error))

    def apply(self, model: ReadModel, tx: Tx, event: Any, position: int) -> None:
        """``model.apply``, unless the event's organization is parked in this lane."""
        lane = self._lane(model)
        held = self._parked.get(lane)
        key = self._key(event) if held or isinstance(event, Undecodable) else None
        if held and key is not None:
            row = held.get(key)
            if row is not None and position >= row.position:
                return
        if isinstance(event, Undecodable):
            assert key is not None
            self._hold(lane, model, position, key, event.stored.topic, event.error)
            return
        try:
            model.apply(tx, event, position)
            if lane in self._isolated:
                model.flush(tx)  # one event per flush: a failure here names its event
        except TRANSIENT:
            raise
        except Exception as error:
            raise Poison(lane, model, position, event, error) from error

    def flush(self, model: ReadModel, tx: Tx) -> None:
        """``model.flush``, then the rows of the parks this batch decided."""
        lane = self._lane(model)
        try:
            model.flush(tx)
        except TRANSIENT:
            raise
        except Exception as error:
            raise Poison(lane, model, None, None, error) from error
        pending = self._pending.get(lane)
        if pending:
            parked.insert(tx, pending)

    def record(self, poison: Poison) -> bool:
        """After the batch rolled back: True to redo it at once (the event is parked, or
        the model now flushes per event to name it); False to retry it later."""
        if poison.position is None:
            if poison.lane in self._isolated:
                return False
            log.warning("%s failed in its flush; finding the event", poison.model.name)
            self._isolated.add(poison.lane)
            return True
        self._failures[(poison.lane, poison.position)] += 1
        if self._failures[(poison.lane, poison.position)] < self.park_after:
            return False
        key = self._key(poison.event)
        topic = get_topic(type(poison.event))
        self._hold(poison.lane, poison.model, poison.position, key, topic, describe(poison.cause))
        return True

    def committed(self) -> None:
        """The batch and its parks are written."""
        changed = False
        for rows in self._pending.values():
            for row in rows:
                changed = True
                log.error(
                    "parked position %d in %s for organization %s: %s",
                    row.position,
                    row.model,
                    row.organization,
                    row.error,
                )
        self._pending = {}
        self._failures.clear()
        self._isolated.clear()
        if changed:
            self._publish()

    # ------------------------------------------------------------ inside

    def _key(self, event: Any) -> Key:
        if isinstance(event, Undecodable):
            organization = self._organizations.of_stored(event.stored)
        else:
            organization = self._organizations.of_event(event)
        if organization is None:
            return (UNKNOWN_ORGANIZATION, str(event.originator_id))
        return (organization, "")

    def _hold(
        self, lane: str, model: ReadModel, position: int, key: Key, topic: str, error: str
    ) -> None:
        row = ParkedEvent(
            lane=lane,
            organization_id=key[0],
            aggregate_id=key[1],
            model=model.name,
            position=position,
            topic=topic,
            error=error,
            parked_at=now(),
        )
        self._parked.setdefault(lane, {})[key] = row
        self._pending.setdefault(lane, []).append(row)

    def _retry(self, model: ReadModel, row: ParkedEvent) -> None:
        """Replay the row's organization in its lane, from its position up to the lane's
        position, and remove the row; if it fails again it stays, with the new error."""
        lane = self._lane_of(model)
        upto = lane.position
        at = row.position
        try:
            with self._store.transaction() as store_tx:
                tx = lane.rename.wrap(store_tx)  # the lane's generation's tables
                start, inclusive = row.position, True
                while start <= upto:
                    notifications = self._app.recorder.select_notifications(
                        start=start, limit=self._page, stop=upto, inclusive_of_start=inclusive
                    )
                    for notification in notifications:
                        event = self.decode(notification)
                        if self._key(event) != row.key:
                            continue
                        at = notification.id
                        if isinstance(event, Undecodable):
                            raise StillUndecodable(event.error)
                        model.apply(tx, event, notification.id)
                    model.flush(tx)
                    if len(notifications) < self._page:
                        break
                    start, inclusive = notifications[-1].id, False
                if not parked.remove(store_tx, row):
                    raise LaneMoved(f"{row.lane}: another runner retried it")
                # Compare-and-set at the same position: the lane is still this runner's
                # and its generation still live, or the replay rolls back.
                advance(self._store, store_tx, [(lane, lane.position)])
        except NOT_THE_EVENTS_FAULT:  # try again later
            model.reset()
            raise
        except Exception as error:
            model.reset()
            reason = str(error) if isinstance(error, StillUndecodable) else describe(error)
            if at != row.position:
                reason = f"at position {at}: {reason}"
            with self._store.transaction() as tx:
                parked.failed_again(tx, row, reason, now())
            log.error("retry of %s for %s failed: %s", row.model, row.organization, reason)
            return
        del self._parked[row.lane][row.key]
        log.warning(
            "retried %s for organization %s: applied up to position %d",
            row.model,
            row.organization,
            upto,
        )

    def _publish(self) -> None:
        for model in self._models:
            count = len(self._parked.get(self._lane(model), {}))
            PARKED.labels(model=model.name, partition=self.partition).set(count)
