"""A lost database connection never answers 500 (SPEC §9).

When a request fails because a database connection broke (the server
restarted, a failover, a terminated backend), the pooled connections of both
stores are checked and the broken ones replaced. Then:

- a read (GET, HEAD) runs once more, on fresh connections: reading twice is
  harmless, and the caller gets its answer;
- any other request answers 503 ``unavailable`` with ``Retry-After``: a write
  may or may not have been recorded before the connection broke, and only the
  caller can decide to send it again (If-Match, or the command's idempotency,
  keeps that safe);
- a read that fails again answers the same 503.

A plain ASGI middleware between the error handlers and the routes: the
connection error reaches it as an exception, before any response has started.
It sits inside ``BodyLimit``, whose single, complete body message it replays to
the second attempt.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

from starlette.concurrency import run_in_threadpool

from api.body_limit import ASGIApp, Message, Receive, Scope, Send
from projections.store import CONNECTION_LOST

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 1
READS = frozenset({"GET", "HEAD"})


class LostConnection:
    def __init__(self, app: ASGIApp, revive: Callable[[], None]) -> None:
        self.app = app
        self.revive = revive

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        read = scope["method"] in READS
        first: Message | None = await receive() if read else None
        attempts = 2 if read else 1
        for attempt in range(1, attempts + 1):
            started = False

            async def watched(message: Message) -> None:
                nonlocal started
                if message["type"] == "http.response.start":
                    started = True
                await send(message)

            try:
                await self.app(scope, _replaying(first, receive), watched)
                return
            except CONNECTION_LOST as lost:
                if started:
                    raise  # half an answer is out: nothing sensible can follow
                log.warning(
                    "lost the database connection (%s %s, attempt %d): %s",
                    scope["method"],
                    scope.get("path"),
                    attempt,
                    lost,
                )
                await run_in_threadpool(self.revive)
        await _unavailable(send)


def _replaying(first: Message | None, receive: Receive) -> Receive:
    """``receive`` for one attempt: the request's body message again, then the rest."""
    if first is None:
        return receive
    given = False

    async def replay() -> Message:
        nonlocal given
        if not given:
            given = True
            return first
        return await receive()

    return replay


async def _unavailable(send: Send) -> None:
    body = json.dumps(
        {
            "error": {
                "code": "unavailable",
                "message": "the database connection was lost; retry shortly"
                " (a write may or may not have been recorded)",
            }
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", str(RETRY_AFTER_SECONDS).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body, "more_body": False})
