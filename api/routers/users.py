"""The people directory (SPEC §11 "People"): who a user id is, per organization.

``PUT /users/{user_id}`` sets an entry (admins of the organization only; the
whole entry: an ``email`` left out is cleared); ``GET /users`` lists them a page
at a time, ordered by user id; ``GET /users/{user_id}`` reads one (404 when the
directory has no entry for that id in the caller's organization). Reading is for
the organization's people, admins and members; an integration token may not
(``commands/authorization.py``). An e-mail address is shown to admins and to the
person; others read ``null``.

The directory is not in the event store (it is mutable and erasable), so a put
answers the entry, not a version and a log position. Erasure
(``DELETE /users/{user_id}``) is another module's job.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from starlette.concurrency import run_in_threadpool

from api.deps import ActorDep, RuntimeDep
from api.errors import ApiError, documented
from api.paging import PageDep, next_cursor, text_key
from api.people import Person
from api.person_schemas import PersonIn, PersonList, PersonOut
from commands.actor import Actor
from commands.authorization import (
    may_read_email,
    require_directory_editor,
    require_directory_reader,
)
from domain import person as rules

router = APIRouter(prefix="/users", tags=["people"])

READ_ERRORS = documented(401, 403, 404, 422)
WRITE_ERRORS = documented(400, 401, 403, 409, 413, 422)
_LIST = "users"

UserIdPath = Annotated[
    str,
    Path(
        description="the user id tokens and events name the person by (at most 200"
        " printable characters)",
    ),
]


async def _directory_editor(actor: ActorDep) -> Actor:
    """An admin of the organization, checked before the body is read: 403 whatever it holds."""
    require_directory_editor(actor)
    return actor


EditorDep = Annotated[Actor, Depends(_directory_editor)]


def _out(actor: Actor, person: Person) -> PersonOut:
    return PersonOut.model_validate(
        {
            "user_id": person.user_id,
            "display_name": person.display_name,
            "email": person.email if may_read_email(actor, person.user_id) else None,
            "updated_at": person.updated_at,
        }
    )


@router.put("/{user_id}", response_model=PersonOut, responses=WRITE_ERRORS)
async def put_person(
    user_id: UserIdPath, body: PersonIn, actor: EditorDep, runtime: RuntimeDep
) -> PersonOut:
    """Admins only. Creates or replaces the entry; answers it (200 either way). Two puts
    at once end with one of them whole."""
    wanted = rules.directory_user_id(user_id)
    name, email = rules.display_name(body.display_name), rules.email(body.email)
    person = await run_in_threadpool(runtime.people.put, actor.organization_id, wanted, name, email)
    return _out(actor, person)


@router.get("", response_model=PersonList, responses=READ_ERRORS)
async def list_people(actor: ActorDep, runtime: RuntimeDep, page: PageDep) -> PersonList:
    """The organization's directory by user id, a page at a time."""
    require_directory_reader(actor)
    scope = actor.organization_id
    after = text_key(page.after(_LIST, scope))
    found = await run_in_threadpool(runtime.people.page, scope, after=after, limit=page.limit + 1)
    more = len(found) > page.limit
    shown = found[: page.limit]
    return PersonList(
        people=[_out(actor, person) for person in shown],
        next_cursor=next_cursor(_LIST, scope, [shown[-1].user_id] if more else None),
    )


@router.get("/{user_id}", response_model=PersonOut, responses=READ_ERRORS)
async def read_person(user_id: UserIdPath, actor: ActorDep, runtime: RuntimeDep) -> Any:
    """One entry of the caller's organization; 404 when there is none."""
    require_directory_reader(actor)
    wanted = rules.directory_user_id(user_id)
    person = await run_in_threadpool(runtime.people.get, actor.organization_id, wanted)
    if person is None:
        raise ApiError(404, "no entry for this user in the people directory")
    return _out(actor, person)
