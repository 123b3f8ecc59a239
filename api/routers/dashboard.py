"""The built-in dashboard: server-rendered HTML pages over the read models.

``GET /dashboard`` (the current cycle), ``/dashboard/cycles/{id}`` (the OKR
tree and the team summary, ``?team_id=`` to filter) and
``/dashboard/objectives/{id}`` (key results, progress chart, audit trail).

The pages read only the query side, with the very functions the JSON API
uses (projections/*), so a viewer sees exactly what the API would show them:
private objectives only to those who may see them, nothing of another
organization. The audit trail replays the objective's events from the event
store, as ``okr audit`` does, after the objective was found visible.

Auth: the API's bearer tokens. A browser opens ``/dashboard?token=<token>``
once; the answer keeps the token in an HttpOnly, SameSite=Strict cookie and
redirects to the same address without it. Later requests send the cookie
(programs may send ``Authorization: Bearer``). No JavaScript runs on the pages
and the Content-Security-Policy forbids any.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api import dashboard_render as render
from api.deps import RuntimeDep
from commands.actor import Actor
from domain.values import TokenRole
from domain.visibility import Viewer
from projections.audit import audit_trail
from projections.cycles import get_cycle, list_cycles
from projections.objective_queries import cycle_tree, dashboard, get_objective, progress_history
from projections.store import Row, ViewStore
from projections.teams import list_teams, managed_teams
from runtime.bootstrap import Runtime

router = APIRouter(prefix="/dashboard", include_in_schema=False)

COOKIE = "okr_token"
TOKEN_PARAM = "token"
HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:;"
        " base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}


# ---------------------------------------------------------------- plumbing


def _base(request: Request) -> str:
    """The dashboard's own path, behind whatever prefix the app is mounted at."""
    return f"{request.scope.get('root_path', '')}{router.prefix}"


def _html(body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(body, status_code=status, headers=HEADERS)


def _redirect(location: str) -> RedirectResponse:
    return RedirectResponse(location, status_code=303, headers=HEADERS)


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return None


class Session:
    """Who is looking, resolved from the request; or the response that refuses them."""

    def __init__(self, request: Request, runtime: Runtime) -> None:
        self.request = request
        self.runtime = runtime
        self.store: ViewStore = runtime.store
        self.actor: Actor | None = None
        self.refusal: Response | None = None
        self._authenticate()

    def _authenticate(self) -> None:
        request, base = self.request, _base(self.request)
        anonymous = render.Frame(base)
        from_query = request.query_params.get(TOKEN_PARAM)
        if from_query is not None:
            actor = self.runtime.tokens.authenticate(from_query) if from_query else None
            if actor is None:
                self.refusal = _html(
                    render.sign_in_page(anonymous, "That token is unknown or revoked."), 401
                )
                return
            # Keep the token in a cookie and take it out of the address (and history).
            clean = request.url.remove_query_params(TOKEN_PARAM)
            location = clean.path + (f"?{clean.query}" if clean.query else "")
            self.refusal = _redirect(location)
            self.refusal.set_cookie(
                COOKIE,
                from_query,
                path=base,
                httponly=True,
                samesite="strict",
                secure=request.url.scheme == "https",
            )
            return
        token = _bearer(request) or request.cookies.get(COOKIE)
        if not token:
            self.refusal = _html(render.sign_in_page(anonymous, "You are not signed in."), 401)
            return
        self.actor = self.runtime.tokens.authenticate(token)
        if self.actor is None:
            self.refusal = _html(
                render.sign_in_page(anonymous, "Your token is unknown or was revoked."), 401
            )
            self.refusal.delete_cookie(COOKIE, path=base)

    @property
    def viewer(self) -> Viewer:
        actor = self._actor()
        return Viewer(
            organization_id=actor.organization_id,
            user_id=actor.user_id,
            is_admin=actor.is_admin,
            managed_team_ids=frozenset(
                managed_teams(self.store, actor.organization_id, actor.user_id)
            ),
            is_integration=actor.role is TokenRole.INTEGRATION,
        )

    @property
    def frame(self) -> render.Frame:
        actor = self._actor()
        return render.Frame(
            _base(self.request), actor.organization_id, actor.user_id, actor.role.value
        )

    def _actor(self) -> Actor:
        assert self.actor is not None, "refused sessions render no page"
        return self.actor

    def not_found(self, what: str) -> HTMLResponse:
        message = (
            f'<p>{render.e(what)} was not found, or you may not see it.</p><p><a href="'
            f'{render.e(_base(self.request))}">Back to the dashboard</a></p>'
        )
        return _html(render.message_page("Not found", message, self.frame), 404)


def _uuid(value: str | None) -> str | None:
    """The canonical form of a UUID, or None for anything else (answered with 404)."""
    if value is None:
        return None
    try:
        return str(UUID(value))
    except ValueError:
        return None


def current_cycle(cycles: list[Row]) -> Row | None:
    """The cycle in tracking (the latest if several), else the latest one."""
    tracking = [c for c in cycles if c["phase"] == "tracking"]
    chosen = tracking or cycles
    return max(chosen, key=lambda c: (c["start_date"], c["end_date"])) if chosen else None


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
        return _html(render.no_cycles_page(session.frame))
    return _redirect(f"{_base(request)}/cycles/{cycle['id']}")


@router.get("/logout", response_class=HTMLResponse)
def logout(request: Request) -> Response:
    frame = render.Frame(_base(request))
    response = _html(
        render.message_page(
            "Signed out",
            "<p>The token cookie is removed from this browser. The token itself stays valid"
            " until it is revoked with <code>okr token revoke</code>.</p>",
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
    return _html(
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
    if found is not None:
        node, parent = found
        children = node.get("children") or []
    return _html(
        render.objective_page(
            session.frame,
            objective=objective,
            cycle=cycle,
            parent=parent,
            children=children,
            team_names=dict(team_names(store, viewer.organization_id)),
            points=progress_history(store, viewer, wanted),
            entries=audit_trail(runtime.app, store, UUID(wanted), viewer=viewer),
            titles=titles,
            now=now,
        )
    )
