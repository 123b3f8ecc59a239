"""The built-in dashboard: server-rendered HTML pages over the read models.

``GET /dashboard`` (the current cycle), ``/dashboard/cycles/{id}`` (the OKR
tree and the team summary, ``?team_id=`` to filter) and
``/dashboard/objectives/{id}`` (key results, progress chart, audit trail).

The pages read only the query side, with the very functions the JSON API
uses (projections/*), so a viewer sees exactly what the API would show them:
private objectives only to those who may see them, nothing of another
organization. The audit trail replays the objective's events from the event
store, as ``okr audit`` does, after the objective was found visible.

Auth: the API's bearer tokens, which never travel in an address (SPEC §9). A
page asked for without a valid token answers 401 with a sign-in form; the form
POSTs the token to ``/dashboard/sign-in``, which keeps it in an HttpOnly,
SameSite=Strict cookie and redirects (303) back to the page. Later requests
send the cookie (programs may send ``Authorization: Bearer``). Sign-out is a
POST too: no GET ever sets (or clears) a cookie. Every POST must come from
this site (``Origin``/``Referer``/``Sec-Fetch-Site``, when a browser sends
them, name this host), which stops login CSRF: another site cannot sign a
visitor in as someone else. The sign-out form also carries a token derived
from the cookie. ``?token=`` is ignored: no cookie from it, never echoed. No
JavaScript runs on the pages and the Content-Security-Policy forbids any.
"""

from __future__ import annotations

import hmac
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from api import dashboard_pages as render
from api.dashboard_session import (
    COOKIE,
    CSRF_FIELD,
    NEXT_FIELD,
    PREFIX,
    TOKEN_FIELD,
    Session,
    base_path,
    csrf_token,
    html_page,
    read_form,
    redirect,
    safe_next,
    same_site,
)
from api.deps import RuntimeDep
from api.display_names import name_objectives, people_in
from domain.cycle import current_cycle
from projections.audit import actors, audit_trail, with_names
from projections.cycles import get_cycle, list_cycles
from projections.objective_queries import cycle_tree, dashboard, get_objective, progress_history
from projections.store import ViewStore
from projections.teams import list_teams

router = APIRouter(prefix=PREFIX, include_in_schema=False)


def _uuid(value: str | None) -> str | None:
    """The canonical form of a UUID, or None for anything else (answered with 404)."""
    if value is None:
        return None
    try:
        return str(UUID(value))
    except ValueError:
        return None


def team_names(store: ViewStore, organization_id: str) -> list[tuple[str, str]]:
    """(id, "Parent / Child" name) for every team, sorted by that name."""
    teams = {t["id"]: t for t in list_teams(store, organization_id)}

    def name(team_id: str) -> str:
        parts, seen = [], set()
        current: str | None = team_id
        while current is not None and current in teams and current not in seen:
            seen.add(current)
            parts.append(teams[current]["name"])
            current = teams[current]["parent_id"]
        return " / ".join(reversed(parts))

    return sorted(((team_id, name(team_id)) for team_id in teams), key=lambda t: t[1].lower())


def _find(
    objectives: list[dict[str, Any]], objective_id: str
) -> tuple[dict[str, Any], dict[str, Any] | None] | None:
    """An objective of the tree and its parent there (None for a root); a loop, so a
    tree's depth costs no stack."""
    stack: list[tuple[dict[str, Any], dict[str, Any] | None]] = [
        (o, None) for o in reversed(objectives)
    ]
    while stack:
        objective, parent = stack.pop()
        if objective["id"] == objective_id:
            return objective, parent
        stack.extend((c, objective) for c in reversed(objective.get("children") or []))
    return None


# ---------------------------------------------------------------- pages


@router.get("", response_class=HTMLResponse)
def home(request: Request, runtime: RuntimeDep) -> Response:
    """The current cycle: the one in tracking, else the latest."""
    session = Session(request, runtime)
    if session.refusal is not None:
        return session.refusal
    cycle = current_cycle(list_cycles(runtime.store, session.viewer.organization_id))
    if cycle is None:
        return html_page(render.no_cycles_page(session.frame))
    return redirect(f"{base_path(request)}/cycles/{cycle['id']}")


