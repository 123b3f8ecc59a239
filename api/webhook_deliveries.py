"""The delivery log of each webhook registration (SPEC §16): what came in and what became of it.

Trackers disable a hook that keeps failing, so every correctly signed
delivery is answered 2xx unless its body is not the tracker's JSON, and an
admin needs to see why a delivery moved nothing. Each one is recorded here:
when it came, the tracker's own event kind and action, the outcome
(``Outcome``), the reason when it was ignored or refused, and the canonical
``event_id`` and issue key when it had one. An unsigned delivery is not
recorded (anyone could fill the log).

No payload body is stored: a tracker payload holds people's names, e-mail
addresses and free text (SPEC §11), and the log only has to say what
happened. Reasons are the adapters' own one-line texts, cut to
``MAX_REASON_CHARS``.

Retention, per registration: the latest ``KEEP_PER_REGISTRATION`` deliveries,
none older than ``KEEP_DAYS`` days, pruned on every write (two indexed
statements), so a busy hook cannot grow the table and a quiet one forgets.
Deleting a registration deletes its log. Lives in the read-model database
beside the registrations (``api/webhook_registry.py``).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Final

from projections.store import ViewStore

__all__ = [
    "KEEP_DAYS",
    "KEEP_PER_REGISTRATION",
    "Delivery",
    "DeliveryLog",
    "DeliveryPage",
    "Outcome",
    "check_delivery_position",
]

KEEP_PER_REGISTRATION: Final = 1000
"""Deliveries kept per registration: days of a busy team's hook, enough to see
why the last ones moved nothing, and a bounded table whatever the traffic."""

KEEP_DAYS: Final = 30
"""No delivery is kept longer: the log explains recent behaviour, it is no archive."""

MAX_REASON_CHARS: Final = 300
MAX_LABEL_CHARS: Final = 100
_MAX_EVENT_ID_CHARS: Final = 200
_MAX_ISSUE_KEY_CHARS: Final = 300

DDL: Final = (
    "CREATE TABLE IF NOT EXISTS okr_webhook_deliveries ("
    " delivery_id TEXT PRIMARY KEY,"
    " registration_id TEXT NOT NULL,"
    " received_at TEXT NOT NULL,"
    " tracker_event TEXT,"
    " action TEXT,"
    " outcome TEXT NOT NULL,"
    " reason TEXT,"
    " event_id TEXT,"
    " issue_key TEXT)",
    "CREATE INDEX IF NOT EXISTS okr_webhook_deliveries_by_registration"
    " ON okr_webhook_deliveries (registration_id, received_at, delivery_id)",
)

_ID = re.compile(r"[0-9a-f]{32}")
_AT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}\+00:00")
_COLUMNS: Final = (
    "delivery_id, registration_id, received_at, tracker_event, action,"
    " outcome, reason, event_id, issue_key"
)


class Outcome(StrEnum):
    """What became of one correctly signed delivery."""

    APPLIED = "applied"  # applied in-process: it set the issue's status
    LATE = "late"  # applied in-process, older than the issue's last status: recorded only
    DUPLICATE = "duplicate"  # this event was applied before: nothing changed
    PUBLISHED = "published"  # handed to Kafka; the consumer applies it
    IGNORED = "ignored"  # a genuine delivery this service does not map (reason says why)
    REJECTED_BAD_BODY = "rejected-bad-body"  # 400: not the tracker's JSON
    REJECTED_STALE = "rejected-stale"  # 401: signed, but too old to be fresh (Linear)


@dataclass(frozen=True, slots=True)
class Delivery:
    delivery_id: str
    registration_id: str
    received_at: str
    tracker_event: str | None
    action: str | None
    outcome: str
    reason: str | None
    event_id: str | None
    issue_key: str | None


@dataclass(frozen=True, slots=True)
class DeliveryPage:
    deliveries: list[Delivery]
    last: tuple[str, str] | None
    """Where the next (older) page starts before; None: this is the last page."""


def check_delivery_position(after: list[object]) -> tuple[str, str] | None:
    """The (received_at, id) a cursor resumes before, or None if it is not one of ours."""
    if (
        len(after) != 2
        or not all(isinstance(part, str) for part in after)
        or not _AT.fullmatch(str(after[0]))
        or not _ID.fullmatch(str(after[1]))
    ):
        return None
    return str(after[0]), str(after[1])


def _cut(value: str | None, limit: int) -> str | None:
    if value is None:
        return None
    text = "".join(c if c.isprintable() else "?" for c in value[:limit])
    return text.encode("utf-8", "replace").decode("utf-8") or None


def _now() -> datetime:
    return datetime.now(UTC)


def _instant(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds")


class DeliveryLog:
    """Every registration's recent deliveries, in the read-model database."""

    def __init__(self, store: ViewStore) -> None:
        self.store = store

    def create_table(self) -> None:
        """Idempotent; the registry calls it with its own table (and its retry)."""
        with self.store.transaction() as tx:
            for statement in DDL:
                tx.execute(statement)

    def record(
        self,
        registration_id: str,
        outcome: Outcome,
        *,
        tracker_event: str | None = None,
        action: str | None = None,
        reason: str | None = None,
        event_id: str | None = None,
        issue_key: str | None = None,
    ) -> Delivery:
        """Log one delivery and prune the registration's log to its bounds."""
        now = _now()
        delivery = Delivery(
            delivery_id=secrets.token_hex(16),
            registration_id=registration_id,
            received_at=_instant(now),
            tracker_event=_cut(tracker_event, MAX_LABEL_CHARS),
            action=_cut(action, MAX_LABEL_CHARS),
            outcome=outcome.value,
            reason=_cut(reason, MAX_REASON_CHARS),
            event_id=_cut(event_id, _MAX_EVENT_ID_CHARS),
            issue_key=_cut(issue_key, _MAX_ISSUE_KEY_CHARS),
        )
        params: dict[str, Any] = {
            "delivery_id": delivery.delivery_id,
            "registration_id": registration_id,
            "received_at": delivery.received_at,
            "tracker_event": delivery.tracker_event,
            "action": delivery.action,
            "outcome": delivery.outcome,
            "reason": delivery.reason,
            "event_id": delivery.event_id,
            "issue_key": delivery.issue_key,
        }
        with self.store.transaction() as tx:
            tx.execute(
                f"INSERT INTO okr_webhook_deliveries ({_COLUMNS}) VALUES (:delivery_id,"
                " :registration_id, :received_at, :tracker_event, :action, :outcome,"
                " :reason, :event_id, :issue_key)",
                params,
            )
            tx.execute(
                "DELETE FROM okr_webhook_deliveries WHERE registration_id = :r"
                " AND (received_at < :cutoff OR received_at < (SELECT received_at"
                " FROM okr_webhook_deliveries WHERE registration_id = :r"
                " ORDER BY received_at DESC, delivery_id DESC LIMIT 1 OFFSET :keep))",
                {
                    "r": registration_id,
                    "cutoff": _instant(now - timedelta(days=KEEP_DAYS)),
                    "keep": KEEP_PER_REGISTRATION - 1,
                },
            )
        return delivery

    def page(
        self, registration_id: str, limit: int, before: tuple[str, str] | None = None
    ) -> DeliveryPage:
        """Newest first, ``limit`` at a time, before the (received_at, id) of the page before.

        Nothing older than ``KEEP_DAYS`` is answered, even while a registration that
        receives nothing has not pruned it yet (pruning happens on a write)."""
        cutoff = _instant(_now() - timedelta(days=KEEP_DAYS))
        params: dict[str, Any] = {"r": registration_id, "limit": limit + 1, "cutoff": cutoff}
        clause = ""
        if before is not None:
            params["at"], params["id"] = before
            clause = " AND (received_at < :at OR (received_at = :at AND delivery_id < :id))"
        with self.store.transaction(commit=False) as tx:
            rows = tx.fetchall(
                f"SELECT {_COLUMNS} FROM okr_webhook_deliveries WHERE registration_id = :r"
                f" AND received_at >= :cutoff{clause}"
                " ORDER BY received_at DESC, delivery_id DESC LIMIT :limit",
                params,
            )
        found = [Delivery(**row) for row in rows[:limit]]
        last = found[-1] if len(rows) > limit and found else None
        return DeliveryPage(found, (last.received_at, last.delivery_id) if last else None)

    def forget(self, registration_id: str) -> None:
        """Delete a registration's log (with the registration)."""
        with self.store.transaction() as tx:
            tx.execute(
                "DELETE FROM okr_webhook_deliveries WHERE registration_id = :r",
                {"r": registration_id},
            )
