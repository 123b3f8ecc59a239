"""The wire schema of the canonical issue event (SPEC §4): its rules, its bytes, its errors.

The event itself is one value, ``commands.issues.IssueEvent`` (a frozen
dataclass, also the command the write side takes). This module owns how it
travels: ``IssueEventSchema``, the strict rules a message must meet; the bytes
on the wire (``encode_issue_event`` / ``parse_issue_event``, compact UTF-8
JSON); ``validate_issue_event`` for the tracker adapters, which build an event
from fields; and the single error a bad message turns into,
``InvalidIssueEvent``, whose reason is what the dead-letter topic records.
Every way in (the Kafka consumer, ``POST /v1/issue-events``, the webhooks)
gets its ``IssueEvent`` from here, so all of them refuse the same messages.

It is pure: pydantic and the standard library only, no Kafka, no database, no
web framework, so producers (webhooks), the consumer and tests share it.

The model is strict on purpose. The wire format is ours, not a tracker's, so
there is no reason to accept ``"3"`` for an estimate or a naive time: any such
message is a bug upstream and belongs in the dead-letter topic, not in the
event store.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any, Final, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)

from commands.issue_event import KEEP_ESTIMATE, EstimateSaid, IssueEstimate, IssueEvent
from domain.text import storable

__all__ = [
    "KEEP_ESTIMATE",
    "MAX_EVENT_ID_CHARS",
    "MAX_MESSAGE_BYTES",
    "TRACKER_PATTERN",
    "EstimateSaid",
    "InvalidIssueEvent",
    "IssueEstimate",
    "IssueEvent",
    "IssueEventSchema",
    "IssueStatusName",
    "encode_issue_event",
    "parse_issue_event",
    "summarise_validation_error",
    "validate_issue_event",
]

IssueStatusName = Literal["todo", "in_progress", "done", "cancelled"]
"""The four canonical statuses; the same values as ``domain.values.IssueStatus``."""

TRACKER_PATTERN: Final = r"^[a-z][a-z0-9_-]{0,31}$"
"""A tracker slug: lowercase, starts with a letter, at most 32 characters."""

MAX_EVENT_ID_CHARS: Final = 200
"""Longest ``event_id``; adapters that compose one from several parts check it."""

MAX_MESSAGE_BYTES: Final = 1_000_000
"""Largest message ``parse_issue_event`` reads.

A canonical event is a few hundred bytes; anything near a megabyte is not one,
and refusing it early keeps a hostile message from costing real memory.
"""

# A reason is stored with the dead letter and shown to operators: keep it
# readable, and never let a huge invalid input blow it up.
_MAX_REASON_CHARS: Final = 500


class InvalidIssueEvent(ValueError):
    """A message or payload that cannot become a valid ``IssueEvent``.

    ``reason`` is a one-line, human-readable explanation (also the ``str``),
    fit for the dead-letter record or an HTTP 400 body.
    """

    def __init__(self, reason: str) -> None:
        if len(reason) > _MAX_REASON_CHARS:
            reason = reason[: _MAX_REASON_CHARS - 1] + "…"
        super().__init__(reason)
        self.reason = reason


def _not_blank(value: str) -> str:
    # min_length=1 alone would let "   " through, and a blank idempotency key
    # or issue key would silently merge unrelated issues.
    if not value.strip():
        raise ValueError("must not be blank")
    return value


class IssueEventSchema(BaseModel):
    """What a message must be to become an ``IssueEvent`` (SPEC §4).

    ``occurred_at`` is normalised to UTC on validation, so equal instants
    compare and encode identically whatever offset the producer used. The
    JSON schema keeps the title ``IssueEvent``: that is the event's name.

    ``estimate`` has three meanings (SPEC §16): a number; ``null``, the
    tracker cleared it; absent, the message says nothing of it and the issue
    keeps its last one. Pydantic's ``model_fields_set`` tells the last two
    apart, so the field keeps its plain JSON type.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True, title="IssueEvent")

    event_id: Annotated[str, Field(min_length=1, max_length=MAX_EVENT_ID_CHARS)]
    tracker: Annotated[str, Field(pattern=TRACKER_PATTERN)]
    issue_key: Annotated[str, Field(min_length=1, max_length=300)]
    status: IssueStatusName
    raw_status: str | None = None
    occurred_at: AwareDatetime
    title: str | None = None
    url: str | None = None
    estimate: Annotated[float | None, Field(ge=0, allow_inf_nan=False)] = None

    @field_validator("event_id", "issue_key")
    @classmethod
    def _check_not_blank(cls, value: str) -> str:
        return _not_blank(value)

    @field_validator("event_id", "issue_key", "raw_status", "title", "url")
    @classmethod
    def _check_storable(cls, value: str | None) -> str | None:
        # The same rule as every other entry point (domain/text.py).
        if value is not None and not storable(value):
            raise ValueError("contains characters that cannot be stored (NUL or lone surrogate)")
        return value

    @field_validator("occurred_at")
    @classmethod
    def _to_utc(cls, value: datetime) -> datetime:
        try:
            return value.astimezone(UTC)
        except OverflowError as exc:
            # e.g. 0001-01-01T00:00+05:00 has no UTC equivalent.
            raise ValueError("is out of range once converted to UTC") from exc

    def to_event(self) -> IssueEvent:
        """The validated message as the one value every reader uses."""
        fields = dict(self.__dict__)
        if "estimate" not in self.model_fields_set:
            fields["estimate"] = KEEP_ESTIMATE
        return IssueEvent(**fields)