@router.post("/sign-in", response_class=HTMLResponse)
async def sign_in(request: Request, runtime: RuntimeDep) -> Response:
    """The sign-in form: a valid token becomes the cookie, then back to the page (303)."""
    base = base_path(request)
    anonymous = render.Frame(base)
    form = await read_form(request)
    back = safe_next(base, form.get(NEXT_FIELD))
    if not same_site(request):
        return html_page(
            render.sign_in_page(anonymous, "Sign in from this dashboard's own page.", back), 403
        )
    token = form.get(TOKEN_FIELD, "").strip()
    actor = await run_in_threadpool(runtime.tokens.authenticate, token) if token else None
    if actor is None:
        return html_page(
            render.sign_in_page(anonymous, "That token is unknown, expired or revoked.", back),
            401,
        )
    response = redirect(back)
    response.set_cookie(
        COOKIE,
        token,
        path=base,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@router.post("/logout", response_class=HTMLResponse)
async def logout(request: Request) -> Response:
    """Sign-out (a POST from our own page, with the form's token): the cookie is cleared."""
    frame = render.Frame(base_path(request))
    form = await read_form(request)
    cookie = request.cookies.get(COOKIE)
    if not same_site(request) or (
        cookie and not hmac.compare_digest(form.get(CSRF_FIELD, ""), csrf_token(cookie))
    ):
        message = "<p>Sign out from this dashboard's own page.</p>"
        return html_page(render.message_page("Not signed out", message, frame), 403)
    response = html_page(
        render.message_page(
            "Signed out",
            "<p>The token cookie is removed from this browser. The token itself stays valid"
            " until it expires or is revoked with <code>okr token revoke</code>.</p>",
            frame,
        )
    )
    response.delete_cookie(COOKIE, path=frame.base)
    return response


@router.get("/cycles/{cycle_id}", response_class=HTMLResponse)
def cycle_page(
    request: Request, runtime: RuntimeDep, cycle_id: str, team_id: str | None = None
) -> Response:
    """The cycle's OKR tree and its team summary, optionally for one owner team."""
    session = Session(request, runtime)
    if session.refusal is not None:
        return session.refusal
    viewer, store = session.viewer, runtime.store
    wanted = _uuid(cycle_id)
    cycle = get_cycle(store, viewer.organization_id, wanted) if wanted else None
    if cycle is None:
        return session.not_found("This cycle")
    teams = team_names(store, viewer.organization_id)
    team = None
    if team_id:
        team = _uuid(team_id)
        if team is None or team not in dict(teams):
            return session.not_found("This team")
    now = datetime.now(UTC)
    depth = runtime.settings.max_alignment_depth
    tree = cycle_tree(store, viewer, cycle["id"], now, team, depth)
    summary = dashboard(store, viewer, cycle["id"], now, team)
    if tree is None or summary is None:
        return session.not_found("This cycle")
    objectives = tree["objectives"]
    name_objectives(objectives, runtime.people.names(viewer.organization_id, people_in(objectives)))
    return html_page(
        render.cycle_page(
            session.frame,
            cycles=list_cycles(store, viewer.organization_id),
            cycle=cycle,
            tree=tree,
            summary=summary,
            teams=teams,
            team_id=team,
        )
    )


@router.get("/objectives/{objective_id}", response_class=HTMLResponse)
def objective_page(request: Request, runtime: RuntimeDep, objective_id: str) -> Response:
    """One objective: key results, progress over time, audit trail."""
    session = Session(request, runtime)
    if session.refusal is not None:
        return session.refusal
    viewer, store = session.viewer, runtime.store
    wanted = _uuid(objective_id)
    now = datetime.now(UTC)
    objective = get_objective(store, viewer, wanted, now) if wanted else None
    if objective is None or wanted is None:
        return session.not_found("This objective")
    cycle = get_cycle(store, viewer.organization_id, objective["cycle_id"])
    parent: dict[str, Any] | None = None
    children: list[dict[str, Any]] = []
    depth = runtime.settings.max_alignment_depth
    tree = cycle_tree(store, viewer, objective["cycle_id"], now, max_depth=depth)
    visible = list(render.walk(tree["objectives"])) if tree else []
    titles = {o["id"]: o["title"] for o in visible}
    for o in [objective, *visible]:
        titles.update({kr["id"]: kr["title"] for kr in o.get("key_results") or []})
    found = _find(tree["objectives"], wanted) if tree else None
    entries = audit_trail(runtime.app, store, UUID(wanted), viewer=viewer)
    # One question to the people directory for every name the page shows.
    shown = [objective, *(tree["objectives"] if tree else [])]
    names = runtime.people.names(viewer.organization_id, people_in(shown) | actors(entries))
    name_objectives(shown, names)
    if found is not None:
        node, parent = found
        children = node.get("children") or []
    return html_page(
        render.objective_page(
            session.frame,
            objective=objective,
            cycle=cycle,
            parent=parent,
            children=children,
            team_names=dict(team_names(store, viewer.organization_id)),
            points=progress_history(store, viewer, wanted),
            entries=with_names(entries, names),
            titles=titles,
            now=now,
        )
    )
