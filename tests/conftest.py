"""Shared test helpers: free loopback ports and waiting for real servers to answer."""

from __future__ import annotations

import os
import shutil
import socket
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest


def pick_free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until_http_ok(
    url: str, timeout: float = 20.0, alive: Callable[[], bool] | None = None
) -> None:
    """Poll ``url`` until it answers 2xx; fail with the last error after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last = "no attempt"
    while time.monotonic() < deadline:
        if alive is not None and not alive():
            raise RuntimeError(f"server process exited before {url} answered")
        try:
            response = httpx.get(url, timeout=2.0)
            if response.is_success:
                return
            last = f"HTTP {response.status_code}"
        except httpx.HTTPError as exc:
            last = repr(exc)
        time.sleep(0.05)
    raise TimeoutError(f"{url} did not answer within {timeout}s: {last}")


@pytest.fixture
def free_port() -> int:
    return pick_free_port()


def processes_mentioning(text: str) -> list[int]:
    """Live (not zombie) processes whose command line contains ``text``."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().decode(errors="replace")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if text in cmdline and state != "Z":
            pids.append(int(entry.name))
    return pids


def needs_program(program: str, installed_by: str = ".ci/install-parts") -> str:
    """The path of ``program``; without it the test skips with the reason, except in CI (``CI``
    set), which must have every part: there it fails, naming what installs it."""
    found = shutil.which(program)
    if found:
        return found
    why = f"{program} is not installed (`{installed_by}` installs it)"
    if os.environ.get("CI"):
        pytest.fail(f"CI must have every part: {why}")
    pytest.skip(why)
