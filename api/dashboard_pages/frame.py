"""The page frame (head, navigation, sign-in) and the formatting of single values:
every value goes through ``html.escape``."""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import UTC, datetime

from api.dashboard_pages.style import (
    CSS,
)


def e(value: object) -> str:
    """Escape any value for HTML text and attributes."""
    return html.escape("" if value is None else str(value), quote=True)


def pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def when(moment: datetime | str | None) -> str:
    if moment is None:
        return "—"
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M")


def number(value: float | None) -> str:
    return "—" if value is None else f"{value:g}"


# ---------------------------------------------------------------- page frame


@dataclass(frozen=True)
class Frame:
    """What every page shows around its content: who is looking, where links start."""

    base: str  # the dashboard's own URL path, e.g. "/dashboard"
    organization_id: str | None = None
    user_id: str | None = None
    role: str | None = None
    csrf: str = ""  # the sign-out form's token (see api/routers/dashboard.py)


def page(title: str, body: str, frame: Frame) -> str:
    who = ""
    if frame.user_id is not None:
        who = (
            f'<span class="who">{e(frame.organization_id)} / {e(frame.user_id)}'
            f' <span class="muted">({e(frame.role)})</span>'
            f'<form class="sign-out" method="post" action="{e(frame.base)}/logout"'
            ' style="display:inline;margin-left:10px">'
            f'<input type="hidden" name="csrf" value="{e(frame.csrf)}">'
            '<button type="submit" style="background:none;border:0;padding:0;'
            'color:#93c5fd;text-decoration:underline;cursor:pointer;font:inherit">'
            "sign out</button></form></span>"
        )
    return (
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="referrer" content="same-origin">'
        f"<title>{e(title)} · OKR dashboard</title><style>{CSS}</style></head>"
        f'<body><header class="top"><a class="brand" href="{e(frame.base)}">OKR dashboard</a>'
        f"{who}</header><main>{body}</main></body></html>"
    )


def message_page(title: str, message: str, frame: Frame) -> str:
    """A page with one card: ``message`` is HTML the caller has already escaped."""
    return page(title, f'<div class="card"><h1>{e(title)}</h1>{message}</div>', frame)


def sign_in_page(frame: Frame, reason: str, next_path: str = "") -> str:
    """The sign-in form: the token is POSTed (never put in an address) and kept in an
    HttpOnly cookie for this browser only; ``next_path`` is the page to return to."""
    base = e(frame.base)
    message = (
        f'<p class="muted">{e(reason)}</p>'
        f'<form class="sign-in" method="post" action="{base}/sign-in">'
        f'<input type="hidden" name="next" value="{e(next_path or frame.base)}">'
        '<label>API token <input type="password" name="token" autocomplete="off"'
        ' required size="48"></label> <button type="submit">Sign in</button></form>'
        "<p>The dashboard reads with the same API tokens as the HTTP API; the token is"
        " kept in a cookie for this browser only.</p>"
        "<p>Create a token with the command line:</p>"
        "<pre>okr token create --org ORG --user USER --role member</pre>"
        "<p>or load the demo organization, which prints an admin token:</p>"
        "<pre>okr demo</pre>"
        '<p class="muted small">Programs may instead send'
        " <code>Authorization: Bearer &lt;token&gt;</code>.</p>"
    )
    return message_page("Sign in to the OKR dashboard", message, frame)
