"""Plumbing shared by the tracker adapters, and their two errors.

This module owns what every adapter needs and no adapter should re-implement:
case-insensitive header lookup, defensive reads of untrusted JSON (so a
malformed payload raises ``InvalidIssueEvent`` and never ``KeyError`` or
``TypeError``), timestamp parsing, the ``event_id`` (a digest of the signed body),
the "in progress" label convention, and constant-time HMAC checks.

It lives apart from ``consumers.trackers`` (the package ``__init__``) only so
that the adapter modules can import it without an import cycle.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from pydantic import ValidationError

from consumers.issue_event import (
    KEEP_ESTIMATE,
    EstimateSaid,
    InvalidIssueEvent,
    IssueEstimate,
    IssueEvent,
    IssueStatusName,
    summarise_validation_error,
    validate_issue_event,
)
from domain.text import defused

__all__ = [
    "IN_PROGRESS_LABELS",
    "KEEP_ESTIMATE",
    "EstimateSaid",
    "UnknownTracker",
    "UnsupportedPayload",
    "as_int",
    "as_mapping",
    "as_text",
    "build_event",
    "dig",
    "epoch_ms_to_utc",
    "first_time",
    "has_in_progress_label",
    "header",
    "hex_signature_matches",
    "hmac_sha256_hex",
    "keep_unless_given",
    "require_int",
    "require_text",
    "signature_matches",
    "signed_content_id",
    "to_estimate",
    "to_utc",
]


class UnsupportedPayload(ValueError):
    """A payload this tracker sends that is not an issue status event.

    A push hook, a comment event, a deleted issue: the webhook endpoint can
    acknowledge and ignore it, unlike ``InvalidIssueEvent`` (an issue event
    that is broken), which deserves a 4xx.
    """


class UnknownTracker(LookupError):
    """No adapter is registered under this tracker name."""


# --- headers -----------------------------------------------------------------


def header(headers: Mapping[str, str], name: str) -> str | None:
    """The value of header ``name``, whatever the case of either spelling.

    HTTP header names are case-insensitive, but a plain ``dict`` built by a
    test, a relay or a Kafka header list is not.
    """
    wanted = name.lower()
    try:
        for key, value in headers.items():
            if isinstance(key, str) and key.lower() == wanted:
                return value if isinstance(value, str) else None
    except (AttributeError, TypeError):
        return None
    return None


# --- reading untrusted JSON ----------------------------------------------------


def as_mapping(value: Any) -> Mapping[str, Any] | None:
    """``value`` if it is a JSON object, else ``None``."""
    return value if isinstance(value, Mapping) else None


def dig(value: Any, *path: str) -> Any:
    """``value[p0][p1]…``, or ``None`` as soon as a step is not an object or key."""
    for step in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(step)
    return value


def as_text(value: Any) -> str | None:
    """``value`` if it is a non-blank string, else ``None``."""
    return value if isinstance(value, str) and value.strip() else None


def as_int(value: Any) -> int | None:
    """``value`` if it is a JSON integer (``True`` is not one), else ``None``."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def require_text(tracker: str, value: Any, where: str) -> str:
    """A required string field, or ``InvalidIssueEvent`` naming where it was expected."""
    text = as_text(value)
    if text is None:
        raise InvalidIssueEvent(f"{tracker}: {where} is missing or not a non-empty string")
    return text


def require_int(tracker: str, value: Any, where: str) -> int:
    """A required integer field, or ``InvalidIssueEvent`` naming where it was expected."""
    number = as_int(value)
    if number is None:
        raise InvalidIssueEvent(f"{tracker}: {where} is missing or not an integer")
    return number


def to_estimate(value: Any) -> float | None:
    """A usable estimate, or ``None``.

    The estimate is optional information: a missing, non-numeric, negative or
    non-finite one is dropped rather than failing the status change it rides
    along with.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:  # an int beyond float range
        return None
    if number != number or number in (float("inf"), float("-inf")) or number < 0:
        return None
    return number


# --- time ------------------------------------------------------------------------

# "2016-08-18 18:14:13 UTC" (old GitLab), "… +0200" (space before the offset).
_TRAILING_UTC = re.compile(r"\s*(?:UTC|GMT)$", re.IGNORECASE)
_SPACED_OFFSET = re.compile(r"(\d)\s+([+-]\d{2}:?\d{2})$")


def to_utc(value: Any) -> datetime | None:
    """An ISO 8601-ish timestamp string as an aware UTC datetime, else ``None``.

    Accepts ``Z``, ``+00:00``, ``+0000`` (Jira) and GitLab's old
    ``YYYY-MM-DD HH:MM:SS UTC``. A time without any offset is refused rather
    than guessed: a wrong guess would reorder events.
    """
    if not isinstance(value, str) or len(value) > 64:
        return None
    text = _TRAILING_UTC.sub("+00:00", value.strip())
    text = _SPACED_OFFSET.sub(r"\1\2", text)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        return None
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        return None


_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


def epoch_ms_to_utc(value: Any) -> datetime | None:
    """Epoch milliseconds (Jira ``timestamp``, Linear ``webhookTimestamp``) as UTC."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        # timedelta keeps integer milliseconds exact, where
        # datetime.fromtimestamp(ms / 1000) could round the last digit.
        return _EPOCH + timedelta(milliseconds=value)
    except (OverflowError, ValueError):
        return None


