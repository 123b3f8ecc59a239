"""A dead letter's reason never carries a password or a traceback (SPEC §10, §9).

Whoever can read the dead-letter topic can read its ``okr-dlq-reason``; an
unexpected error's message may quote the connection it failed on. ``describe``
is what writes that reason (and the consumer's log lines).
"""

from __future__ import annotations

import pytest

from consumers.store_errors import describe

SECRET = "s3cr3t-pa55"


@pytest.mark.parametrize(
    "message",
    [
        f"connection to postgresql://okr:{SECRET}@db:5432/okr failed",
        f"could not connect: host=db user=okr password={SECRET} dbname=okr",
        f"could not connect: host=db password = '{SECRET}' dbname=okr",
        f"PASSWORD={SECRET}",
        f"kafka://user:{SECRET}@broker:9092 refused",
    ],
)
def test_a_password_in_an_error_message_is_not_repeated(message: str) -> None:
    reason = describe(RuntimeError(message))
    assert SECRET not in reason
    assert reason.startswith("RuntimeError: ") and "***" in reason


def test_a_reason_is_one_short_line_without_a_traceback() -> None:
    try:
        raise RuntimeError("boom\n" + "x" * 5_000)
    except RuntimeError as error:
        reason = describe(error)
    assert "\n" not in reason and "Traceback" not in reason
    assert len(reason) <= len("RuntimeError: ") + 300
