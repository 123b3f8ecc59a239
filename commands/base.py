"""The write path's common machinery: load within a tenant, change, save, retry.

Optimistic concurrency: a save that loses the race raises the store's
``IntegrityError``; we reload and run the command again, so concurrent writers
never lose an update. A caller that named the version it expects (If-Match)
gets ``VersionMismatch`` instead of a retry. What a command read of other
aggregates (a cycle's phase, the objectives above) is asserted unchanged in
the same insert (commands/reads.py); if it changed, the command runs again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application, Repository
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, JSONTranscoder, Transcoding
from eventsourcing.utils import strtobool

from commands.actor import Actor
from commands.reads import UNCHANGED, ReadsChanged, collecting, reads_to_assert
from commands.snapshots import SnapshotCheckingRepository
from domain.errors import NotFound, VersionMismatch
from domain.key_result import KeyResult

A = TypeVar("A", bound=Aggregate)
T = TypeVar("T")

MAX_ATTEMPTS = 100


@dataclass(frozen=True)
class Written:
    """What a write answers: the aggregate's id and new version, and the log position."""

    id: UUID
    version: int
    position: int
    key_result_id: UUID | None = None


class DateAsISO(Transcoding):
    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class KeyResultAsDict(Transcoding):
    """Snapshots of objectives hold their key results, each with its shape version.

    ``KeyResult.from_dict`` upcasts an older shape; a shape it cannot read raises,
    and the repository then ignores the snapshot (``commands/snapshots.py``).
    """

    type = KeyResult
    name = "key_result"

    def encode(self, obj: KeyResult) -> dict[str, Any]:
        return obj.to_dict()

    def decode(self, data: dict[str, Any]) -> KeyResult:
        return KeyResult.from_dict(data)


class CommandsBase(Application[UUID]):
    """Base of the OKR application: persistence, tenancy and retry in one place."""

    name = "okr"

    def __init__(self, env: dict[str, str] | None = None) -> None:
        super().__init__(env)
        # Called after every save: the embedded mode wakes its projections here.
        self.saved_listeners: list[Callable[[], None]] = []
        # When a check-in happens; only the demo loader sets another clock.
        self.clock: Callable[[], datetime] = lambda: datetime.now(UTC)
        # Called after a command's checks, just before its events are saved. Tests
        # set it to force interleavings of concurrent commands (a barrier); the
        # service leaves it unset.
        self.before_save: Callable[[], None] | None = None

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())
        transcoder.register(KeyResultAsDict())

    def construct_repository(self) -> Repository[UUID]:
        """The library's repository, with the same settings, reading snapshots checked."""
        cache_maxsize = self.env.get(self.AGGREGATE_CACHE_MAXSIZE)
        return SnapshotCheckingRepository(
            event_store=self.events,
            snapshot_store=self.snapshots,
            cache_maxsize=int(cache_maxsize) if cache_maxsize else None,
            fastforward=strtobool(self.env.get(self.AGGREGATE_CACHE_FASTFORWARD, "y")),
            fastforward_skipping=strtobool(
                self.env.get(self.AGGREGATE_CACHE_FASTFORWARD_SKIPPING, "n")
            ),
            deepcopy_from_cache=strtobool(self.env.get(self.DEEPCOPY_FROM_AGGREGATE_CACHE, "y")),
        )

    def load(self, actor: Actor, aggregate_id: UUID, cls: type[A]) -> A:
        """Another organization's aggregate answers exactly like a missing one."""
        found = self.find(actor, aggregate_id, cls)
        if found is None:
            raise NotFound(f"{cls.__name__.lower()} {aggregate_id} not found")
        return found

    def find(self, actor: Actor, aggregate_id: UUID, cls: type[A]) -> A | None:
        try:
            aggregate: Aggregate = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None
        if not isinstance(aggregate, cls) or (
            getattr(aggregate, "organization_id", None) != actor.organization_id
        ):
            return None
        return aggregate

    def record(self, *aggregates: Aggregate) -> int:
        """Save and return the position (notification id) of the last new event.

        The aggregates the command relied on but does not save go with the events,
        for the recorder to assert unchanged inside the insert (commands/reads.py).
        """
        unchanged = reads_to_assert({a.id for a in aggregates})
        if self.before_save is not None:
            self.before_save()
        recordings = self.save(*aggregates, **({UNCHANGED: unchanged} if unchanged else {}))
        for listener in self.saved_listeners:
            listener()
        if not recordings:
            return self.recorder.max_notification_id() or 0
        last = recordings[-1].notification.id
        assert last is not None
        return int(last)

    def create(self, aggregate: Aggregate, *others: Aggregate) -> Written:
        position = self.record(aggregate, *others)
        return Written(id=aggregate.id, version=aggregate.version, position=position)

    def retrying(self, attempt: Callable[[], T], expected_version: int | None = None) -> T:
        """Run ``attempt`` (load, decide, save) again whenever a concurrent write won.

        A clash on what the attempt only read (``ReadsChanged``) is retried even
        with If-Match: the caller's version was about the aggregate it changes,
        which the next attempt checks again.
        """
        for _ in range(MAX_ATTEMPTS):
            try:
                with collecting():
                    return attempt()
            except ReadsChanged:
                continue
            except IntegrityError:
                if expected_version is not None:
                    raise VersionMismatch(
                        f"version {expected_version} was overtaken by a concurrent write"
                    ) from None
        raise IntegrityError(f"gave up after {MAX_ATTEMPTS} concurrent clashes")  # pragma: no cover

    @staticmethod
    def check_version(aggregate: Aggregate, expected_version: int | None) -> None:
        if expected_version is not None and aggregate.version != expected_version:
            raise VersionMismatch(
                f"expected version {expected_version}, it is at version {aggregate.version}"
            )

    def change(
        self,
        actor: Actor,
        aggregate_id: UUID,
        cls: type[A],
        command: Callable[[A], object],
        expected_version: int | None = None,
        authorize: Callable[[A], object] | None = None,
    ) -> Written:
        """Run ``command`` on a fresh copy of one aggregate until it saves.

        ``authorize`` runs before the If-Match check, so a caller who may not
        see the aggregate learns nothing from a version mismatch.
        """

        def attempt() -> Written:
            aggregate = self.load(actor, aggregate_id, cls)
            if authorize is not None:
                authorize(aggregate)
            self.check_version(aggregate, expected_version)
            result = command(aggregate)
            position = self.record(aggregate)
            return Written(
                id=aggregate.id,
                version=aggregate.version,
                position=position,
                key_result_id=result if isinstance(result, UUID) else None,
            )

        return self.retrying(attempt, expected_version)
