"""The FastAPI application: routers under /v1, error handlers, the runtime.

The runtime is built above (``entrypoints/``) and handed in: the API knows it
only as ``api.ports.Runtime``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from api import access_log
from api.body_limit import BodyLimit
from api.deps import StorableBody
from api.errors import install_error_handlers
from api.http_metrics import HttpMetrics, install_metrics_page
from api.lost_connection import LostConnection
from api.ports import Runtime
from api.request_context import RequestContext
from api.reveal import RevealPersonalTexts
from api.routers import (
    cycle_views,
    cycles,
    dashboard,
    erasure,
    health,
    issues,
    objectives,
    teams,
    users,
    webhook_registrations,
    webhooks,
)


def create_app(
    runtime: Runtime,
    owns_runtime: bool = False,
    before_close: Callable[[], object] | None = None,
    metrics_registry: CollectorRegistry | None = None,
) -> FastAPI:
    """``owns_runtime``: close the runtime when the server shuts down, after
    ``before_close`` (the in-process consumer's stop). Shutdown is the place:
    uvicorn re-raises SIGTERM once it has shut down, so code after
    ``uvicorn.run`` never runs. ``metrics_registry``: what ``/metrics`` shows
    (default: this process's registry)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        webhooks.close_webhook_publisher(app)
        if owns_runtime:
            if before_close is not None:
                before_close()
            runtime.close()

    app = FastAPI(
        title="OKR service",
        version="1.0.0",
        description="Event-sourced objectives and key results.",
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    access_log.install()  # no query string (a token put there by mistake) is logged
    install_error_handlers(app)
    routers = (health, teams, cycles, cycle_views, objectives, issues, webhook_registrations)
    for module in (*routers, erasure):
        app.include_router(module.router, prefix="/v1", dependencies=[StorableBody])
    app.include_router(users.router, prefix="/v1", dependencies=[StorableBody])  # people
    app.include_router(webhooks.router, prefix="/v1")  # signature first, then parsing
    app.include_router(dashboard.router)  # HTML pages at /dashboard, outside /v1
    install_metrics_page(app, metrics_registry)  # GET /metrics, no token (api/http_metrics.py)
    # Innermost: every JSON and HTML answer, whoever made it, with its sealed personal
    # texts opened (or "[erased]"), inside LostConnection's retry (api/reveal.py).
    app.add_middleware(RevealPersonalTexts, keys=runtime.personal_keys)
    # A lost database connection: reads retried once, anything else 503 (never 500).
    app.add_middleware(LostConnection, revive=runtime.revive_connections)
    # Wraps every middleware below: a too long body is refused before anything
    # parses it or checks its token.
    app.add_middleware(
        BodyLimit,
        max_bytes=runtime.settings.max_body_bytes,
        webhook_max_bytes=runtime.settings.max_webhook_body_bytes,
    )
    # Outermost (neither reads the body): every answer, a 413 too, carries an
    # X-Request-ID and is counted.
    app.add_middleware(RequestContext)
    app.add_middleware(HttpMetrics)
    return app
