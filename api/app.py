"""The FastAPI application: routers under /v1, error handlers, the runtime."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api.errors import install_error_handlers
from api.routers import cycles, health
from runtime.bootstrap import Runtime


def create_app(runtime: Runtime) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield

    app = FastAPI(
        title="OKR service",
        version="1.0.0",
        description="Event-sourced objectives and key results.",
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    install_error_handlers(app)
    for module in (health, cycles):
        app.include_router(module.router, prefix="/v1")
    return app
