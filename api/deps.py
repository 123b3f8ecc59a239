"""Request dependencies: the runtime, the authenticated actor, If-Match, read-your-writes."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Depends, Header, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.errors import ApiError
from commands.actor import Actor
from commands.application import OkrApplication
from projections.store import ViewStore
from runtime.bootstrap import Runtime

_bearer = HTTPBearer(auto_error=False, description="a token from `okr token create`")
_ETAG = re.compile(r'^\s*(?:W/)?"?(\d{1,18})"?\s*$')


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def get_application(runtime: RuntimeDep) -> OkrApplication:
    return runtime.app


def get_store(runtime: RuntimeDep) -> ViewStore:
    return runtime.store


AppDep = Annotated[OkrApplication, Depends(get_application)]
StoreDep = Annotated[ViewStore, Depends(get_store)]


def get_actor(
    runtime: RuntimeDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Actor:
    if credentials is None or not credentials.credentials:
        raise ApiError(401, "missing bearer token (Authorization: Bearer <token>)")
    actor = runtime.tokens.authenticate(credentials.credentials)
    if actor is None:
        raise ApiError(401, "unknown or revoked token")
    return actor


ActorDep = Annotated[Actor, Depends(get_actor)]


def get_expected_version(
    if_match: Annotated[
        str | None,
        Header(description="the version the write expects, bare or quoted as an ETag"),
    ] = None,
) -> int | None:
    if if_match is None or if_match.strip() in ("", "*"):
        return None
    found = _ETAG.match(if_match)
    if not found:
        raise ApiError(400, f"If-Match must be a version number, got {if_match!r}")
    return int(found.group(1))


ExpectedVersion = Annotated[int | None, Depends(get_expected_version)]


def wait_for_position(
    runtime: RuntimeDep,
    min_position: Annotated[
        int | None,
        Query(ge=0, description="wait (at most 5 s) until read models reach this position"),
    ] = None,
) -> None:
    if min_position and not runtime.wait_for(min_position):
        raise ApiError(
            503,
            f"read models have not reached position {min_position} yet; retry shortly",
            code="not_caught_up",
        )


MinPosition = Depends(wait_for_position)
