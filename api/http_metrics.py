"""HTTP request metrics and the ``/metrics`` page (SPEC §14).

Requests are counted by route TEMPLATE (``/v1/objectives/{objective_id}``),
never by the raw path: a path carries organization-owned ids, and a caller
sending random paths must not grow the number of series (each one is memory
in this process and in Prometheus). A request no route matched is counted
under the one label ``unmatched``, and so is one refused before routing (a
too long body, 413). Methods outside the standard ones count as ``other``;
statuses are HTTP's own three-digit codes. So the series are bounded by
routes x methods x statuses, whatever callers send.

``/metrics`` needs no token, as Prometheus scrapers expect: nothing in it
belongs to a tenant (no organization or user id, no path, no token), only
route templates, read-model names, partitions and Kafka topics. Restrict it
at the network if even those should stay inside.
"""

from __future__ import annotations

import time

from fastapi import FastAPI
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from starlette.responses import Response

from api.body_limit import ASGIApp, Message, Receive, Scope, Send

REQUESTS = Counter(
    "okr_http_requests",
    "HTTP requests answered, by route template, method and status",
    ["route", "method", "status"],
)
LATENCY = Histogram(
    "okr_http_request_seconds",
    "Time from a request's arrival to the end of its answer, by route template and method",
    ["route", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)

UNMATCHED = "unmatched"
OTHER_METHOD = "other"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def route_of(scope: Scope) -> str:
    """The full template of the route the router chose, from what it records in the scope.

    FastAPI includes routers lazily: ``scope["route"]`` is then the inner route,
    whose path lacks the include prefixes (``/{objective_id}``); the full
    template is on FastAPI's ``effective_route_context`` (its ``path_format``).
    Plain routes of the app itself (``/metrics``, ``/docs``) have only the
    former, and it is complete. tests/security/test_metrics.py pins this.
    """
    context = scope.get("fastapi", {}).get("effective_route_context")
    for path in (getattr(context, "path_format", None), getattr(scope.get("route"), "path", None)):
        if isinstance(path, str) and path:
            return path
    return UNMATCHED


def method_of(scope: Scope) -> str:
    method = str(scope.get("method", ""))
    return method if method in METHODS else OTHER_METHOD


class HttpMetrics:
    """Plain ASGI middleware, outermost: it sees every answer, a 413 included."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the server answers if the app raises before answering

        async def watched(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, watched)
        finally:
            route, method = route_of(scope), method_of(scope)
            REQUESTS.labels(route, method, str(status)).inc()
            LATENCY.labels(route, method).observe(time.perf_counter() - started)


def install_metrics_page(app: FastAPI, registry: CollectorRegistry | None = None) -> None:
    """``GET /metrics`` in Prometheus's text format, from ``registry`` (this process's
    default one; ``okr serve --workers N`` gives each worker the multiprocess one)."""
    source = registry if registry is not None else REGISTRY

    def metrics() -> Response:
        return Response(generate_latest(source), media_type=CONTENT_TYPE_LATEST)

    app.add_api_route("/metrics", metrics, methods=["GET"], include_in_schema=False)
