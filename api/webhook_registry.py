"""Webhook registrations: which organization a tracker's deliveries belong to, and their secret.

A registration is mutable configuration, not a domain fact, so it lives in
the read-model database beside the API tokens (``api/tokens.py``), in one
table created idempotently on SQLite and PostgreSQL. Each one binds a random,
unguessable id (the last segment of the delivery URL
``/v1/webhooks/{tracker}/{id}``) to one organization, one tracker and one
secret (SPEC §9): a delivery is applied in that organization only if it is
signed with that secret.

The secret is kept as it is, not hashed: verifying an HMAC needs the key
itself. It is shown once, when made (create, rotate), never listed, never
logged; whoever can read the read-model database can read it, exactly as
they could rewrite the event store. Rotating replaces it in one UPDATE, so
the old one stops working at once in every process (nothing caches it).

``mapping`` (SPEC §16) is the registration's ``TrackerMapping``: checked by
``consumers.trackers.mapping.mapping_from_json`` (the one home of its rules)
and stored as its normalised JSON. A row written before those rules whose
JSON is a plain ``{label: status}`` object reads as those labels; anything
else it held reads as no mapping (the stored text is left untouched).

The registry also owns the tables that live and die with a registration:
its delivery log (``api/webhook_deliveries.py``) and what its GitHub
deliveries said of Projects items (``api/webhook_project_items.py``).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from eventsourcing.persistence import IntegrityError

from api.webhook_deliveries import DeliveryLog
from api.webhook_mappings import (
    MAX_MAPPING_CHARS,
    MAX_MAPPING_DEPTH,
    normalised_mapping,
    stored_mapping,
)
from api.webhook_project_items import WebhookProjectItems
from consumers.trackers.mapping import (
    DEFAULT_MAPPING,
    InvalidMapping,
    TrackerMapping,
    mapping_from_json,
)
from projections.store import Tx, ViewStore

__all__ = [
    "MAX_MAPPING_CHARS",
    "MAX_MAPPING_DEPTH",
    "BadCursor",
    "InvalidMapping",
    "RegistrationPage",
    "WebhookRegistration",
    "WebhookRegistry",
    "delivery_path",
]

DDL: Final = (
    "CREATE TABLE IF NOT EXISTS okr_webhook_registrations ("
    " registration_id TEXT PRIMARY KEY,"
    " organization_id TEXT NOT NULL,"
    " tracker TEXT NOT NULL,"
    " secret TEXT NOT NULL,"
    " mapping TEXT,"
    " created_at TEXT NOT NULL,"
    " rotated_at TEXT)",
    "CREATE INDEX IF NOT EXISTS okr_webhook_registrations_by_org"
    " ON okr_webhook_registrations (organization_id, created_at, registration_id)",
)

_ID_BYTES: Final = 16  # 128 random bits: not to be found by trying
_SECRET_BYTES: Final = 32
# Anything else is not an id this module made: never sent to the database
# (PostgreSQL refuses a NUL in a TEXT parameter with an error, not "no row").
_ID = re.compile(r"[0-9a-f]{32}")
_CREATED_AT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}\+00:00")


class BadCursor(ValueError):
    """A ``cursor`` that this module did not make."""


@dataclass(frozen=True, slots=True)
class WebhookRegistration:
    """One registration; ``secret`` is never part of what is listed or shown later."""

    registration_id: str
    organization_id: str
    tracker: str
    secret: str
    mapping: dict[str, Any] | None
    created_at: str
    rotated_at: str | None

    @property
    def url(self) -> str:
        return delivery_path(self.tracker, self.registration_id)

    @property
    def tracker_mapping(self) -> TrackerMapping:
        """What the adapters read (``DEFAULT_MAPPING`` without one)."""
        try:
            return mapping_from_json(self.mapping)
        except InvalidMapping:  # not reachable through _registration; kept total
            return DEFAULT_MAPPING


@dataclass(frozen=True, slots=True)
class RegistrationPage:
    registrations: list[WebhookRegistration]
    last: tuple[str, str] | None
    """Where the next page starts after; None: this is the last page."""


def delivery_path(tracker: str, registration_id: str) -> str:
    """Where the tracker posts its deliveries (a path; the host is the operator's)."""
    return f"/v1/webhooks/{tracker}/{registration_id}"


def _now() -> str:
    # Fixed width (always microseconds), so the text sorts as the time does.
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _new_secret() -> str:
    return secrets.token_urlsafe(_SECRET_BYTES)


def check_position(after: list[object]) -> tuple[str, str]:
    """The (created_at, id) a list cursor resumes after, or ``BadCursor`` if not one of ours.

    The cursor itself is ``api/paging``'s, as for every list; only its keyset's
    shape is this table's to check, before anything reaches the database.
    """
    if (
        len(after) != 2
        or not all(isinstance(part, str) for part in after)
        or not _CREATED_AT.fullmatch(str(after[0]))
        or not _ID.fullmatch(str(after[1]))
    ):
        raise BadCursor("cursor: not a cursor of this list")
    return str(after[0]), str(after[1])


_COLUMNS: Final = (
    "registration_id, organization_id, tracker, secret, mapping, created_at, rotated_at"
)


def _registration(row: Mapping[str, Any]) -> WebhookRegistration:
    mapping = stored_mapping(row["mapping"])
    return WebhookRegistration(
        registration_id=row["registration_id"],
        organization_id=row["organization_id"],
        tracker=row["tracker"],
        secret=row["secret"],
        mapping=mapping,
        created_at=row["created_at"],
        rotated_at=row["rotated_at"],
    )


class WebhookRegistry:
    """The registrations of every organization, in the read-model database.

    Every method that names a registration takes the caller's organization
    (``None`` only for the operator's CLI): another organization's id is
    simply not found. Trackers and organizations are checked by the caller.
    """

    def __init__(self, store: ViewStore) -> None:
        self.store = store
        self.deliveries = DeliveryLog(store)
        self.project_items = WebhookProjectItems(store)
        try:
            self._create_table()
        except IntegrityError:
            # PostgreSQL: another process (a worker starting beside this one)
            # created the table between our IF NOT EXISTS check and ours.
            self._create_table()

    def _create_table(self) -> None:
        with self.store.transaction() as tx:
            for statement in DDL:
                tx.execute(statement)
        self.deliveries.create_table()
        self.project_items.create_table()

    def create(
        self, organization_id: str, tracker: str, mapping: dict[str, Any] | None = None
    ) -> WebhookRegistration:
        """A new registration with a fresh id and secret (the secret is shown once)."""
        if not organization_id.strip():
            raise ValueError("organization must not be empty")
        mapping_text = normalised_mapping(mapping)  # InvalidMapping is a ValueError
        registration = WebhookRegistration(
            registration_id=secrets.token_hex(_ID_BYTES),
            organization_id=organization_id,
            tracker=tracker,
            secret=_new_secret(),
            mapping=stored_mapping(mapping_text),
            created_at=_now(),
            rotated_at=None,
        )
        with self.store.transaction() as tx:
            tx.execute(
                f"INSERT INTO okr_webhook_registrations ({_COLUMNS}) VALUES"
                " (:id, :org, :tracker, :secret, :mapping, :at, NULL)",
                {
                    "id": registration.registration_id,
                    "org": organization_id,
                    "tracker": tracker,
                    "secret": registration.secret,
                    "mapping": mapping_text,
                    "at": registration.created_at,
                },
            )
        return registration

    def count(self, organization_id: str) -> int:
        with self.store.transaction(commit=False) as tx:
            row = tx.fetchone(
                "SELECT COUNT(*) AS n FROM okr_webhook_registrations WHERE organization_id = :org",
                {"org": organization_id},
            )
        return int(row["n"]) if row is not None else 0

    def get(
        self, registration_id: str, organization_id: str | None = None
    ) -> WebhookRegistration | None:
        """The registration, if it exists (and belongs to ``organization_id`` when given)."""
        if not _plausible_id(registration_id):
            return None
        with self.store.transaction(commit=False) as tx:
            return _select(tx, registration_id, organization_id)

    def page(
        self, organization_id: str | None, limit: int, after: tuple[str, str] | None = None
    ) -> RegistrationPage:
        """Oldest first, ``limit`` at a time, after the (created_at, id) of the page before;
        ``last`` is None on the last page."""
        where = []
        params: dict[str, Any] = {"limit": limit + 1}
        if organization_id is not None:
            where.append("organization_id = :org")
            params["org"] = organization_id
        if after is not None:
            params["after_at"], params["after_id"] = after
            where.append(
                "(created_at > :after_at"
                " OR (created_at = :after_at AND registration_id > :after_id))"
            )
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        with self.store.transaction(commit=False) as tx:
            rows = tx.fetchall(
                f"SELECT {_COLUMNS} FROM okr_webhook_registrations{clause}"
                " ORDER BY created_at, registration_id LIMIT :limit",
                params,
            )
        found = [_registration(row) for row in rows[:limit]]
        more = len(rows) > limit
        last = found[-1] if found else None
        return RegistrationPage(
            found, (last.created_at, last.registration_id) if more and last else None
        )

    def rotate(
        self, registration_id: str, organization_id: str | None = None
    ) -> WebhookRegistration | None:
        """A new secret, in force at once; the old one no longer verifies anything.

        One UPDATE: two rotations at once both succeed, the later one's secret
        is the one kept, and exactly one secret works afterwards.
        """
        if not _plausible_id(registration_id):
            return None
        secret, at = _new_secret(), _now()
        with self.store.transaction() as tx:
            tx.execute(
                "UPDATE okr_webhook_registrations SET secret = :secret, rotated_at = :at"
                f" WHERE {_matching(organization_id)}",
                {"secret": secret, "at": at, "id": registration_id, "org": organization_id},
            )
            rotated = _select(tx, registration_id, organization_id)
        return rotated

    def set_mapping(
        self,
        registration_id: str,
        organization_id: str | None,
        mapping: dict[str, Any] | None,
    ) -> WebhookRegistration | None:
        """Replace the registration's mapping (checked first: ``InvalidMapping``)."""
        if not _plausible_id(registration_id):
            return None
        stored = normalised_mapping(mapping)
        with self.store.transaction() as tx:
            tx.execute(
                f"UPDATE okr_webhook_registrations SET mapping = :mapping"
                f" WHERE {_matching(organization_id)}",
                {"mapping": stored, "id": registration_id, "org": organization_id},
            )
            return _select(tx, registration_id, organization_id)

    def delete(self, registration_id: str, organization_id: str | None = None) -> bool:
        """Forget the registration, its delivery log and its Projects items: its URL
        answers 404 from now on."""
        if not _plausible_id(registration_id):
            return False
        with self.store.transaction() as tx:
            if _select(tx, registration_id, organization_id) is None:
                return False
            tx.execute(
                f"DELETE FROM okr_webhook_registrations WHERE {_matching(organization_id)}",
                {"id": registration_id, "org": organization_id},
            )
        self.deliveries.forget(registration_id)
        self.project_items.forget(registration_id)
        return True


def _plausible_id(registration_id: str) -> bool:
    return isinstance(registration_id, str) and _ID.fullmatch(registration_id) is not None


def _matching(organization_id: str | None) -> str:
    """The WHERE clause for one registration, of one organization when it is given."""
    if organization_id is None:
        return "registration_id = :id"
    return "registration_id = :id AND organization_id = :org"


def _select(
    tx: Tx, registration_id: str, organization_id: str | None
) -> WebhookRegistration | None:
    row = tx.fetchone(
        f"SELECT {_COLUMNS} FROM okr_webhook_registrations WHERE {_matching(organization_id)}",
        {"id": registration_id, "org": organization_id},
    )
    return _registration(row) if row is not None else None
