"""Request dependencies: the runtime, the authenticated actor, If-Match, read-your-writes."""

from __future__ import annotations

import json
import re
from typing import Annotated

from fastapi import Depends, Header, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from api.errors import ApiError
from api.ports import Runtime
from api.request_context import answer_for
from api.schemas import unstorable
from commands.actor import Actor
from commands.application import OkrApplication
from commands.authorization import require_person
from domain.values import TokenRole
from domain.visibility import Viewer
from projections.store import ViewStore
from projections.teams import managed_teams

_bearer = HTTPBearer(auto_error=False, description="a token from `okr token create`")
MAX_POSITION = 2**63 - 1
_ETAG = re.compile(r'^\s*(?:W/)?"?(\d{1,18})"?\s*$')


# Dependencies that neither block nor touch a database are ``async``: FastAPI
# runs a plain ``def`` dependency in its thread pool, and five such hops per
# request cost a check-in about as much CPU as its command does.


async def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_application(runtime: RuntimeDep) -> OkrApplication:
    return runtime.app


async def get_store(runtime: RuntimeDep) -> ViewStore:
    return runtime.store


AppDep = Annotated[OkrApplication, Depends(get_application)]
StoreDep = Annotated[ViewStore, Depends(get_store)]


async def get_actor(
    request: Request,
    runtime: RuntimeDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Actor:
    if credentials is None or not credentials.credentials:
        raise ApiError(401, "missing bearer token (Authorization: Bearer <token>)")
    actor = await _actor_of(request, runtime, credentials.credentials)
    if actor is None:
        raise ApiError(401, "unknown, expired or revoked token")
    return actor


async def _actor_of(request: Request, runtime: Runtime, token: str) -> Actor | None:
    """The token's actor; the answer is for its organization (log lines, and which
    personal texts may open in it: ``api/reveal.py``)."""
    actor = runtime.tokens.cached(token)
    if actor is None:  # the database is asked off the event loop
        actor = await run_in_threadpool(runtime.tokens.authenticate, token)
    if actor is not None:
        answer_for(request.scope, actor.organization_id)
    return actor


ActorDep = Annotated[Actor, Depends(get_actor)]


async def get_optional_actor(
    request: Request,
    runtime: RuntimeDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Actor | None:
    """The token's actor where a token is optional (health): None for none or a bad one."""
    if credentials is None or not credentials.credentials:
        return None
    return await _actor_of(request, runtime, credentials.credentials)


OptionalActorDep = Annotated[Actor | None, Depends(get_optional_actor)]


async def get_writer(actor: ActorDep) -> Actor:
    """An actor who may change OKRs: an integration token only feeds issue events."""
    require_person(actor)  # before the body is read: 403 whatever the body holds
    return actor


WriterDep = Annotated[Actor, Depends(get_writer)]


def get_viewer(actor: ActorDep, store: StoreDep) -> Viewer:
    """Who reads: private objectives are shown to admins, owners, owner-team managers."""
    return Viewer(
        organization_id=actor.organization_id,
        user_id=actor.user_id,
        is_admin=actor.is_admin,
        managed_team_ids=frozenset(managed_teams(store, actor.organization_id, actor.user_id)),
        is_integration=actor.role is TokenRole.INTEGRATION,
    )


ViewerDep = Annotated[Viewer, Depends(get_viewer)]


async def get_expected_version(
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
    _: ActorDep,  # authenticated first: an anonymous caller learns nothing of the log
    min_position: Annotated[
        int | None,
        Query(
            ge=0,
            le=MAX_POSITION,
            description="a position a write answered: wait (at most 5 s) until the read"
            " models reach it",
        ),
    ] = None,
) -> None:
    if not min_position:
        return
    written = runtime.app.recorder.max_notification_id() or 0
    if min_position > written:
        raise ApiError(
            422,
            # Never the log's end: it is global, counting every organization's writes.
            f"min_position {min_position} is beyond the end of the log",
            code="validation_error",
        )
    if not runtime.wait_for(min_position):
        raise ApiError(
            503,
            f"read models have not reached position {min_position} yet; retry shortly",
            code="not_caught_up",
        )


MinPosition = Depends(wait_for_position)


async def storable_body(request: Request) -> None:
    """Refuse a JSON body holding text no store can keep (NUL, unpaired surrogates).

    Such text would be written into an event and then stop every read model
    that copies it into a PostgreSQL TEXT column. Applied to every router, so
    routes with their own request models get the same guard.
    """
    if request.method not in ("POST", "PUT", "PATCH", "DELETE"):
        return
    raw = await request.body()
    if not raw:
        return
    try:
        document = json.loads(raw)
    except (ValueError, RecursionError):
        return  # not JSON: the route's own parsing answers 400
    reason = unstorable(document)
    if reason:
        raise ApiError(422, reason, code="validation_error")


StorableBody = Depends(storable_body)
