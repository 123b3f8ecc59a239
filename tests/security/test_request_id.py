"""SPEC §14 request ids: a caller's X-Request-ID is echoed only when it is sane.

It goes into every log line of the request, so a header with a newline, a
quote or a megabyte of text would forge or flood the log: such ids are
replaced by a fresh one.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from entrypoints.bootstrap import Runtime


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime)) as client:
        yield client


def test_a_sane_request_id_is_echoed(client: TestClient) -> None:
    for given in ("abc-123", "lb:7f.3_x", "a" * 64):
        answer = client.get("/v1/health", headers={"X-Request-ID": given})
        assert answer.headers["x-request-id"] == given


@pytest.mark.parametrize(
    "given",
    [b"", b"a" * 65, b"two words", b'quote"d', b"back\\slash", b'{"level":"ERROR"}', b"\xe9"],
)
def test_an_insane_request_id_is_replaced(client: TestClient, given: bytes) -> None:
    answer = client.get("/v1/health", headers={"X-Request-ID": given})
    echoed = answer.headers["x-request-id"]
    assert echoed.encode() != given
    assert len(echoed) == 32 and all(c in "0123456789abcdef" for c in echoed)


def test_every_answer_has_one_request_id_even_an_error_or_a_413(client: TestClient) -> None:
    for answer in (
        client.get("/v1/health"),
        client.get("/v1/no-such-thing"),
        client.get("/v1/teams"),  # 401
        client.post("/v1/teams", content=b"x" * (2 * 1_048_576)),  # 413 before routing
    ):
        assert len(answer.headers.get_list("x-request-id")) == 1, answer.status_code