_FIELDS: Final = tuple(IssueEventSchema.model_fields)


def validate_issue_event(**fields: Any) -> IssueEvent:
    """An ``IssueEvent`` from Python values, checked by the wire's rules.

    An ``estimate`` of ``KEEP_ESTIMATE`` (or none given) is left out: the
    event says nothing of it. Raises pydantic's ``ValidationError`` (the
    tracker adapters turn it into ``InvalidIssueEvent`` with their own prefix).
    """
    if isinstance(fields.get("estimate"), EstimateSaid):
        del fields["estimate"]
    return IssueEventSchema(**fields).to_event()


def summarise_validation_error(exc: ValidationError) -> str:
    """One line naming each failing field and why, without echoing inputs."""
    parts = []
    for error in exc.errors(include_url=False, include_input=False):
        location = ".".join(str(part) for part in error["loc"]) or "message"
        parts.append(f"{location}: {error['msg']}")
    return "; ".join(parts) or "invalid issue event"


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # json.loads keeps the last of two equal keys; a message that says two
    # different things about one field is ambiguous, not "the last one wins".
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_issue_event(raw: bytes) -> IssueEvent:
    """Decode one Kafka message value into an ``IssueEvent``.

    Raises ``InvalidIssueEvent`` (and nothing else) when the value is missing,
    too large, not UTF-8, not JSON, not an object, or fails validation.
    """
    if raw is None:
        raise InvalidIssueEvent("empty message (no value)")
    if not isinstance(raw, bytes | bytearray | memoryview):
        raise InvalidIssueEvent(f"expected bytes, got {type(raw).__name__}")
    data = bytes(raw)
    if len(data) > MAX_MESSAGE_BYTES:
        raise InvalidIssueEvent(
            f"message is {len(data)} bytes, more than the {MAX_MESSAGE_BYTES} allowed"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidIssueEvent(f"not valid UTF-8 at byte {exc.start}: {exc.reason}") from exc
    try:
        document = json.loads(
            text,
            object_pairs_hook=_reject_duplicate_keys,
            parse_constant=_reject_constant,
        )
    except json.JSONDecodeError as exc:
        raise InvalidIssueEvent(
            f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from exc
    except (ValueError, RecursionError) as exc:
        # ValueError: our hooks (duplicate key, NaN); RecursionError: a
        # pathologically nested document.
        raise InvalidIssueEvent(f"not valid JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise InvalidIssueEvent(f"expected a JSON object, got {type(document).__name__}")
    try:
        # Validate the text in JSON mode: strict JSON mode still reads ISO 8601
        # strings as datetimes, which strict Python mode would refuse.
        return IssueEventSchema.model_validate_json(text).to_event()
    except ValidationError as exc:
        raise InvalidIssueEvent(summarise_validation_error(exc)) from exc


def encode_issue_event(event: IssueEvent) -> bytes:
    """The Kafka message value: compact UTF-8 JSON, ``occurred_at`` ending in ``Z``.

    Every field is written, ``null`` included, except an ``estimate`` the
    event says nothing of (``KEEP_ESTIMATE``), which is left out: on the wire
    ``"estimate": null`` means cleared and no ``estimate`` means "keep the
    last one" (SPEC §16). The event is checked against the schema first:
    nothing is published that the consumer would refuse. Raises pydantic's
    ``ValidationError`` for an event built in code that breaks it.
    """
    fields = {name: getattr(event, name) for name in _FIELDS}
    keep = isinstance(fields["estimate"], EstimateSaid)
    if keep:
        del fields["estimate"]
    schema = IssueEventSchema(**fields)
    return schema.model_dump_json(exclude={"estimate"} if keep else None).encode("utf-8")
