"""Unit and property tests for the canonical issue event and its wire schema
(``commands.issues.IssueEvent``, ``consumers.issue_event``)."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import FrozenInstanceError
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, get_args

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

import commands.issue_event
from consumers.issue_event import (
    KEEP_ESTIMATE,
    MAX_MESSAGE_BYTES,
    InvalidIssueEvent,
    IssueEvent,
    IssueEventSchema,
    IssueStatusName,
    encode_issue_event,
    parse_issue_event,
    validate_issue_event,
)
from domain.values import IssueStatus

WHEN = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


def make_event(**overrides: Any) -> IssueEvent:
    fields: dict[str, Any] = {
        "event_id": "github:delivery:7f3a",
        "tracker": "github",
        "issue_key": "acme/app#42",
        "status": "done",
        "raw_status": "closed",
        "occurred_at": WHEN,
        "title": "Ship SSO",
        "url": "https://github.com/acme/app/issues/42",
        "estimate": 3.0,
    }
    fields.update(overrides)
    return validate_issue_event(**fields)


def as_json(**overrides: Any) -> bytes:
    document: dict[str, Any] = {
        "event_id": "gh-delivery-7f3a",
        "tracker": "github",
        "issue_key": "acme/app#42",
        "status": "done",
        "raw_status": "closed",
        "occurred_at": "2026-11-24T10:00:00Z",
        "title": "Ship SSO",
        "url": "https://github.com/acme/app/issues/42",
        "estimate": 3,
    }
    document.update(overrides)
    return json.dumps({k: v for k, v in document.items() if v is not ...}).encode()


# --- the model -------------------------------------------------------------------------


def test_statuses_are_the_domain_issue_statuses() -> None:
    assert set(get_args(IssueStatusName)) == {status.value for status in IssueStatus}


def test_message_key_is_tracker_and_issue_key() -> None:
    assert make_event().message_key == "github:acme/app#42"


def test_optional_fields_default_to_none_and_the_estimate_to_keep() -> None:
    event = IssueEvent(
        event_id="e", tracker="jira", issue_key="PROJ-12", status="todo", occurred_at=WHEN
    )
    assert (event.raw_status, event.title, event.url) == (None,) * 3
    assert event.estimate is KEEP_ESTIMATE
    assert not event.estimate_cleared and event.estimate_value is None


def test_an_explicit_null_estimate_is_cleared_and_an_absent_one_keeps() -> None:
    """SPEC §16: ``"estimate": null`` clears, no ``estimate`` keeps the last one;
    before issue 16 both read as None (seen failing: the absent one was None)."""
    cleared = parse_issue_event(as_json(estimate=None))
    kept = parse_issue_event(as_json(estimate=...))
    given = parse_issue_event(as_json(estimate=2.5))
    assert cleared.estimate is None and cleared.estimate_cleared
    assert kept.estimate is KEEP_ESTIMATE and not kept.estimate_cleared
    assert given.estimate == 2.5 and given.estimate_value == 2.5
    # Each survives the wire unchanged: encode writes null, leaves out "keep".
    for event in (cleared, kept, given):
        assert parse_issue_event(encode_issue_event(event)) == event
    assert b'"estimate":null' in encode_issue_event(cleared)
    assert b'"estimate"' not in encode_issue_event(kept)


def test_occurred_at_is_normalised_to_utc() -> None:
    plus_two = timezone(timedelta(hours=2))
    event = make_event(occurred_at=datetime(2026, 1, 1, 12, 0, tzinfo=plus_two))
    assert event.occurred_at == datetime(2026, 1, 1, 10, 0, tzinfo=UTC)
    assert event.occurred_at.utcoffset() == timedelta(0)


def test_naive_occurred_at_is_rejected() -> None:
    with pytest.raises(ValidationError, match="timezone"):
        make_event(occurred_at=datetime(2026, 1, 1, 12, 0))


def test_occurred_at_that_overflows_in_utc_is_a_validation_error() -> None:
    with pytest.raises(ValidationError, match="out of range"):
        make_event(occurred_at=datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=5))))


@pytest.mark.parametrize("tracker", ["github", "gitlab", "jira", "linear", "a", "my-tracker_2"])
def test_tracker_slugs_accepted(tracker: str) -> None:
    assert make_event(tracker=tracker).tracker == tracker


@pytest.mark.parametrize(
    "tracker", ["", "GitHub", "1github", "-x", "git hub", "github\n", "a" * 33, "jira!"]
)
def test_tracker_slugs_rejected(tracker: str) -> None:
    with pytest.raises(ValidationError):
        make_event(tracker=tracker)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("event_id", ""),
        ("event_id", "   "),
        ("event_id", "x" * 201),
        ("issue_key", ""),
        ("issue_key", "\t"),
        ("issue_key", "x" * 301),
        ("status", "closed"),
        ("status", "DONE"),
        ("estimate", -1.0),
        ("estimate", float("inf")),
        ("estimate", float("nan")),
        ("estimate", True),
        ("estimate", "3"),
        ("title", 5),
    ],
)
def test_invalid_field_values_are_rejected(field: str, value: object) -> None:
    with pytest.raises(ValidationError):
        make_event(**{field: value})


def test_length_limits_are_inclusive() -> None:
    event = make_event(event_id="e" * 200, issue_key="k" * 300)
    assert len(event.event_id) == 200
    assert len(event.issue_key) == 300


def test_integer_estimate_becomes_float() -> None:
    assert make_event(estimate=5).estimate == 5.0


def test_extra_fields_are_forbidden() -> None:
    with pytest.raises(ValidationError):
        make_event(priority="high")


def test_event_is_frozen() -> None:
    event = make_event()
    with pytest.raises(FrozenInstanceError):
        event.status = "todo"  # type: ignore[misc]


def test_one_value_for_the_event_and_the_command() -> None:
    """The wire's parsing, an adapter's validation and the write side share one type."""
    assert IssueEvent is commands.issue_event.IssueEvent
    assert type(make_event()) is IssueEvent
    assert type(parse_issue_event(as_json())) is IssueEvent
    assert IssueEventSchema.model_json_schema()["title"] == "IssueEvent"
    assert set(IssueEventSchema.model_fields) == set(IssueEvent.__dataclass_fields__)


def test_encode_normalises_an_event_built_in_code() -> None:
    plus_two = timezone(timedelta(hours=2))
    event = IssueEvent("e", "jira", "P-1", "done", datetime(2026, 11, 24, 12, 0, tzinfo=plus_two))
    assert b'"occurred_at":"2026-11-24T10:00:00Z"' in encode_issue_event(event)
    assert parse_issue_event(encode_issue_event(event)) == make_event(
        event_id="e",
        tracker="jira",
        issue_key="P-1",
        status="done",
        raw_status=None,
        title=None,
        url=None,
        estimate=KEEP_ESTIMATE,
    )


def test_encode_refuses_what_the_consumer_would_refuse() -> None:
    with pytest.raises(ValidationError):
        encode_issue_event(IssueEvent("e", "GitHub", "a#1", "done", WHEN))


# --- encode / parse -----------------------------------------------------------------------


def test_encode_is_compact_json_with_z_time() -> None:
    assert encode_issue_event(make_event()) == (
        b'{"event_id":"github:delivery:7f3a","tracker":"github","issue_key":"acme/app#42",'
        b'"status":"done","raw_status":"closed","occurred_at":"2026-11-24T10:00:00Z",'
        b'"title":"Ship SSO","url":"https://github.com/acme/app/issues/42","estimate":3.0}'
    )


def test_encode_writes_nulls_and_utf8() -> None:
    event = make_event(title="Überprüfung ✓", estimate=None, url=None)
    encoded = encode_issue_event(event)
    document = json.loads(encoded.decode("utf-8"))
    assert document["title"] == "Überprüfung ✓"
    assert document["estimate"] is None
    assert document["url"] is None


def test_parse_the_spec_example() -> None:
    event = parse_issue_event(as_json())
    assert event == IssueEvent(
        event_id="gh-delivery-7f3a",
        tracker="github",
        issue_key="acme/app#42",
        status="done",
        raw_status="closed",
        occurred_at=WHEN,
        title="Ship SSO",
        url="https://github.com/acme/app/issues/42",
        estimate=3.0,
    )


def test_parse_accepts_offsets_and_missing_optionals() -> None:
    event = parse_issue_event(
        as_json(
            occurred_at="2026-11-24T11:00:00+01:00",
            raw_status=...,
            title=...,
            url=...,
            estimate=...,
        )
    )
    assert event.occurred_at == WHEN
    assert event.occurred_at.tzinfo is UTC
    assert event.estimate is KEEP_ESTIMATE


def test_round_trip_example() -> None:
    event = make_event()
    assert parse_issue_event(encode_issue_event(event)) == event


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "not valid JSON"),
        (b"\xff\xfe{}", "not valid UTF-8 at byte 0"),
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "expected a JSON object, got list"),
        (b'"done"', "expected a JSON object, got str"),
        (b"null", "expected a JSON object, got NoneType"),
        (as_json(estimate=float("nan")), "NaN is not valid JSON"),
        (as_json().replace(b'{"event_id"', b'{"status": "todo", "event_id"'), "duplicate key"),
        (as_json(status="closed"), "status:"),
        (as_json(occurred_at="2026-11-24T10:00:00"), "occurred_at: Input should have timezone"),
        (as_json(occurred_at=1764000000), "occurred_at:"),
        (as_json(estimate="3"), "estimate:"),
        (as_json(estimate=-1), "estimate:"),
        (as_json(tracker="GitHub"), "tracker:"),
        (as_json(event_id=""), "event_id:"),
        (as_json(issue_key=...), "issue_key: Field required"),
        (as_json(extra="x"), "extra: Extra inputs are not permitted"),
    ],
)
def test_parse_rejects_with_a_readable_reason(raw: bytes, reason: str) -> None:
    with pytest.raises(InvalidIssueEvent) as caught:
        parse_issue_event(raw)
    assert reason in caught.value.reason
    assert str(caught.value) == caught.value.reason


def test_parse_names_every_failing_field() -> None:
    with pytest.raises(InvalidIssueEvent) as caught:
        parse_issue_event(as_json(status="nope", estimate=-2, issue_key=...))
    for field in ("status:", "estimate:", "issue_key:"):
        assert field in caught.value.reason


def test_parse_rejects_missing_and_non_bytes_values() -> None:
    with pytest.raises(InvalidIssueEvent, match="empty message"):
        parse_issue_event(None)  # type: ignore[arg-type]
    with pytest.raises(InvalidIssueEvent, match="expected bytes, got str"):
        parse_issue_event("{}")  # type: ignore[arg-type]


def test_parse_accepts_bytearray_and_memoryview() -> None:
    raw = as_json()
    assert parse_issue_event(bytearray(raw)) == parse_issue_event(memoryview(raw))  # type: ignore[arg-type]


def test_parse_refuses_oversized_messages_before_decoding() -> None:
    with pytest.raises(InvalidIssueEvent, match="more than"):
        parse_issue_event(b" " * (MAX_MESSAGE_BYTES + 1))


def test_parse_survives_pathological_nesting() -> None:
    with pytest.raises(InvalidIssueEvent):
        parse_issue_event(b"[" * 100_000 + b"]" * 100_000)


def test_reason_is_bounded() -> None:
    error = InvalidIssueEvent("x" * 10_000)
    assert len(error.reason) <= 500


def test_module_imports_no_framework_database_or_kafka() -> None:
    code = (
        "import sys, consumers.issue_event, consumers.trackers\n"
        "bad = ('fastapi', 'starlette', 'uvicorn', 'kafka', 'psycopg', 'sqlite3',"
        " 'eventsourcing', 'sqlalchemy')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in bad))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


# --- properties ------------------------------------------------------------------------------

_offsets = st.integers(min_value=-(23 * 60 + 59), max_value=23 * 60 + 59).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
# Storable text only: NUL and lone surrogates are refused (see test_unstorable_text_*).
_chars = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
_non_blank = st.text(_chars, min_size=1, max_size=200).filter(lambda s: bool(s.strip()))

issue_events = st.builds(
    validate_issue_event,
    event_id=_non_blank,
    tracker=st.from_regex(r"[a-z][a-z0-9_-]{0,31}", fullmatch=True),
    issue_key=st.text(_chars, min_size=1, max_size=300).filter(lambda s: bool(s.strip())),
    status=st.sampled_from(get_args(IssueStatusName)),
    raw_status=st.none() | st.text(_chars, max_size=50),
    occurred_at=st.datetimes(
        min_value=datetime(2, 1, 1), max_value=datetime(9998, 12, 31), timezones=_offsets
    ),
    title=st.none() | st.text(_chars),
    url=st.none() | st.text(_chars),
    estimate=st.none() | st.floats(min_value=0, allow_nan=False, allow_infinity=False),
)


@given(issue_events)
def test_any_valid_event_round_trips_unchanged(event: IssueEvent) -> None:
    encoded = encode_issue_event(event)
    decoded = parse_issue_event(encoded)
    assert decoded == event
    assert decoded.message_key == event.message_key
    assert encode_issue_event(decoded) == encoded


@given(st.binary(max_size=2_000))
def test_arbitrary_bytes_raise_only_invalid_issue_event(raw: bytes) -> None:
    try:
        event = parse_issue_event(raw)
    except InvalidIssueEvent as error:
        assert error.reason
    else:
        assert isinstance(event, IssueEvent)


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3)
    ),
    max_leaves=10,
)
_field_names = st.sampled_from(
    [*IssueEventSchema.model_fields, "extra", ""]  # near-misses reach the validator
)


@given(st.dictionaries(_field_names, _json_values | st.sampled_from(["todo", "2026-01-01T00:00Z"])))
def test_arbitrary_json_objects_raise_only_invalid_issue_event(document: dict[str, Any]) -> None:
    raw = json.dumps(document).encode()
    try:
        parse_issue_event(raw)
    except InvalidIssueEvent as error:
        assert error.reason


@pytest.mark.parametrize("field", ["event_id", "issue_key", "raw_status", "title", "url"])
@pytest.mark.parametrize("bad", ["a\\u0000b", "x\\ud800y"])
def test_unstorable_text_is_refused_on_the_wire(field: str, bad: str) -> None:
    event = {
        "event_id": "e1",
        "tracker": "github",
        "issue_key": "a/b#1",
        "status": "done",
        "occurred_at": "2026-11-24T10:00:00Z",
    }
    raw = json.dumps(event)[:-1] + f', "{field}": "{bad}"}}'
    if field in event:
        raw = json.dumps({**event, field: "PLACEHOLDER"}).replace('"PLACEHOLDER"', f'"{bad}"')
    # NUL is valid JSON, refused by the model; a lone surrogate already fails JSON parsing.
    with pytest.raises(InvalidIssueEvent, match="cannot be stored" if "0000" in bad else None):
        parse_issue_event(raw.encode())
