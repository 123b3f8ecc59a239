"""API bearer tokens: created by the CLI, checked on every request.

Only a SHA-256 hash of each token is stored, so a leaked database does not
leak credentials. A token is bound to one organization, one user and one role.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from commands.actor import Actor
from domain.values import TokenRole
from projections.store import ViewStore

TOKEN_PREFIX = "okr_"

DDL = (
    "CREATE TABLE IF NOT EXISTS okr_api_tokens ("
    " token_hash TEXT PRIMARY KEY,"
    " token_id TEXT NOT NULL UNIQUE,"
    " organization_id TEXT NOT NULL,"
    " user_id TEXT NOT NULL,"
    " role TEXT NOT NULL,"
    " created_at TEXT NOT NULL,"
    " revoked_at TEXT)",
)


@dataclass(frozen=True)
class TokenInfo:
    token_id: str
    organization_id: str
    user_id: str
    role: str
    created_at: str
    revoked_at: str | None


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class TokenStore:
    """Tokens in the read-model database.

    ``cache_seconds``: how long a process trusts a token it has already found
    valid, instead of querying on every request (a revocation from another
    process, e.g. ``okr token revoke``, is therefore obeyed within that time;
    one in this process at once). 0 checks every request.
    """

    MAX_CACHED = 10_000

    def __init__(
        self,
        store: ViewStore,
        cache_seconds: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.cache_seconds = cache_seconds
        self._clock = clock
        self._valid: dict[str, tuple[Actor, float]] = {}
        self._lock = threading.Lock()
        with store.transaction() as tx:
            for statement in DDL:
                tx.execute(statement)

    def create(self, organization_id: str, user_id: str, role: str) -> tuple[str, str]:
        """Returns (token_id, token); the token itself is shown once and never stored."""
        role = TokenRole(role).value
        if not organization_id.strip() or not user_id.strip():
            raise ValueError("organization and user must not be empty")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        token_id = secrets.token_hex(6)
        with self.store.transaction() as tx:
            tx.execute(
                "INSERT INTO okr_api_tokens (token_hash, token_id, organization_id, user_id,"
                " role, created_at) VALUES (:hash, :id, :org, :user, :role, :at)",
                {
                    "hash": hash_token(token),
                    "id": token_id,
                    "org": organization_id,
                    "user": user_id,
                    "role": role,
                    "at": datetime.now(UTC).isoformat(),
                },
            )
        return token_id, token

    def cached(self, token: str) -> Actor | None:
        """The actor of a token checked less than ``cache_seconds`` ago, else None."""
        found = self._valid.get(hash_token(token))
        return found[0] if found is not None and found[1] > self._clock() else None

    def authenticate(self, token: str) -> Actor | None:
        cached = self.cached(token)
        if cached is not None:
            return cached
        token_hash = hash_token(token)
        with self.store.transaction(commit=False) as tx:
            row = tx.fetchone(
                "SELECT organization_id, user_id, role FROM okr_api_tokens"
                " WHERE token_hash = :hash AND revoked_at IS NULL",
                {"hash": token_hash},
            )
        if row is None:
            return None
        actor = Actor(row["organization_id"], row["user_id"], TokenRole(row["role"]))
        if self.cache_seconds > 0:
            with self._lock:
                if len(self._valid) >= self.MAX_CACHED:
                    self._valid.clear()
                self._valid[token_hash] = (actor, self._clock() + self.cache_seconds)
        return actor

    def revoke(self, token_id: str) -> bool:
        with self.store.transaction() as tx:
            found = tx.fetchone(
                "SELECT token_id FROM okr_api_tokens WHERE token_id = :id AND revoked_at IS NULL",
                {"id": token_id},
            )
            if found is None:
                return False
            tx.execute(
                "UPDATE okr_api_tokens SET revoked_at = :at WHERE token_id = :id",
                {"id": token_id, "at": datetime.now(UTC).isoformat()},
            )
        with self._lock:
            self._valid.clear()
        return True

    def list(self, organization_id: str | None = None) -> list[TokenInfo]:
        with self.store.transaction(commit=False) as tx:
            rows = tx.fetchall(
                "SELECT token_id, organization_id, user_id, role, created_at, revoked_at"
                " FROM okr_api_tokens ORDER BY created_at, token_id"
            )
        return [
            TokenInfo(**row)
            for row in rows
            if organization_id is None or row["organization_id"] == organization_id
        ]
