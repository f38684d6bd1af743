"""toxiproxy-python, the client users know, drives the built-in server (compatibility target).

toxiproxy-python keeps its server address in class attributes; the fixture restores them.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from toxiproxy import Toxiproxy
from toxiproxy.api import APIConsumer
from toxiproxy.exceptions import NotFound, ProxyExists

from faults.toxiproxy.launcher import ToxiproxyServer
from tests.faults.conftest import Upstream
from tests.faults.wire import read_response, send_get

pytestmark = pytest.mark.slow


@pytest.fixture
def legacy(builtin_server: ToxiproxyServer) -> Iterator[Toxiproxy]:
    saved = (APIConsumer.host, APIConsumer.port)
    parts = urlsplit(builtin_server.url)
    server = Toxiproxy()
    server.update_api_consumer(parts.hostname, parts.port)
    try:
        yield server
    finally:
        for name in list(server.proxies()):
            if name.startswith("legacy_"):
                server.destroy(server.get_proxy(name))
        APIConsumer.host, APIConsumer.port = saved


def get_ok(port: int) -> float:
    start = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        send_get(sock, "/")
        _, body = read_response(sock)
    assert body == b"ok"
    return time.monotonic() - start


def test_toxiproxy_python_creates_lists_and_destroys_proxies(
    legacy: Toxiproxy, upstream: Upstream
) -> None:
    assert legacy.running() is True
    assert b"version" in legacy.version()
    proxy = legacy.create(upstream=upstream.address, name="legacy_a")
    assert proxy.listen.startswith("127.0.0.1:")
    assert "legacy_a" in legacy.proxies()
    with pytest.raises(ProxyExists):
        legacy.create(upstream=upstream.address, name="legacy_a")
    assert legacy.destroy(proxy) is True
    with pytest.raises(NotFound):
        proxy.destroy()


def test_toxiproxy_python_toxics_take_effect_on_the_wire(
    legacy: Toxiproxy, upstream: Upstream
) -> None:
    proxy = legacy.create(upstream=upstream.address, name="legacy_b")
    port = int(proxy.listen.rsplit(":", 1)[1])
    proxy.add_toxic(type="latency", attributes={"latency": 500})
    assert set(proxy.toxics()) == {"latency_downstream"}
    assert get_ok(port) >= 0.5
    proxy.destroy_toxic("latency_downstream")
    assert proxy.get_toxic("latency_downstream") is None
    fastest = min(get_ok(port) for _ in range(3))  # one stall of a busy machine is not the toxic
    assert fastest < 0.5, "without the 500 ms toxic a plain request takes milliseconds"


def test_toxiproxy_python_down_refuses_connections_then_restores(
    legacy: Toxiproxy, upstream: Upstream
) -> None:
    proxy = legacy.create(upstream=upstream.address, name="legacy_c")
    port = int(proxy.listen.rsplit(":", 1)[1])
    with proxy.down(), pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    get_ok(port)


def test_toxiproxy_python_populate_and_reset(legacy: Toxiproxy, upstream: Upstream) -> None:
    created = legacy.populate(
        [{"name": "legacy_d", "upstream": upstream.address, "listen": "127.0.0.1:0"}]
    )
    assert [proxy.name for proxy in created] == ["legacy_d"]
    legacy.get_proxy("legacy_d").add_toxic(type="timeout", attributes={"timeout": 0})
    assert legacy.reset() is True
    assert legacy.get_proxy("legacy_d").toxics() == {}
