"""The FastAPI application: routers under /v1, error handlers, the runtime."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api.deps import StorableBody
from api.errors import install_error_handlers
from api.routers import (
    cycle_views,
    cycles,
    dashboard,
    health,
    issues,
    objectives,
    teams,
    webhooks,
)
from runtime.bootstrap import Runtime


def create_app(runtime: Runtime) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        webhooks.close_webhook_publisher(app)

    app = FastAPI(
        title="OKR service",
        version="1.0.0",
        description="Event-sourced objectives and key results.",
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    install_error_handlers(app)
    for module in (health, teams, cycles, cycle_views, objectives, issues, webhooks):
        app.include_router(module.router, prefix="/v1", dependencies=[StorableBody])
    app.include_router(dashboard.router)  # HTML pages at /dashboard, outside /v1
    return app
