"""SPEC §14 JSON logs: one parseable object per line, whatever the message holds."""

from __future__ import annotations

import json
import logging
import sys

from api.request_context import ORGANIZATION, REQUEST_ID
from entrypoints.logs import JsonLines, logging_config

FIELDS = {"time", "level", "logger", "message", "request_id", "organization"}


def record(message: str, *args: object, exc: bool = False) -> logging.LogRecord:
    info = None
    if exc:
        try:
            raise ValueError("boom\nsecond line")
        except ValueError:
            info = sys.exc_info()
    return logging.LogRecord("okr.test", logging.WARNING, __file__, 1, message, args, info)


def test_a_line_outside_a_request_has_null_request_id_and_organization() -> None:
    line = JsonLines().format(record("hello %s", "world"))
    parsed = json.loads(line)
    assert set(parsed) == FIELDS
    assert parsed["message"] == "hello world"
    assert parsed["level"] == "WARNING" and parsed["logger"] == "okr.test"
    assert parsed["request_id"] is None and parsed["organization"] is None
    assert parsed["time"].endswith("+00:00")


def test_a_line_in_a_request_names_its_id_and_organization() -> None:
    ids, orgs = REQUEST_ID.set("req-1"), ORGANIZATION.set("acme")
    try:
        parsed = json.loads(JsonLines().format(record("x")))
    finally:
        ORGANIZATION.reset(orgs)
        REQUEST_ID.reset(ids)
    assert parsed["request_id"] == "req-1" and parsed["organization"] == "acme"


def test_newlines_and_tracebacks_stay_on_one_line() -> None:
    forged = 'real\n{"level": "INFO", "message": "forged"}'
    line = JsonLines().format(record(forged, exc=True))
    assert "\n" not in line
    parsed = json.loads(line)
    assert parsed["message"] == forged
    assert "ValueError: boom" in parsed["exception"]


def test_text_stays_the_default_and_uvicorn_logs_through_the_root() -> None:
    text, as_json = logging_config("text"), logging_config("json")
    assert "format" in text["formatters"]["okr"]
    assert as_json["formatters"]["okr"]["()"] == "entrypoints.logs.JsonLines"
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        assert as_json["loggers"][name] == {"level": "INFO", "handlers": [], "propagate": True}
