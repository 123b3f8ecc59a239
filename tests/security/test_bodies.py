"""SPEC §9 bodies: a body over the limit answers 413 before parsing or authentication,
and the server does not grow by more than the limit while refusing it.

A real ``okr serve`` process takes the bodies over raw sockets (an HTTP client
would stop at the first refused write and never show the early 413), so the
test can stream 100 MB without holding it, and read the server's peak memory
(``VmHWM``) from /proc.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.servers import free_port, wait_for_health

ROOT = Path(__file__).resolve().parents[2]
MiB = 1024 * 1024
API_LIMIT = MiB
WEBHOOK_LIMIT = 5 * MiB
HUGE = 100 * MiB
CHUNK = 64 * 1024


@dataclass
class Server:
    port: int
    pid: int

    def peak_rss_kib(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
        raise AssertionError("no VmHWM in /proc status")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("bodies")
    env = {k: v for k, v in os.environ.items() if not k.startswith("OKR_")}
    env["OKR_DATA_DIR"] = str(data_dir)
    port = free_port()
    log = data_dir / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "entrypoints.cli", "serve", "--port", str(port)],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for_health(f"http://127.0.0.1:{port}", process, log.read_text)
        yield Server(port, process.pid)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


def _filler(total: int) -> Iterator[bytes]:
    """``total`` bytes in 64 KiB pieces, made as they are sent."""
    piece = b"x" * CHUNK
    left = total
    while left > 0:
        yield piece[: min(CHUNK, left)]
        left -= CHUNK


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> dict[str, object]:
        document: dict[str, object] = json.loads(self.body)
        return document


def post(
    port: int, path: str, chunks: Iterable[bytes], length: int | None, token: str | None = None
) -> Answer:
    """POST over a raw socket: ``Content-Length: length``, or chunked when None.

    A reader thread takes the answer as soon as it comes; the writer stops
    sending then, or when the server closes the connection.
    """
    sock = socket.create_connection(("127.0.0.1", port), timeout=60)
    framing = f"Content-Length: {length}" if length is not None else "Transfer-Encoding: chunked"
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
        f"{auth}{framing}\r\nConnection: close\r\n\r\n"
    )
    received = bytearray()
    answered = threading.Event()

    def read() -> None:
        try:
            while True:
                data = sock.recv(65536)
                if not data:
                    break
                received.extend(data)
                answered.set()
        except OSError:
            pass
        finally:
            answered.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        sock.sendall(head.encode())
        for chunk in chunks:
            if answered.is_set():
                break
            sock.sendall(chunk if length is not None else b"%x\r\n%s\r\n" % (len(chunk), chunk))
        else:
            if length is None:
                sock.sendall(b"0\r\n\r\n")
    except OSError:
        pass  # the server refused and closed: its answer is already on its way
    reader.join(timeout=60)
    sock.close()
    head_bytes, _, body = bytes(received).partition(b"\r\n\r\n")
    lines = head_bytes.decode("latin-1").split("\r\n")
    assert lines and lines[0].startswith("HTTP/1.1 "), f"no HTTP answer: {bytes(received)[:200]!r}"
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding") == "chunked":
        body = _dechunk(body)
    return Answer(int(lines[0].split()[1]), headers, body)


def _dechunk(data: bytes) -> bytes:
    out = bytearray()
    while data:
        size_line, _, rest = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out.extend(rest[:size])
        data = rest[size + 2 :]
    return bytes(out)


def assert_too_large(answer: Answer) -> None:
    assert answer.status == 413, (answer.status, answer.body[:300])
    error = answer.json()["error"]
    assert isinstance(error, dict) and error["code"] == "payload_too_large", error
    assert isinstance(error["message"], str) and error["message"]


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_a_100_mb_anonymous_body_is_refused_without_growing_the_server(
    server: Server, framing: str
) -> None:
    # Warm up: a body at the limit is read (and buffered) once before the baseline.
    post(server.port, "/v1/teams", _filler(API_LIMIT), API_LIMIT)
    before = server.peak_rss_kib()
    length = HUGE if framing == "content-length" else None
    answer = post(server.port, "/v1/teams", _filler(HUGE), length)
    assert_too_large(answer)
    grown = server.peak_rss_kib() - before
    assert grown < 20 * 1024, f"the server's peak memory grew by {grown} KiB"


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_a_body_at_the_limit_is_read_and_one_byte_more_is_refused(
    server: Server, framing: str
) -> None:
    def length(n: int) -> int | None:
        return n if framing == "content-length" else None

    at_limit = post(server.port, "/v1/teams", _filler(API_LIMIT), length(API_LIMIT))
    # Not JSON and no token: refused for that, never for its size.
    assert at_limit.status in (400, 401, 422), at_limit.status
    assert at_limit.json()["error"]["code"] != "payload_too_large"  # type: ignore[index]
    assert_too_large(post(server.port, "/v1/teams", _filler(API_LIMIT + 1), length(API_LIMIT + 1)))


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_webhooks_have_their_own_larger_limit(server: Server, framing: str) -> None:
    def length(n: int) -> int | None:
        return n if framing == "content-length" else None

    path = "/v1/webhooks/github"
    above_api = post(server.port, path, _filler(2 * MiB), length(2 * MiB))
    assert above_api.status != 413, "2 MiB is within the webhook limit"
    at_limit = post(server.port, path, _filler(WEBHOOK_LIMIT), length(WEBHOOK_LIMIT))
    assert at_limit.status != 413
    assert_too_large(post(server.port, path, _filler(WEBHOOK_LIMIT + 1), length(WEBHOOK_LIMIT + 1)))
    assert_too_large(post(server.port, path, _filler(HUGE), length(HUGE)))


def test_a_valid_small_write_still_works(server: Server) -> None:
    """The buffered body reaches the route unchanged (here: refused only for the token)."""
    body = json.dumps({"name": "Platform"}).encode()
    answer = post(server.port, "/v1/teams", [body], len(body), token="okr_not-a-token")
    assert answer.status == 401
    assert answer.json()["error"]["code"] == "unauthorized"  # type: ignore[index]
