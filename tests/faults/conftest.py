"""Fixtures for the fault layer: a real local HTTP server, Toxiproxy servers and proxies on them.

``toxiproxy`` is parameterised over server implementations: the built-in one always, the real
``toxiproxy-server`` when it is on PATH or ``TOXIPROXY_URL`` is set (skipped otherwise).
"""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from faults.toxiproxy.client import ToxiproxyClient
from faults.toxiproxy.launcher import BINARY, URL_VARIABLE, ToxiproxyServer, start_toxiproxy
from faults.toxiproxy.models import ProxyInfo


@dataclass
class Upstream:
    """A threaded HTTP/1.1 server on 127.0.0.1 that records what it received."""

    host: str
    port: int
    uploads: list[int] = field(default_factory=list)  # body bytes received per POST

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


def _handler(upstream: Upstream) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            # /bytes/N -> N bytes of a repeating pattern; anything else -> "ok"
            if self.path.startswith("/bytes/"):
                size = int(self.path.rsplit("/", 1)[1])
                body = bytes(i % 251 for i in range(size))
            else:
                body = b"ok"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            received = 0
            while received < length:
                chunk = self.rfile.read(min(65536, length - received))
                if not chunk:
                    break
                received += len(chunk)
            upstream.uploads.append(received)
            if received < length:
                self.close_connection = True
                return
            body = str(received).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # resets and truncations are what these tests cause on purpose


@pytest.fixture(scope="session")
def upstream() -> Iterator[Upstream]:
    info = Upstream("127.0.0.1", 0)
    server = _QuietServer(("127.0.0.1", 0), _handler(info))
    info.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield info
    finally:
        server.shutdown()
        server.server_close()


def _real_server_env() -> dict[str, str] | None:
    if os.environ.get(URL_VARIABLE) or shutil.which(BINARY):
        return dict(os.environ)
    return None


@pytest.fixture(scope="session")
def builtin_server() -> Iterator[ToxiproxyServer]:
    env = {key: value for key, value in os.environ.items() if key != URL_VARIABLE}
    env["PATH"] = ""  # never pick up a binary: this is the built-in one
    server = start_toxiproxy(env)
    assert server.kind == "builtin"
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session", params=["builtin", "real"])
def toxiproxy(request: pytest.FixtureRequest) -> Iterator[ToxiproxyServer]:
    if request.param == "builtin":
        yield request.getfixturevalue("builtin_server")
        return
    env = _real_server_env()
    if env is None:
        pytest.skip(f"no real Toxiproxy: {BINARY} is not on PATH and {URL_VARIABLE} is not set")
    server = start_toxiproxy(env)
    try:
        yield server
    finally:
        server.stop()


_names = itertools.count()


@dataclass
class ProxyUnderTest:
    client: ToxiproxyClient
    info: ProxyInfo
    upstream: Upstream

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def port(self) -> int:
        return self.info.listen_port

    def connect(self, timeout: float = 5.0) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock


@pytest.fixture
def proxy(toxiproxy: ToxiproxyServer, upstream: Upstream) -> Iterator[ProxyUnderTest]:
    client = ToxiproxyClient(toxiproxy.url)
    name = f"test_{os.getpid()}_{next(_names)}"
    info = client.create_proxy(name, listen="127.0.0.1:0", upstream=upstream.address)
    try:
        yield ProxyUnderTest(client, info, upstream)
    finally:
        client.delete_proxy(name)
        client.close()
