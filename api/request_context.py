"""Who a log line is about: the request's id and the caller's organization (SPEC §14).

Two context variables, read by the JSON log formatter (``entrypoints/logs.py``):
``REQUEST_ID`` is set by the ``RequestContext`` middleware for every HTTP
request, ``ORGANIZATION`` where the API resolves the caller's token
(``api.deps``, one place). Outside a request (the follower's thread, the
consumer) both are ``None``.

The request id comes from the caller's ``X-Request-ID`` header when it is
sane (1 to 64 characters of letters, digits, ``-``, ``_``, ``.``, ``:``), so a
load balancer's id follows the request into our logs; anything else (too
long, spaces, control characters that could forge a log line) is replaced by
a new id. Either way the id is echoed in the response's ``X-Request-ID``.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, MutableMapping
from contextvars import ContextVar
from typing import Any

from api.body_limit import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID: ContextVar[str | None] = ContextVar("okr_request_id", default=None)
ORGANIZATION: ContextVar[str | None] = ContextVar("okr_organization", default=None)

HEADER = b"x-request-id"
_SANE = re.compile(r"[A-Za-z0-9._:\-]{1,64}")


def request_id_of(scope: Scope) -> str:
    """The caller's ``X-Request-ID`` if sane, else a new one (32 hex digits)."""
    for name, value in scope.get("headers", ()):
        if name == HEADER:
            try:
                given = bytes(value).decode("ascii")
            except UnicodeDecodeError:
                break
            if _SANE.fullmatch(given):
                return given
            break
    return uuid.uuid4().hex


ANSWERED_FOR = "okr_answered_for"
"""Where the request's scope state names the organization its answer is for."""


def answer_for(scope: MutableMapping[str, Any], organization_id: str) -> None:
    """Say whose answer this is: for log lines, and for ``api/reveal.py``, which opens
    only that organization's personal texts. Kept in the scope's state as well as in
    the context variable, because a plain ``def`` route or dependency runs in a
    worker thread whose context changes never reach the middleware."""
    scope.setdefault("state", {})[ANSWERED_FOR] = organization_id
    ORGANIZATION.set(organization_id)


def answered_for(scope: Mapping[str, Any]) -> str | None:
    """The organization ``answer_for`` named (None: no authenticated reader)."""
    state = scope.get("state")
    found = state.get(ANSWERED_FOR) if isinstance(state, Mapping) else None
    return found if isinstance(found, str) else None


class RequestContext:
    """Plain ASGI middleware (a ``BaseHTTPMiddleware`` would run the app in another
    task, and the organization set by a dependency would not reach the access log)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_of(scope)
        id_token = REQUEST_ID.set(request_id)
        org_token = ORGANIZATION.set(None)
        header = (HEADER, request_id.encode("ascii"))

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [h for h in message.get("headers", []) if h[0].lower() != HEADER]
                message["headers"] = [*headers, header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            ORGANIZATION.reset(org_token)
            REQUEST_ID.reset(id_token)
