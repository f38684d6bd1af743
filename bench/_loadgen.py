"""A lean HTTP/1.1 load client for the proxy benchmark (asyncio protocols, keep-alive).

Closed loop: each connection sends a request, reads the whole response, sends the next. Bounded by
a duration and a request cap. Only for loopback servers started by the benchmark itself.
"""

from __future__ import annotations

import asyncio
import re
import statistics
import time
from dataclasses import dataclass, field

_LENGTH = re.compile(rb"content-length:\s*(\d+)", re.IGNORECASE)


@dataclass
class Result:
    requests: int = 0
    body_bytes: int = 0
    errors: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def mb_per_s(self) -> float:
        return self.body_bytes / self.seconds / 1e6 if self.seconds else 0.0

    @property
    def median_ms(self) -> float:
        return statistics.median(self.latencies) * 1000 if self.latencies else float("nan")


class _Client(asyncio.Protocol):
    """One keep-alive connection issuing requests back to back."""

    def __init__(self, request: bytes, result: Result, stop_at: float, cap: int) -> None:
        self.request = request
        self.result = result
        self.stop_at = stop_at
        self.cap = cap
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.remaining = -1  # body bytes still expected; -1 while reading the head
        self.sent_at = 0.0
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.record_latency = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def send(self) -> None:
        assert self.transport is not None
        self.sent_at = time.perf_counter()
        self.transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        if self.remaining < 0:
            self.buffer += data
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            match = _LENGTH.search(self.buffer, 0, end)
            length = int(match.group(1)) if match else 0
            body = len(self.buffer) - end - 4
            self.remaining = length - body
            self.result.body_bytes += body
            self.buffer.clear()
        else:
            self.remaining -= len(data)
            self.result.body_bytes += len(data)
        if self.remaining <= 0:
            self._complete()

    def _complete(self) -> None:
        now = time.perf_counter()
        self.remaining = -1
        self.result.requests += 1
        if self.record_latency:
            self.result.latencies.append(now - self.sent_at)
        if now < self.stop_at and self.result.requests < self.cap:
            if not self.record_latency:
                self.send()
            elif not self.done.done():
                self.done.set_result(None)
        elif not self.done.done():
            self.done.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.result.errors += 1
            self.done.set_result(None)


def _request(path: str, host: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()


async def closed_loop(
    host: str, port: int, path: str, connections: int, seconds: float, cap: int = 2_000_000
) -> Result:
    """As many requests as ``connections`` keep-alive connections complete in ``seconds``."""
    loop = asyncio.get_running_loop()
    result = Result()
    clients: list[_Client] = []
    start = time.perf_counter()
    stop_at = start + seconds
    request = _request(path, host)
    for _ in range(connections):
        _, client = await loop.create_connection(
            lambda: _Client(request, result, stop_at, cap), host, port
        )
        clients.append(client)
    start = time.perf_counter()
    for client in clients:
        client.stop_at = start + seconds
        client.send()
    await asyncio.wait_for(asyncio.gather(*(c.done for c in clients)), seconds + 30)
    result.seconds = time.perf_counter() - start
    for client in clients:
        if client.transport is not None:
            client.transport.close()
    return result


async def paced_latency(host: str, port: int, path: str, rate: float, count: int) -> Result:
    """``count`` requests on one connection at ``rate`` per second; records each latency."""
    loop = asyncio.get_running_loop()
    result = Result()
    request = _request(path, host)
    _, client = await loop.create_connection(
        lambda: _Client(request, result, float("inf"), count), host, port
    )
    client.record_latency = True
    interval = 1.0 / rate
    start = time.perf_counter()
    for index in range(count):
        delay = start + index * interval - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        client.done = loop.create_future()
        client.send()
        await asyncio.wait_for(client.done, 10)
    result.seconds = time.perf_counter() - start
    assert client.transport is not None
    client.transport.close()
    return result


async def hold_open(host: str, port: int, path: str, connections: int, hold_s: float) -> Result:
    """Open ``connections`` at once, one request on each while all are open, then close them."""
    loop = asyncio.get_running_loop()
    result = Result()
    request = _request(path, host)
    start = time.perf_counter()

    async def one() -> _Client | None:
        try:
            _, client = await loop.create_connection(
                lambda: _Client(request, result, 0.0, 1), host, port
            )
        except OSError:
            result.errors += 1
            return None
        return client

    clients = [c for c in await asyncio.gather(*(one() for _ in range(connections))) if c]
    for client in clients:
        client.send()
    await asyncio.wait_for(asyncio.gather(*(c.done for c in clients)), 60)
    await asyncio.sleep(hold_s)
    still_open = sum(1 for c in clients if c.transport is not None and not c.transport.is_closing())
    result.errors += len(clients) - still_open
    for client in clients:
        if client.transport is not None:
            client.transport.close()
    result.seconds = time.perf_counter() - start
    return result


async def _exchange(host: str, port: int, request: bytes, result: Result) -> None:
    """Connect, send one request, read its whole answer, close: the time of it in latencies."""
    loop = asyncio.get_running_loop()
    started = time.perf_counter()
    try:
        _, client = await loop.create_connection(
            lambda: _Client(request, result, 0.0, 1), host, port
        )
    except OSError:
        result.errors += 1
        return
    client.send()
    await asyncio.wait_for(client.done, 30)
    result.latencies.append(time.perf_counter() - started)
    if client.transport is not None:
        client.transport.close()


async def new_connections(host: str, port: int, path: str, count: int) -> Result:
    """``count`` new connections one after another, each with one small exchange (connect,
    request, answer, close); the time of each in ``latencies``."""
    result = Result()
    request = _request(path, host)
    start = time.perf_counter()
    for _ in range(count):
        await _exchange(host, port, request, result)
    result.seconds = time.perf_counter() - start
    return result


async def connections_at_once(host: str, port: int, path: str, count: int) -> Result:
    """``count`` new connections opened at the same moment, one small exchange on each."""
    result = Result()
    request = _request(path, host)
    start = time.perf_counter()
    await asyncio.gather(*(_exchange(host, port, request, result) for _ in range(count)))
    result.seconds = time.perf_counter() - start
    return result
