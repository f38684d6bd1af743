"""Serving the app with uvicorn: the listening socket, clean stops, one or several processes.

The CLI binds the socket itself before anything else starts, so a taken port is one line and exit
code 3, not uvicorn's own error. Ctrl-C and SIGTERM stop the server gracefully and the process ends
with exit code 0: uvicorn's ``Server`` re-raises the signal once it has shut down (the process then
dies of it, with a traceback for Ctrl-C); ``QuietServer`` does not.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import tempfile
import threading
from collections.abc import Callable, Generator
from typing import Any

import uvicorn
from uvicorn.supervisors.multiprocess import Multiprocess, Process

from mock_sirekap.config import CONFIG_ENV, MockConfig

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class ListenError(OSError):
    """The listening socket could not be bound; the message says where and why."""


class QuietServer(uvicorn.Server):
    """A uvicorn server that stops on SIGINT or SIGTERM and returns, without re-raising them."""

    on_ready: Callable[[], None] | None = None

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in STOP_SIGNALS}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started and self.on_ready is not None:
            self.on_ready()


class QuietProcess(Process):
    """A worker process whose server stops on a signal without re-raising it (no traceback)."""

    @property
    def server(self) -> uvicorn.Server:
        if self._server is None:
            self._server = QuietServer(config=self.config)
        return self._server


class QuietMultiprocess(Multiprocess):
    def init_processes(self) -> None:
        for _ in range(self.processes_num):
            process = QuietProcess(self.config, self.sockets)
            process.start()
            self.processes.append(process)


def bind(host: str, port: int) -> socket.socket:
    """The listening socket; ListenError naming the port and host when it cannot be had."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    except socket.gaierror as exc:
        raise ListenError(f"cannot listen on {host!r}: {exc.strerror}; give an address") from None
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == 98:  # EADDRINUSE
            raise ListenError(
                f"port {port} on {host} is taken; choose another with --port"
            ) from None
        raise ListenError(f"cannot listen on port {port} on {host}: {exc.strerror}") from None
    sock.set_inheritable(True)
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def serve_one(
    app: Any, sock: socket.socket, options: dict[str, Any], on_ready: Callable[[], None]
) -> bool:
    """Serve ``app`` in this process until stopped; False if it never started."""
    server = QuietServer(uvicorn.Config(app, **options))
    server.on_ready = on_ready
    server.run(sockets=[sock])
    return server.started


def serve_many(config: MockConfig, sock: socket.socket, options: dict[str, Any]) -> None:
    """Serve with ``config.processes`` worker processes sharing ``sock`` until stopped."""
    metrics_dir = tempfile.mkdtemp(prefix="mock-sirekap-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    os.environ[CONFIG_ENV] = config.to_env()  # the environment, never the command line
    try:
        uv_config = uvicorn.Config(
            "mock_sirekap.app:app_from_env", factory=True, workers=config.processes, **options
        )
        QuietMultiprocess(uv_config, sockets=[sock]).run()
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)
