"""The API's token cache: how long a revoked token may still be trusted, exactly."""

from __future__ import annotations

from pathlib import Path

from api.tokens import TokenStore
from entrypoints.bootstrap import views_env
from projections.store import open_view_store
from tests.conftest import embedded_settings


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def stores(tmp_path: Path, seconds: float) -> tuple[TokenStore, TokenStore, Clock]:
    """The API's token store (cached) and another process's (the CLI), on one database."""
    store = open_view_store(views_env(embedded_settings(tmp_path)))
    clock = Clock()
    return TokenStore(store, seconds, clock), TokenStore(store), clock


def test_a_token_revoked_elsewhere_is_refused_once_the_cache_expires(tmp_path: Path) -> None:
    api, cli, clock = stores(tmp_path, 2.0)
    token_id, token = cli.create("acme", "ada", "member")
    actor = api.authenticate(token)
    assert actor is not None and (actor.organization_id, actor.user_id) == ("acme", "ada")
    assert cli.revoke(token_id)
    clock.now += 1.9
    assert api.authenticate(token) == actor  # trusted for at most cache_seconds
    clock.now += 0.2
    assert api.authenticate(token) is None
    assert cli.authenticate(token) is None


def test_a_revocation_in_the_same_process_is_obeyed_at_once(tmp_path: Path) -> None:
    api, _, _ = stores(tmp_path, 60.0)
    token_id, token = api.create("acme", "ada", "admin")
    assert api.authenticate(token) is not None
    assert api.revoke(token_id)
    assert api.authenticate(token) is None


def test_without_a_cache_every_request_is_checked(tmp_path: Path) -> None:
    api, cli, _ = stores(tmp_path, 0.0)
    token_id, token = cli.create("acme", "ada", "member")
    assert api.authenticate(token) is not None
    assert cli.revoke(token_id)
    assert api.authenticate(token) is None


def test_unknown_tokens_are_never_cached(tmp_path: Path) -> None:
    api, _, _ = stores(tmp_path, 60.0)
    assert api.authenticate("okr_nope") is None
    assert api._valid == {}
