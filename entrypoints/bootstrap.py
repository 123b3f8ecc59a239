"""The one place that wires settings, the application, read models and followers."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from urllib.parse import urlsplit

import psycopg
from eventsourcing.persistence import InterfaceError as StoreInterfaceError
from eventsourcing.persistence import OperationalError as StoreOperationalError

from api.people import People
from api.tokens import TokenStore
from api.webhook_registry import WebhookRegistry
from commands.application import OkrApplication
from entrypoints.errors import CannotStart
from entrypoints.schema_lock import schema_lock
from entrypoints.settings import EVENTS_FILE, Settings
from projections.alignment_queries import subtree_height
from projections.cycles import CyclesView
from projections.follower import Follower
from projections.issue_links import IssueLinksView
from projections.objectives import ObjectivesView
from projections.personal_keys import PersonalKeyStore
from projections.readmodel import ReadModel
from projections.store import ViewStore, open_view_store, revive_pool
from projections.teams import TeamsView

log = logging.getLogger(__name__)


def read_models() -> list[ReadModel]:
    """Every read model the service keeps; `okr project` runs them all."""
    return [CyclesView(), TeamsView(), ObjectivesView(), IssueLinksView()]


@dataclass
class Runtime:
    """The running service: what every process (API, projector, consumer, CLI) shares.

    It satisfies ``api.ports.Runtime``, the interface the API owns.
    """

    settings: Settings
    app: OkrApplication
    store: ViewStore
    tokens: TokenStore
    people: People
    webhooks: WebhookRegistry
    follower: Follower
    personal_keys: PersonalKeyStore
    closed: bool = field(default=False)

    def start_following(self) -> None:
        """Keep read models up to date in this process (embedded mode, or `okr project`)."""
        if self.settings.embedded:
            self.app.saved_listeners.append(self.follower.wake.set)
        self.follower.start(
            poll_interval=self.settings.projection_poll_interval,
            listen=not self.settings.embedded,
        )

    def wait_for(self, position: int | None) -> bool:
        """Read-your-writes, bounded by the configured timeout (≤ 5 s)."""
        if not position:
            return True
        return self.follower.wait_for(position, self.settings.min_position_timeout)

    def revive_connections(self) -> None:
        """After a lost database connection: drop the broken pooled connections of
        both stores (the event store's and the read models'), so a retry meets
        fresh ones."""
        revive_pool(getattr(self.app.recorder, "datastore", None))
        self.store.revive()

    def close(self) -> None:
        """Stop following, close both stores; a second call does nothing.

        The follower is stopped whoever started it (``start_following`` or its own
        ``start``): left running, it would retry over closed stores for ever."""
        if self.closed:
            return
        self.closed = True
        self.follower.stop()
        self.app.close()
        self.store.close()
        log.info("closed the event store and the read-model store")


def views_env(settings: Settings) -> dict[str, str]:
    """Read models: a separate SQLite file embedded, the same database on PostgreSQL."""
    env = settings.eventsourcing_env()
    if settings.embedded:
        env["SQLITE_DBNAME"] = str(settings.data_dir / "views.sqlite3")
    return env


def build_runtime(
    settings: Settings | None = None,
    application: Callable[[dict[str, str]], OkrApplication] = OkrApplication,
    share: tuple[int, int] = (0, 1),
) -> Runtime:
    """The wiring, raising the stores' own errors (the consumer retries on them).

    ``application`` makes the write side from the store's environment (the demo
    gives one with its own clock). ``share``: the follower's partition I of N
    (``okr project --partitions N --partition I``).
    """
    settings = settings or Settings()
    with schema_lock(settings):  # every constructor below creates its tables if missing
        app = application(settings.eventsourcing_env())
        store = open_view_store(views_env(settings))
        # Alignment depth: the write side asks the objectives read model what hangs below.
        app.subtree_height = partial(subtree_height, store)
        # Personal texts are sealed with their author's key (domain/personal.py).
        personal_keys = PersonalKeyStore(store)
        app.personal_keys = personal_keys
        partition, partitions = share
        follower = Follower(
            app,
            store,
            read_models(),
            batch_window=settings.projection_batch_window,
            partitions=partitions,
            partition=partition,
        )
        return Runtime(
            settings=settings,
            app=app,
            store=store,
            tokens=TokenStore(store, settings.token_cache_seconds),
            people=People(store),
            webhooks=WebhookRegistry(store),
            follower=follower,
            personal_keys=personal_keys,
        )


def open_runtime(
    settings: Settings,
    *,
    create: bool = True,
    application: Callable[[dict[str, str]], OkrApplication] = OkrApplication,
    share: tuple[int, int] = (0, 1),
) -> Runtime:
    """``build_runtime`` for a command line: each way it cannot start is one line.

    ``create=False`` (a command that only reads or changes what is there):
    embedded with no data yet, say so rather than make an empty ``.okr/``.
    """
    if settings.embedded and not create and not (settings.data_dir / EVENTS_FILE).exists():
        raise CannotStart(
            f"no OKR data in {settings.data_dir}/ (OKR_DATA_DIR; run from the directory that"
            " holds it, or set OKR_DATA_DIR)"
        )
    try:
        return build_runtime(settings, application, share)
    except (OSError, sqlite3.Error) as error:
        if not settings.embedded:
            raise
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        raise CannotStart(
            f"cannot create or open the data directory {settings.data_dir}/"
            f" (OKR_DATA_DIR): {reason}"
        ) from None
    except (StoreOperationalError, StoreInterfaceError, psycopg.Error) as error:
        url = urlsplit(settings.database_url or "")
        where = f"{url.hostname or '127.0.0.1'}:{url.port or 5432}"
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise CannotStart(
            f"cannot reach the database at {where} (OKR_DATABASE_URL): {reason}"
        ) from None
