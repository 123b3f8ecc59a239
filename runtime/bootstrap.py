"""The one place that wires settings, the application, read models and followers."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import partial

from api.tokens import TokenStore
from api.webhook_registry import WebhookRegistry
from commands.application import OkrApplication
from projections.alignment_queries import subtree_height
from projections.cycles import CyclesView
from projections.follower import Follower
from projections.issue_links import IssueLinksView
from projections.objectives import ObjectivesView
from projections.readmodel import ReadModel
from projections.store import ViewStore, open_view_store, revive_pool
from projections.teams import TeamsView
from runtime.settings import Settings

log = logging.getLogger(__name__)


def read_models() -> list[ReadModel]:
    """Every read model the service keeps; `okr project` runs them all."""
    return [CyclesView(), TeamsView(), ObjectivesView(), IssueLinksView()]


@dataclass
class Runtime:
    settings: Settings
    app: OkrApplication
    store: ViewStore
    tokens: TokenStore
    webhooks: WebhookRegistry
    follower: Follower
    following: bool = field(default=False)
    closed: bool = field(default=False)

    def start_following(self) -> None:
        """Keep read models up to date in this process (embedded mode, or `okr project`)."""
        if self.settings.embedded:
            self.app.saved_listeners.append(self.follower.wake.set)
        self.follower.start(
            poll_interval=self.settings.projection_poll_interval,
            listen=not self.settings.embedded,
        )
        self.following = True

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
        """Stop following, close both stores; a second call does nothing."""
        if self.closed:
            return
        self.closed = True
        if self.following:
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


def build_runtime(settings: Settings | None = None) -> Runtime:
    settings = settings or Settings()
    app = OkrApplication(env=settings.eventsourcing_env())
    store = open_view_store(views_env(settings))
    # Alignment depth: the write side asks the objectives read model what hangs below.
    app.subtree_height = partial(subtree_height, store)
    follower = Follower(app, store, read_models(), batch_window=settings.projection_batch_window)
    return Runtime(
        settings=settings,
        app=app,
        store=store,
        tokens=TokenStore(store, settings.token_cache_seconds),
        webhooks=WebhookRegistry(store),
        follower=follower,
    )
