"""The dashboard's session: the token in an HttpOnly cookie, same-site checks on
every POST, the sign-out form's CSRF token, and the safe pages to go back to.

See api/routers/dashboard.py for why each rule is there.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import parse_qs, urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api import dashboard_pages as render
from api.ports import Runtime
from api.request_context import answer_for
from commands.actor import Actor
from domain.values import TokenRole
from domain.visibility import Viewer
from projections.store import ViewStore
from projections.teams import managed_teams

PREFIX = "/dashboard"
COOKIE = "okr_token"
TOKEN_FIELD = "token"
NEXT_FIELD = "next"
CSRF_FIELD = "csrf"
HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:;"
        " base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    # Same-origin, not no-referrer: with no-referrer browsers send "Origin: null" on
    # a form POST, and the sign-in form could not tell its own page from another site.
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}


# ---------------------------------------------------------------- plumbing


def base_path(request: Request) -> str:
    """The dashboard's own path, behind whatever prefix the app is mounted at."""
    return f"{request.scope.get('root_path', '')}{PREFIX}"


def html_page(body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(body, status_code=status, headers=HEADERS)


def redirect(location: str) -> RedirectResponse:
    return RedirectResponse(location, status_code=303, headers=HEADERS)


def bearer_of(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return None


def next_path(request: Request) -> str:
    """Where the sign-in form returns to: this page, without any ``token`` parameter."""
    clean = request.url.remove_query_params(TOKEN_FIELD)
    return clean.path + (f"?{clean.query}" if clean.query else "")


def safe_next(base: str, wanted: str | None) -> str:
    """A path under the dashboard, never another site (``//host``, ``/\\host``, a scheme)."""
    if not wanted:
        return base
    parts = urlsplit(wanted)
    if parts.scheme or parts.netloc or "\\" in wanted or not wanted.startswith("/"):
        return base
    if wanted != base and not wanted.startswith(f"{base}/") and not wanted.startswith(f"{base}?"):
        return base
    return wanted


def same_site(request: Request) -> bool:
    """Whether a browser says this POST comes from one of our own pages.

    ``Sec-Fetch-Site`` (same-origin), else ``Origin``, else ``Referer``, must name
    this host; a request that sends none of them (not a modern browser's form) is
    let through, since a cross-site form always sends at least ``Origin``.
    """
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site not in ("same-origin", "none"):
        return False
    host = request.headers.get("host", "")
    origin = request.headers.get("origin")
    if origin is not None:
        return origin != "null" and urlsplit(origin).netloc == host
    referer = request.headers.get("referer")
    if referer is not None:
        return urlsplit(referer).netloc == host
    return True


def csrf_token(session_token: str) -> str:
    """The sign-out form's token, derived from the (HttpOnly) cookie: a page of another
    site cannot read the cookie, so it cannot make the token."""
    return hmac.new(session_token.encode(), b"okr-dashboard-form", hashlib.sha256).hexdigest()


async def read_form(request: Request) -> dict[str, str]:
    """An ``application/x-www-form-urlencoded`` body (the body limit bounds its size);
    one with too many fields is treated as empty (and so refused)."""
    text = (await request.body()).decode("utf-8", "replace")
    try:
        fields = parse_qs(text, max_num_fields=20)
    except ValueError:
        return {}
    return {name: values[0] for name, values in fields.items()}


class Session:
    """Who is looking, resolved from the request; or the response that refuses them."""

    def __init__(self, request: Request, runtime: Runtime) -> None:
        self.request = request
        self.runtime = runtime
        self.store: ViewStore = runtime.store
        self.actor: Actor | None = None
        self.refusal: Response | None = None
        self.csrf = ""
        self._authenticate()

    def _authenticate(self) -> None:
        # A ``?token=`` in the address is ignored: tokens never travel in a URL.
        request, base = self.request, base_path(self.request)
        anonymous = render.Frame(base)
        token = bearer_of(request) or request.cookies.get(COOKIE)
        if not token:
            self.refusal = html_page(
                render.sign_in_page(anonymous, "You are not signed in.", next_path(request)),
                401,
            )
            return
        self.actor = self.runtime.tokens.authenticate(token)
        if self.actor is None:
            # The dead cookie stays until the next sign-in: a GET never sets a cookie.
            self.refusal = html_page(
                render.sign_in_page(
                    anonymous,
                    "Your token is unknown, expired or was revoked.",
                    next_path(request),
                ),
                401,
            )
        else:
            answer_for(request.scope, self.actor.organization_id)
            self.csrf = csrf_token(token)

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
            base_path(self.request),
            actor.organization_id,
            actor.user_id,
            actor.role.value,
            self.csrf,
        )

    def _actor(self) -> Actor:
        assert self.actor is not None, "refused sessions render no page"
        return self.actor

    def not_found(self, what: str) -> HTMLResponse:
        message = (
            f'<p>{render.e(what)} was not found, or you may not see it.</p><p><a href="'
            f'{render.e(base_path(self.request))}">Back to the dashboard</a></p>'
        )
        return html_page(render.message_page("Not found", message, self.frame), 404)
