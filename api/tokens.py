"""API bearer tokens: created by the CLI, checked on every request.

Only a SHA-256 hash of each token is stored, so a leaked database does not
leak credentials. A token is bound to one organization, one user and one role,
and may expire (``expires_at``; SPEC §9): an expired token is refused like an
unknown one, by the database query and by the process's cache alike.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cachetools import TTLCache

from commands.actor import Actor
from domain.values import TokenRole
from projections.store import CONNECTION_LOST, Row, ViewStore

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
EXPIRES_AT_COLUMN = "expires_at"
"""Added after the first release: ``_add_expiry_column`` migrates older databases."""

MAX_EXPIRES_IN = timedelta(days=36_500)
_DURATION = re.compile(r"^\s*([0-9]{1,7})\s*([dhm])\s*$")
_UNITS = {"d": "days", "h": "hours", "m": "minutes"}


def parse_expires_in(text: str) -> timedelta:
    """``90d``, ``12h`` or ``30m`` as a duration (at least a minute, at most 100 years)."""
    found = _DURATION.match(text)
    if found is None:
        raise ValueError(f"expected a duration like 90d, 12h or 30m, got {text!r}")
    duration = timedelta(**{_UNITS[found.group(2)]: int(found.group(1))})
    if duration <= timedelta(0) or duration > MAX_EXPIRES_IN:
        raise ValueError(f"a token lasts from 1m to {MAX_EXPIRES_IN.days}d, got {text!r}")
    return duration


@dataclass(frozen=True)
class TokenInfo:
    token_id: str
    organization_id: str
    user_id: str
    role: str
    created_at: str
    revoked_at: str | None
    expires_at: str | None = None

    def expired(self, now: datetime) -> bool:
        return _expired(self.expires_at, now)


def _expired(expires_at: str | None, now: datetime) -> bool:
    """Past its expiry; an unreadable expiry (a hand-edited row) counts as past."""
    if expires_at is None:
        return False
    try:
        moment = datetime.fromisoformat(expires_at)
    except ValueError:
        return True
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment <= now


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class TokenStore:
    """Tokens in the read-model database.

    ``cache_seconds``: how long a process trusts a token it has already found
    valid, instead of querying on every request (a revocation from another
    process, e.g. ``okr token revoke``, is therefore obeyed within that time;
    one in this process at once). 0 checks every request. Expiry is obeyed at
    once either way: the cache keeps each token's ``expires_at`` beside it.
    ``clock`` times the cache; ``now`` is the wall clock expiry is read on.
    """

    MAX_CACHED = 10_000

    def __init__(
        self,
        store: ViewStore,
        cache_seconds: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store = store
        self.cache_seconds = cache_seconds
        self._now = now
        # Least recently used tokens make room for new ones; each stays
        # ``cache_seconds`` at most. Not thread-safe by itself: the lock guards it.
        self._valid: TTLCache[str, tuple[Actor, str | None]] = TTLCache(
            self.MAX_CACHED, max(cache_seconds, 0.0) or 1.0, timer=clock
        )
        self._lock = threading.Lock()
        with store.transaction() as tx:
            for statement in DDL:
                tx.execute(statement)
        _add_expiry_column(store)

    def create(
        self,
        organization_id: str,
        user_id: str,
        role: str,
        expires_in: timedelta | None = None,
    ) -> tuple[str, str]:
        """Returns (token_id, token); the token itself is shown once and never stored.

        ``expires_in``: the token is refused from then on; None: until revoked.
        """
        role = TokenRole(role).value
        if not organization_id.strip() or not user_id.strip():
            raise ValueError("organization and user must not be empty")
        if expires_in is not None and not timedelta(0) < expires_in <= MAX_EXPIRES_IN:
            raise ValueError(f"a token lasts from 1m to {MAX_EXPIRES_IN.days}d")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        token_id = secrets.token_hex(6)
        created = self._now()
        with self.store.transaction() as tx:
            tx.execute(
                "INSERT INTO okr_api_tokens (token_hash, token_id, organization_id, user_id,"
                " role, created_at, expires_at) VALUES (:hash, :id, :org, :user, :role, :at,"
                " :expires)",
                {
                    "hash": hash_token(token),
                    "id": token_id,
                    "org": organization_id,
                    "user": user_id,
                    "role": role,
                    "at": created.isoformat(),
                    "expires": None if expires_in is None else (created + expires_in).isoformat(),
                },
            )
        return token_id, token

    def cached(self, token: str) -> Actor | None:
        """The actor of a token checked less than ``cache_seconds`` ago and not expired
        since, else None."""
        key = hash_token(token)
        try:
            with self._lock:
                found = self._valid[key]  # a third cheaper than .get() in cachetools 8
        except KeyError:
            return None
        if _expired(found[1], self._now()):
            return None
        return found[0]

    def authenticate(self, token: str) -> Actor | None:
        cached = self.cached(token)
        if cached is not None:
            return cached
        token_hash = hash_token(token)
        try:
            row = self._find(token_hash)
        except CONNECTION_LOST:  # every request starts here: once more, on a fresh connection
            self.store.revive()
            row = self._find(token_hash)
        if row is None or _expired(row["expires_at"], self._now()):
            return None
        actor = Actor(row["organization_id"], row["user_id"], TokenRole(row["role"]))
        if self.cache_seconds > 0:
            with self._lock:
                self._valid[token_hash] = (actor, row["expires_at"])
        return actor

    def _find(self, token_hash: str) -> Row | None:
        with self.store.transaction(commit=False) as tx:
            return tx.fetchone(
                "SELECT organization_id, user_id, role, expires_at FROM okr_api_tokens"
                " WHERE token_hash = :hash AND revoked_at IS NULL",
                {"hash": token_hash},
            )

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
                "SELECT token_id, organization_id, user_id, role, created_at, revoked_at,"
                " expires_at FROM okr_api_tokens ORDER BY created_at, token_id"
            )
        return [
            TokenInfo(**row)
            for row in rows
            if organization_id is None or row["organization_id"] == organization_id
        ]


def _add_expiry_column(store: ViewStore) -> None:
    """Give a database made before tokens could expire its ``expires_at`` column.

    Existing tokens keep NULL there: they never expire, as when they were made.
    """
    if store.dialect == "postgres":
        # Asked first: ALTER TABLE locks the table even when the column is there.
        with store.transaction(commit=False) as tx:
            found = tx.fetchone(
                "SELECT 1 AS found FROM information_schema.columns WHERE table_schema ="
                " current_schema() AND table_name = 'okr_api_tokens' AND column_name = :column",
                {"column": EXPIRES_AT_COLUMN},
            )
        if found is None:
            with store.transaction() as tx:
                tx.execute(
                    f"ALTER TABLE okr_api_tokens ADD COLUMN IF NOT EXISTS {EXPIRES_AT_COLUMN} TEXT"
                )
        return
    with store.transaction() as tx:
        columns = {row["name"] for row in tx.fetchall("PRAGMA table_info(okr_api_tokens)")}
        if EXPIRES_AT_COLUMN not in columns:
            tx.execute(f"ALTER TABLE okr_api_tokens ADD COLUMN {EXPIRES_AT_COLUMN} TEXT")
