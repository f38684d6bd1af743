"""Find or start the Toxiproxy server a run uses, and stop what was started.

Selection, in order (recorded in the run record through :meth:`ToxiproxyServer.describe`):

1. ``TOXIPROXY_URL`` is set: use that server (``external``); nothing is started or stopped.
2. ``toxiproxy-server`` is on ``PATH``: start it on a free loopback port (``binary``).
3. Otherwise start the built-in server, ``python -m faults.toxiproxy`` (``builtin``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Literal
from urllib.parse import urlsplit

import httpx

ServerKind = Literal["external", "binary", "builtin"]
BINARY = "toxiproxy-server"
URL_VARIABLE = "TOXIPROXY_URL"
_START_ATTEMPTS = 3


class ToxiproxyStartError(RuntimeError):
    """No usable Toxiproxy server: the configured one does not answer, or one would not start."""


@dataclass
class ToxiproxyServer:
    """A Toxiproxy server in use: where it answers, what it is, and the process if we started it."""

    kind: ServerKind
    url: str
    version: str
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    _log: IO[bytes] | None = field(default=None, repr=False)

    def describe(self) -> dict[str, str]:
        """What the run record lists: ``{"kind", "url", "version"}``."""
        return {"kind": self.kind, "url": self.url, "version": self.version}

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the server if it was started here (SIGTERM, then SIGKILL); idempotent."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout)
        if self._log is not None:
            self._log.close()
            self._log = None


def free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_toxiproxy(
    env: Mapping[str, str] | None = None,
    *,
    startup_timeout: float = 15.0,
    on_spawn: Callable[[int], None] | None = None,
) -> ToxiproxyServer:
    """Select and, when needed, start a Toxiproxy server (see the module docstring).

    ``on_spawn(pid)`` is told of a started server's process (group) at once, before waiting for
    it to answer, so a caller killed meanwhile can still have it stopped; an interrupt during the
    wait stops it here."""
    environ = os.environ if env is None else env
    url = environ.get(URL_VARIABLE, "").strip()
    if url:
        return _external(url, startup_timeout)
    binary = shutil.which(BINARY, path=environ.get("PATH"))
    if binary is not None:
        return _spawn("binary", _binary_command(binary), startup_timeout, environ, on_spawn)
    return _spawn("builtin", builtin_command, startup_timeout, environ, on_spawn)


@contextlib.contextmanager
def toxiproxy_server(
    env: Mapping[str, str] | None = None, *, startup_timeout: float = 15.0
) -> Iterator[ToxiproxyServer]:
    """:func:`start_toxiproxy` as a context manager that stops what it started."""
    server = start_toxiproxy(env, startup_timeout=startup_timeout)
    try:
        yield server
    finally:
        server.stop()


def builtin_command(port: int) -> list[str]:
    return [
        sys.executable, "-m", "faults.toxiproxy",
        "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
    ]  # fmt: skip


def _binary_command(binary: str) -> Callable[[int], list[str]]:
    return lambda port: [binary, "-host", "127.0.0.1", "-port", str(port)]


def _external(url: str, timeout: float) -> ToxiproxyServer:
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ToxiproxyStartError(
            f"{URL_VARIABLE}={url!r} is not a URL; valid form: http://HOST:PORT "
            "(unset it to use toxiproxy-server from PATH or the built-in server)"
        )
    url = url.rstrip("/")
    version = _version(url, min(timeout, 5.0))
    if version is None:
        raise ToxiproxyStartError(
            f"{URL_VARIABLE}={url} does not answer GET /version; start toxiproxy-server there "
            "or unset the variable to use the built-in server"
        )
    return ToxiproxyServer("external", url, version)


def _spawn(
    kind: ServerKind,
    command: Callable[[int], list[str]],
    timeout: float,
    environ: Mapping[str, str],
    on_spawn: Callable[[int], None] | None = None,
) -> ToxiproxyServer:
    child_env = dict(environ)
    package_root = str(Path(__file__).resolve().parents[2])
    child_env["PYTHONPATH"] = os.pathsep.join(
        part for part in (package_root, environ.get("PYTHONPATH", "")) if part
    )
    last_error = "not started"
    for _ in range(_START_ATTEMPTS):
        port = free_loopback_port()
        url = f"http://127.0.0.1:{port}"
        log = tempfile.TemporaryFile()  # noqa: SIM115 - owned by the returned server
        process = subprocess.Popen(  # its own session: Ctrl-C reaches the caller, which clears
            command(port),  # the faults through this server before stopping it
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            env=child_env,
            start_new_session=True,
        )
        server = ToxiproxyServer(kind, url, "", process, log)
        if on_spawn is not None:
            on_spawn(process.pid)
        try:
            problem = _wait_answer(server, log, timeout)
        except BaseException:  # Ctrl-C while waiting: the server must not outlive the caller
            server.stop()
            raise
        if problem is None:
            return server
        last_error = problem
        server.stop()
    raise ToxiproxyStartError(f"the {kind} Toxiproxy server would not start: {last_error}")


def _wait_answer(server: ToxiproxyServer, log: IO[bytes], timeout: float) -> str | None:
    """Wait until the started server answers /version (its version set); else what went wrong."""
    process = server.process
    assert process is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return f"exited with status {process.returncode}: {_tail(log)}"
        version = _version(server.url, 1.0)
        if version is not None:
            server.version = version
            return None
        time.sleep(0.05)
    return f"did not answer GET {server.url}/version within {timeout:g}s: {_tail(log)}"


def _version(url: str, timeout: float) -> str | None:
    try:
        response = httpx.get(f"{url}/version", timeout=timeout)
    except httpx.HTTPError:
        return None
    if response.status_code != 200:
        return None
    try:
        data = response.json()
    except ValueError:
        return response.text.strip()
    return str(data.get("version", "")) if isinstance(data, dict) else str(data)


def _tail(log: IO[bytes], limit: int = 500) -> str:
    with contextlib.suppress(OSError, ValueError):
        log.flush()
        log.seek(0)
        text = log.read().decode("utf-8", errors="replace").strip()
        return text[-limit:] if text else "(no output)"
    return "(no output)"
