"""Where sealed personal texts are opened: every answer, as it leaves the service.

Personal texts are stored sealed everywhere (``domain/personal.py``): events,
snapshots, read models, caches. No route opens them; this middleware does, on
the whole body of every JSON and HTML answer, whichever route, handler or
response class made it (a pre-serialized tree, an error, a dashboard page):
each sealed string becomes its plaintext, written as the answer's syntax wants
it (a JSON string's escapes; HTML's, quotes included, as the dashboard writes
its text in elements and attributes), or ``[erased]`` once its author's key is
gone. The keys of one answer are fetched in one query, only when the answer
holds a sealed string; nothing caches them, so an erasure takes effect at once
in every process.

A plain ASGI middleware inside ``LostConnection``: the body is held until it is
complete (answers are built in memory anyway), so a lost connection during the
key query has sent nothing yet and can still be answered or retried.
"""

from __future__ import annotations

import html
import json

from starlette.concurrency import run_in_threadpool

from api.body_limit import ASGIApp, Message, Receive, Scope, Send
from api.request_context import answered_for
from domain.personal import MARK, Escape, PersonalKeys, reveal

_MARK = MARK.encode("ascii")


def json_string(text: str) -> str:
    """``text`` as the inside of a JSON string."""
    return json.dumps(text, ensure_ascii=False)[1:-1]


def html_text(text: str) -> str:
    return html.escape(text, quote=True)


def escape_for(content_type: str) -> Escape | None:
    """How to write a revealed text into an answer of this type (None: left as is)."""
    kind = content_type.split(";")[0].strip().lower()
    if kind == "application/json" or kind.endswith("+json"):
        return json_string
    if kind == "text/html":
        return html_text
    return None


class RevealPersonalTexts:
    def __init__(self, app: ASGIApp, keys: PersonalKeys) -> None:
        self.app = app
        self.keys = keys

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # One state dict for every layer below, even one that copies the scope: the
        # route names the organization the answer is for there (``answer_for``).
        scope.setdefault("state", {})
        start: Message | None = None
        escape: Escape | None = None
        chunks: list[bytes] = []

        async def held(message: Message) -> None:
            nonlocal start, escape
            if message["type"] == "http.response.start":
                headers = message.get("headers", [])
                kind = next((v for k, v in headers if k.lower() == b"content-type"), b"")
                escape = escape_for(bytes(kind).decode("latin-1"))
                if escape is None:
                    await send(message)
                else:
                    start = message
                return
            if message["type"] != "http.response.body" or start is None:
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            body = b"".join(chunks)
            if _MARK in body and escape is not None:
                body = await run_in_threadpool(self._revealed, body, escape, answered_for(scope))
                replaced = (b"content-length", b"cache-control")
                headers = [h for h in start.get("headers", []) if h[0].lower() not in replaced]
                headers.append((b"content-length", str(len(body)).encode("ascii")))
                # No HTTP cache may keep a personal text that a later erasure must reach.
                headers.append((b"cache-control", b"no-store"))
                start = {**start, "headers": headers}
            await send(start)
            await send({"type": "http.response.body", "body": body, "more_body": False})

        await self.app(scope, receive, held)

    def _revealed(self, body: bytes, escape: Escape, organization_id: str | None) -> bytes:
        text = body.decode("utf-8")
        return reveal(text, self.keys, escape, organization_id=organization_id).encode("utf-8")
