"""The request-body limit: a too long body is refused before anything reads it.

A plain ASGI middleware, outermost, so that no JSON parser, no token check and
no route ever sees more than the limit: ``Content-Length`` is judged before a
byte is read, and a chunked body is counted chunk by chunk while it streams
in. A body within the limit is buffered (at most the limit) and handed on
unchanged; a longer one answers 413 ``payload_too_large`` in the API's error
shape and the connection is closed, so the server never reads (nor holds) the
rest. Webhook paths get their own, larger limit: trackers send big payloads.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

WEBHOOK_PREFIX = "/v1/webhooks/"


class BodyLimit:
    """Refuse request bodies longer than ``max_bytes`` (``webhook_max_bytes`` on webhooks)."""

    def __init__(self, app: ASGIApp, max_bytes: int, webhook_max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.webhook_max_bytes = webhook_max_bytes

    def limit_for(self, path: str) -> int:
        return self.webhook_max_bytes if path.startswith(WEBHOOK_PREFIX) else self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(str(scope.get("path", "")))
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _too_large(send, limit)
            return
        # Read the whole body now, counting: nothing downstream may start parsing
        # (or authenticating) a body that later turns out too long.
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the client went away before its body was complete
            chunk = bytes(message.get("body", b""))
            size += len(chunk)
            if size > limit:
                await _too_large(send, limit)
                return
            if chunk:
                chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        del chunks
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # afterwards only the disconnect can come

        await self.app(scope, replay, send)


def _content_length(scope: Scope) -> int | None:
    """The declared length, or None when absent or unreadable (then counting decides)."""
    for name, value in scope.get("headers", ()):
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _too_large(send: Send, limit: int) -> None:
    body = json.dumps(
        {
            "error": {
                "code": "payload_too_large",
                "message": f"the request body is longer than the limit of {limit} bytes",
            }
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                # The rest of the body is never read: the connection cannot be reused.
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body, "more_body": False})
