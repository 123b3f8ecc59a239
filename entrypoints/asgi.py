"""The ASGI application, built on top: the runtime wired here, handed to the API.

``api.app.create_app`` takes what the API needs (``api.ports.Runtime``); this
module builds that runtime from the settings, so ``api/`` never imports the
layer above it.
"""

from __future__ import annotations

from fastapi import FastAPI

from api.app import create_app
from entrypoints.bootstrap import build_runtime
from entrypoints.metrics_serving import worker_registry
from entrypoints.settings import Settings

__all__ = ["create_app", "worker_app"]


def worker_app() -> FastAPI:
    """One of ``okr serve --workers N``'s processes: its own runtime, from the environment.

    Only on PostgreSQL, where the projections run in ``okr project`` and every
    write-side cache is fast-forwarded from the store, so processes need not
    know about each other.
    """
    return create_app(
        build_runtime(Settings()), owns_runtime=True, metrics_registry=worker_registry()
    )