def first_time(
    tracker: str, candidates: Iterable[tuple[str, Any, Callable[[Any], datetime | None]]]
) -> datetime:
    """The first candidate that parses, or ``InvalidIssueEvent`` listing them all.

    Each candidate is ``(where, raw value, parser)``, most precise first.
    """
    tried = []
    for where, raw, parse in candidates:
        parsed = parse(raw)
        if parsed is not None:
            return parsed
        tried.append(where)
    raise InvalidIssueEvent(f"{tracker}: no usable time in {', '.join(tried)}")


# --- event ids ---------------------------------------------------------------------


def signed_content_id(
    tracker: str, payload: Mapping[str, Any], restamped_fields: Iterable[str] = ()
) -> str:
    """``"<tracker>:sha256:<hex>"`` of the payload's canonical JSON: the event id.

    Only signed content may name an event (SPEC §9): no tracker's signature
    covers a delivery-id header (GitHub, Jira and Linear sign the body alone,
    GitLab signs nothing), so a header-based id would let anyone replay a
    captured signed body under a fresh delivery id and have it count again.
    The body is what a forger cannot change, so the id is its digest.

    Canonical means sorted keys and no whitespace, so the same payload
    delivered twice, even re-serialised by a relay, gets the same id.
    ``restamped_fields`` are top-level keys left out because the tracker
    re-stamps them on a retry of the same event (Linear's
    ``webhookTimestamp``); they are still signed, so leaving them out only
    makes a genuine retry idempotent.
    """
    left_out = frozenset(restamped_fields)
    content = {k: v for k, v in payload.items() if k not in left_out} if left_out else payload
    try:
        canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    except (TypeError, ValueError, RecursionError) as exc:
        raise InvalidIssueEvent(f"{tracker}: payload is not plain JSON ({exc})") from exc
    digest = hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{tracker}:sha256:{digest}"


# --- status conventions ----------------------------------------------------------------

IN_PROGRESS_LABELS: Final = frozenset({"in progress", "doing", "wip", "work in progress"})
"""Label names (after normalising) that mark an open issue as started.

GitHub and legacy GitLab issues have only open/closed; teams say "started"
with a label. The name is compared case-insensitively with ``-``/``_`` read as
spaces, and for a scoped label (``workflow::in progress``, ``status: doing``)
only the part after the last ``::`` or ``:`` counts.
"""


def _normalise_label(name: str) -> str:
    tail = re.split(r"::|:", name)[-1]
    return " ".join(tail.replace("-", " ").replace("_", " ").lower().split())


def has_in_progress_label(names: Iterable[str]) -> bool:
    """Whether any label name means "in progress" (see ``IN_PROGRESS_LABELS``)."""
    return any(_normalise_label(name) in IN_PROGRESS_LABELS for name in names)


# --- signatures --------------------------------------------------------------------------


def hmac_sha256_hex(secret: str, body: bytes) -> str:
    """Lowercase hex HMAC-SHA256 of ``body`` keyed by ``secret`` (UTF-8)."""
    key = secret.encode("utf-8", "surrogatepass")
    return hmac.new(key, bytes(body), hashlib.sha256).hexdigest()


def signature_matches(expected: str, given: str | None) -> bool:
    """Constant-time equality of a secret (or digest) and what a request sent.

    Both sides are compared as bytes because ``hmac.compare_digest`` refuses
    non-ASCII ``str``, and a header may hold anything. Empty never matches.
    """
    if not expected or not given:
        return False
    return hmac.compare_digest(
        expected.encode("utf-8", "surrogatepass"),
        given.encode("utf-8", "surrogatepass"),
    )


def hex_signature_matches(secret: str, body: bytes, given: str | None) -> bool:
    """Whether ``given`` is the hex HMAC-SHA256 of ``body`` (any hex case)."""
    if not secret or given is None:
        return False
    return signature_matches(hmac_sha256_hex(secret, body), given.strip().lower())


# --- building the event -------------------------------------------------------------------


def keep_unless_given(estimate: float | None) -> IssueEstimate:
    """``estimate``, or ``KEEP_ESTIMATE`` when there is none: for a payload whose
    missing estimate cannot be told from a cleared one (the issue keeps its last)."""
    return KEEP_ESTIMATE if estimate is None else estimate


def build_event(
    *,
    event_id: str,
    tracker: str,
    issue_key: str,
    status: IssueStatusName,
    raw_status: str | None,
    occurred_at: datetime,
    title: str | None,
    url: str | None,
    estimate: IssueEstimate,
) -> IssueEvent:
    """An ``IssueEvent``, with a validation failure reported as ``InvalidIssueEvent``.

    ``estimate``: a number, ``None`` when the tracker cleared it, or
    ``KEEP_ESTIMATE`` when the delivery says nothing of it (SPEC §16).
    """
    try:
        return validate_issue_event(
            event_id=event_id,
            tracker=tracker,
            issue_key=issue_key,
            status=status,
            # The tracker's free texts: whatever a person typed there, a genuine
            # delivery is stored (domain/text.py, ``defused``), never refused.
            raw_status=None if raw_status is None else defused(raw_status),
            occurred_at=occurred_at,
            title=None if title is None else defused(title),
            url=None if url is None else defused(url),
            estimate=estimate,
        )
    except ValidationError as exc:
        raise InvalidIssueEvent(f"{tracker}: {summarise_validation_error(exc)}") from exc
