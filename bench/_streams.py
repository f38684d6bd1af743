"""A closed-loop HTTP/1.1 client where each keep-alive connection replays its own request stream.

Unlike a fixed-request load client, every request can differ (its own TPS, revision, photo), and
the requests of one connection stay in order, which revisions need. Only for loopback servers
that the benchmark started itself; bounded by a duration.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from typing import Any

_LENGTH = re.compile(rb"content-length:\s*(\d+)", re.IGNORECASE)


@dataclass
class Tally:
    requests: int = 0
    ok: int = 0
    sent_bytes: int = 0
    seconds: float = 0.0
    statuses: dict[int, int] | None = None

    @property
    def rate(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    @property
    def mb_per_s(self) -> float:
        return self.sent_bytes / self.seconds / 1e6 if self.seconds else 0.0


class _Connection(asyncio.Protocol):
    def __init__(self, stream: Iterator[tuple[Request, int]], tally: Tally, stop_at: float) -> None:
        self.stream = stream
        self.tally = tally
        self.stop_at = stop_at
        self.transport: asyncio.Transport | None = None
        self.head = bytearray()
        self.remaining = -1
        self.status = 0
        self.body_size = 0
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def send_next(self) -> None:
        assert self.transport is not None
        buffers, self.body_size = next(self.stream)
        self.transport.writelines(buffers)

    def data_received(self, data: bytes) -> None:
        if self.remaining < 0:
            self.head += data
            end = self.head.find(b"\r\n\r\n")
            if end < 0:
                return
            self.status = int(self.head[9:12])
            match = _LENGTH.search(self.head, 0, end)
            self.remaining = (int(match.group(1)) if match else 0) - (len(self.head) - end - 4)
            self.head.clear()
        else:
            self.remaining -= len(data)
        if self.remaining <= 0:
            self._complete()

    def _complete(self) -> None:
        tally = self.tally
        self.remaining = -1
        tally.requests += 1
        if 200 <= self.status < 300:
            tally.ok += 1
            tally.sent_bytes += self.body_size
        assert tally.statuses is not None
        tally.statuses[self.status] = tally.statuses.get(self.status, 0) + 1
        if time.perf_counter() < self.stop_at:
            self.send_next()
        elif not self.done.done():
            self.done.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_result(None)


async def replay(port: int, streams: list[Iterator[tuple[bytes, int]]], seconds: float) -> Tally:
    """Run one connection per stream against 127.0.0.1:``port`` for ``seconds``."""
    loop = asyncio.get_running_loop()
    tally = Tally(statuses={})
    stop_at = time.perf_counter() + seconds + 60
    connections = []
    for stream in streams:
        _, conn = await loop.create_connection(
            lambda s=stream: _Connection(s, tally, stop_at), "127.0.0.1", port
        )
        connections.append(conn)
    start = time.perf_counter()
    for conn in connections:
        conn.stop_at = start + seconds
        conn.send_next()
    await asyncio.wait_for(asyncio.gather(*(c.done for c in connections)), seconds + 60)
    tally.seconds = time.perf_counter() - start
    for conn in connections:
        if conn.transport is not None:
            conn.transport.close()
    return tally


Request = tuple[bytes, ...]  # buffers written back to back: head, then body (never copied)


def http_request(method: str, path: str, headers: dict[str, str], body: bytes) -> Request:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return (("\r\n".join(lines) + "\r\n\r\n").encode(), body)


RequestFactory = Callable[[int], tuple[Request, int]]


def run(coroutine: Coroutine[Any, Any, Tally]) -> Tally:
    """Run on uvloop when installed (a leaner client leaves more CPU to the servers)."""
    try:
        import uvloop  # noqa: PLC0415
    except ImportError:
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


def cycle(factory: RequestFactory) -> Iterator[tuple[Request, int]]:
    """The requests ``factory(0)``, ``factory(1)``, ... without end."""
    index = 0
    while True:
        yield factory(index)
        index += 1
