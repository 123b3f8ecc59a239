"""What the API needs of the process that serves it: its own interface, filled on top.

The entry points (``entrypoints/bootstrap.py``) build the application, the
stores and the follower, and hand them to ``api.app.create_app``; the API
sees them only through these two protocols, so nothing in ``api/`` imports
the layer above it. ``entrypoints.bootstrap.Runtime`` and
``entrypoints.settings.Settings`` satisfy them structurally.
"""

from __future__ import annotations

from typing import Protocol

from api.people import People
from api.tokens import TokenStore
from api.webhook_registry import WebhookRegistry
from commands.application import OkrApplication
from projections.follower import Follower
from projections.personal_keys import PersonalKeyStore
from projections.store import ViewStore


class ApiSettings(Protocol):
    """The few settings routes and middleware read (``OKR_*``, see the settings class)."""

    @property
    def embedded(self) -> bool: ...

    @property
    def max_body_bytes(self) -> int: ...

    @property
    def max_webhook_body_bytes(self) -> int: ...

    @property
    def page_limit(self) -> int: ...

    @property
    def max_page_limit(self) -> int: ...

    @property
    def max_alignment_depth(self) -> int: ...

    @property
    def webhook_registrations_per_organization(self) -> int: ...

    @property
    def kafka_bootstrap(self) -> str | None: ...

    @property
    def kafka_topic(self) -> str: ...

    @property
    def ready_max_lag(self) -> float: ...


class Runtime(Protocol):
    """The running service as the API uses it: write side, read models, tokens, webhooks."""

    @property
    def settings(self) -> ApiSettings: ...

    @property
    def app(self) -> OkrApplication: ...

    @property
    def store(self) -> ViewStore: ...

    @property
    def tokens(self) -> TokenStore: ...

    @property
    def people(self) -> People: ...

    @property
    def webhooks(self) -> WebhookRegistry: ...

    @property
    def personal_keys(self) -> PersonalKeyStore:
        """Each person's key for their personal texts (domain/personal.py)."""
        ...

    @property
    def follower(self) -> Follower: ...

    def wait_for(self, position: int | None) -> bool:
        """Read-your-writes: True once the read models reach ``position`` (bounded wait)."""
        ...

    def revive_connections(self) -> None:
        """Drop broken pooled connections after a lost database connection."""
        ...

    def close(self) -> None:
        """Stop following and close the stores."""
        ...
