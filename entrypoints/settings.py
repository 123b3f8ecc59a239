"""Configuration: every ``OKR_`` environment variable, each with a working default.

With nothing set, the service runs embedded: SQLite files under ``.okr/``,
projections and issue ingestion in-process.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlsplit

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

POSTGRES_FACTORY_TOPIC = "entrypoints.postgres_events:OkrPostgresFactory"
"""``PERSISTENCE_MODULE`` for PostgreSQL: the class in entrypoints/postgres_events.py."""
SQLITE_FACTORY_TOPIC = "entrypoints.sqlite_events:OkrSQLiteFactory"
"""``PERSISTENCE_MODULE`` for the embedded mode: the class in entrypoints/sqlite_events.py."""


EVENTS_FILE = "okr.sqlite3"
"""The embedded event store's file under ``OKR_DATA_DIR``; its presence says there is data."""


class Settings(BaseSettings):
    """The service's one settings class: every ``OKR_`` variable, read once at the top.

    Layers below never read the environment: the API sees the few values it
    needs through ``api.ports.ApiSettings``; the consumer gets plain values.
    """

    model_config = SettingsConfigDict(env_prefix="OKR_", extra="ignore")

    database_url: str | None = Field(
        default=None,
        description="postgresql://user:password@host:port/dbname; unset = embedded SQLite",
    )
    data_dir: Path = Field(default=Path(".okr"), description="embedded mode's SQLite files")
    kafka_bootstrap: str | None = Field(default=None, description="host:port[,host:port]")
    kafka_topic: str = "okr.issue-events"
    kafka_dlq_topic: str = "okr.issue-events.dlq"
    kafka_group: str = "okr-consumer"
    # -- the issue-event consumer (consumers.ingestion_settings) ---------------
    issue_organization: str = Field(
        default="default",
        min_length=1,
        max_length=200,
        description="organization of a message without an okr-organization header "
        "(a webhook's is always its registration's)",
    )
    kafka_group_instance_id: str | None = Field(
        default=None,
        description="static group membership (KIP-345): a restarted consumer with the same "
        "id takes its partitions back at once, without waiting for a rebalance",
    )
    kafka_session_timeout_ms: int = Field(default=10_000, ge=1_000)
    kafka_max_poll_records: int = Field(default=500, ge=1, le=10_000)
    consumer_max_backoff: float = Field(
        default=10.0, gt=0, description="longest wait, in seconds, between database retries"
    )
    consumer_max_retries: int = Field(
        default=5,
        ge=0,
        le=20,
        description="retries of one organization's share of a batch after an unexpected "
        "error, before its messages go to the dead-letter topic (a database that is away "
        "is waited for, not counted)",
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    workers: int = Field(
        default=1,
        ge=1,
        le=64,
        description="API processes of `okr serve` (above 1 only with PostgreSQL)",
    )
    min_position_timeout: float = Field(default=5.0, le=5.0, ge=0.0)
    projection_poll_interval: float = 1.0
    projection_batch_window: float = Field(
        default=0.01,
        ge=0.0,
        le=1.0,
        description="seconds the projector waits after being woken, so that a busy log "
        "is projected in fewer, larger batches; adds at most this much to projection lag",
    )
    snapshot_interval: int = Field(default=100, ge=0, description="0 disables snapshots")
    aggregate_cache_size: int = Field(
        default=5000, ge=0, description="aggregates kept in memory by the write side; 0: none"
    )
    max_alignment_depth: int = Field(
        default=10,
        ge=1,
        le=100,
        description="objectives on the longest root-to-leaf path of alignments; an "
        "alignment that would make one longer answers 409 alignment_too_deep, and "
        "readers nest stored data no deeper than this",
    )
    postgres_pool_size: int = 5
    token_cache_seconds: float = Field(
        default=2.0,
        ge=0.0,
        le=60.0,
        description="how long the API trusts a token it has checked; a token revoked by "
        "another process stops working within this time; 0 checks every request",
    )
    page_limit: int = Field(
        default=100, ge=1, description="items in a page of a list when the caller gives no limit"
    )
    max_page_limit: int = Field(
        default=500, ge=1, le=10_000, description="the largest `limit` a list accepts; more is 422"
    )
    webhook_registrations_per_organization: int = Field(
        default=100,
        ge=1,
        le=100_000,
        description="most webhook registrations one organization may hold (each one is a "
        "stored secret and a URL that accepts deliveries)",
    )
    # -- limits of SPEC §9 owned by the HTTP edge: bodies, tokens --------------
    max_body_bytes: int = Field(
        default=1_048_576,
        ge=1,
        description="longest request body the API reads (413 beyond), before parsing or auth",
    )
    max_webhook_body_bytes: int = Field(
        default=5 * 1_048_576,
        ge=1,
        description="longest body on /v1/webhooks/... (413 beyond)",
    )

    # -- operating it (SPEC §14): logs, metrics, readiness -----------------------
    log_format: Literal["text", "json"] = Field(
        default="text",
        description="json: one JSON object per line (time, level, logger, message, "
        "request_id, organization) for serve, project and consume",
    )
    metrics_port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="port on OKR_HOST where `okr project` and `okr consume` serve Prometheus "
        "metrics; unset: none (the API always serves them at /metrics)",
    )
    ready_max_lag: float = Field(
        default=5.0,
        gt=0,
        le=86_400,
        description="seconds a read model may lag (age of its oldest unapplied event) "
        "before GET /v1/health/ready answers 503",
    )

    @field_validator("database_url")
    @classmethod
    def _a_postgresql_url(cls, url: str | None) -> str | None:
        """Refused when read, so a typo fails at start with the variable's name."""
        if url and urlsplit(url).scheme not in ("postgresql", "postgres"):
            raise ValueError("must be a postgresql:// URL (or unset for embedded SQLite)")
        return url

    @property
    def embedded(self) -> bool:
        return not self.database_url

    def eventsourcing_env(self) -> dict[str, str]:
        """The ``eventsourcing`` library's own variables for the chosen store."""
        common = {
            "OKR_SNAPSHOT_INTERVAL": str(self.snapshot_interval),
            "OKR_MAX_ALIGNMENT_DEPTH": str(self.max_alignment_depth),
        }
        if self.aggregate_cache_size > 0:
            # Commands load the objective, its team and cycle: a cached aggregate is
            # fast-forwarded with one query instead of rebuilt from snapshot + events.
            # (The library reads 0 as "unbounded", so 0 here sets nothing.)
            common["AGGREGATE_CACHE_MAXSIZE"] = str(self.aggregate_cache_size)
        if self.embedded:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            return {
                **common,
                # The library's SQLite store, asserting what a command read
                # (entrypoints/sqlite_events.py).
                "PERSISTENCE_MODULE": SQLITE_FACTORY_TOPIC,
                "SQLITE_DBNAME": str(self.data_dir / EVENTS_FILE),
                "SQLITE_LOCK_TIMEOUT": "10",
            }
        assert self.database_url is not None
        url = urlsplit(self.database_url)  # a postgresql:// URL: checked when read
        return {
            **common,
            # The library's PostgreSQL store with a faster insert (entrypoints/postgres_events.py).
            "PERSISTENCE_MODULE": POSTGRES_FACTORY_TOPIC,
            "POSTGRES_DBNAME": url.path.lstrip("/") or "okr",
            "POSTGRES_HOST": url.hostname or "127.0.0.1",
            "POSTGRES_PORT": str(url.port or 5432),
            "POSTGRES_USER": unquote(url.username or "okr"),
            "POSTGRES_PASSWORD": unquote(url.password or ""),
            "POSTGRES_POOL_SIZE": str(self.postgres_pool_size),
            "POSTGRES_MAX_OVERFLOW": str(self.postgres_pool_size),
            # No pre-ping (it doubled a check-in's latency): a dead pooled connection
            # fails its statement, and the recorders retry on a fresh one.
            "POSTGRES_PRE_PING": "n",
            # A checkout waiting on a restarted server wakes only at this timeout.
            "POSTGRES_CONNECT_TIMEOUT": "5",
            "POSTGRES_LOCK_TIMEOUT": "5",
        }
