"""Helpers for the HTTP tests (no tests here): a client that reads its own writes.

``Api.call`` remembers the highest ``position`` any write answered and passes
it as ``?min_position=`` on every GET, so each read sees every earlier write.
"""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from httpx import Response

from entrypoints.bootstrap import Runtime

Headers = dict[str, str]
TOLERANCE = 1e-6


def close(actual: float | None, expected: float) -> bool:
    return actual is not None and abs(actual - expected) <= TOLERANCE


class Api:
    def __init__(self, client: TestClient, runtime: Runtime) -> None:
        self.client = client
        self.runtime = runtime
        self.position = 0

    def token(self, user: str, role: str = "member", org: str = "acme") -> Headers:
        _, token = self.runtime.tokens.create(org, user, role)
        return {"Authorization": f"Bearer {token}"}

    def call(
        self,
        method: str,
        path: str,
        who: Headers,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        expect: int | None = None,
        headers: Headers | None = None,
    ) -> Response:
        params = dict(params or {})
        if method == "GET":
            params.setdefault("min_position", self.position)
        response = self.client.request(
            method,
            f"/v1{path}",
            json=json,
            params=params,
            headers={**who, **(headers or {})},
        )
        assert response.status_code < 500, f"{method} {path}: {response.text}"
        if expect is not None:
            assert response.status_code == expect, (
                f"{method} {path}: expected {expect}, got {response.status_code} {response.text}"
            )
        if method != "GET" and response.status_code < 300:
            body = response.json()
            if isinstance(body, dict) and isinstance(body.get("position"), int):
                self.position = max(self.position, body["position"])
        return response

    def get(self, path: str, who: Headers, expect: int | None = 200, **params: Any) -> Any:
        response = self.call("GET", path, who, params=params, expect=expect)
        return response.json()

    def post(self, path: str, who: Headers, body: Any = None, expect: int | None = None) -> Any:
        return self.call("POST", path, who, json=body, expect=expect).json()

    def put(self, path: str, who: Headers, body: Any = None, expect: int | None = None) -> Any:
        return self.call("PUT", path, who, json=body, expect=expect).json()

    def patch(self, path: str, who: Headers, body: Any = None, expect: int | None = None) -> Any:
        return self.call("PATCH", path, who, json=body, expect=expect).json()

    def delete(self, path: str, who: Headers, expect: int | None = None, **params: Any) -> Any:
        return self.call("DELETE", path, who, params=params, expect=expect).json()


def assert_error(response: Response, status: int, code: str | None = None) -> None:
    """The error shape of SPEC §6: {"error": {"code", "message"}}."""
    assert response.status_code == status, (
        f"expected {status}: {response.status_code} {response.text}"
    )
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message"}, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    if code is not None:
        assert body["error"]["code"] == code, body
