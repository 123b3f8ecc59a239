"""Starting ``okr serve`` as a subprocess in end-to-end tests (no tests here)."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Callable

import httpx
import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_health(
    base: str,
    server: subprocess.Popen[bytes],
    log: Callable[[], str] = lambda: "",
    seconds: float = 60.0,
) -> None:
    """Until ``base`` answers /v1/health; fails the test (with ``log()``) if the server
    exits or stays silent for ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"okr serve exited with {server.returncode}:\n{log()}")
        try:
            if httpx.get(f"{base}/v1/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    pytest.fail(f"okr serve did not answer /v1/health within {seconds:g} s:\n{log()}")
