"""The copy path of one proxied connection: two sides (client, upstream) and two links.

A link carries bytes one way. Sockets are read into one large buffer per proxy (a buffered
protocol). While no toxic is attached to a link, its source side writes each chunk from that buffer
straight into the destination transport, without a copy: the only per-chunk cost is one attribute
check. With toxics attached, chunks are copied into a queue and one task per link runs them through
the toxics in order (see ``stages``). Back-pressure: a full destination buffer, or a full queue,
pauses reading from the source.

Closing follows Toxiproxy: when a link ends (its source sent EOF, or a toxic ended it) it closes
its destination socket; the other link then sees its source gone, flushes what it holds through its
own toxics and closes the other socket. There are no half-open connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import struct
from collections import deque
from typing import TYPE_CHECKING, Protocol, cast

from faults.toxiproxy.builtin.clock import now
from faults.toxiproxy.builtin.state import ToxicState

if TYPE_CHECKING:
    from faults.toxiproxy.builtin.stages import Stage

log = logging.getLogger(__name__)

QUEUE_LIMIT = 1 << 20  # bytes held by a toxic link before reading from its source pauses
_DEST_FULL = 1
_QUEUE_FULL = 2
_LINGER_ZERO = struct.pack("ii", 1, 0)


class StageFactory(Protocol):
    def __call__(self, toxic: ToxicState, link: Link) -> Stage: ...


class _NoTransport(asyncio.Transport):
    """Placeholder destination until a side is wired; writing to it is a bug."""

    def write(self, data: bytes | bytearray | memoryview) -> None:
        raise RuntimeError("proxy side written to before it was connected")


_NO_TRANSPORT = _NoTransport()


class ReadBuffer:
    """The buffer every side of a proxy reads into (one event loop, so one read at a time).

    A chunk passed straight through is written from this buffer without a copy. When the
    destination could not send it all at once, the transport keeps a view of the buffer, so the
    next read goes to a fresh one.
    """

    SIZE = 1024 * 1024

    def __init__(self) -> None:
        self.view = memoryview(bytearray(self.SIZE))

    def renew(self) -> None:
        self.view = memoryview(bytearray(self.SIZE))


class Side(asyncio.BufferedProtocol):
    """One socket of a proxied connection: the client's or the upstream's."""

    def __init__(self, owner: ConnectionOwner, buffer: ReadBuffer) -> None:
        self.owner = owner
        self.buffer = buffer
        self.transport: asyncio.Transport = _NO_TRANSPORT
        self.fast = False  # write incoming chunks straight to ``out``
        self.out: asyncio.Transport = _NO_TRANSPORT
        self.inbound: Link | None = None  # the link reading from this side
        self.outbound: Link | None = None  # the link writing to this side
        self.early: list[bytes | None] = []  # what arrived before the links existed
        self.lost = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's are not subclasses
        self.owner.side_made(self)

    def get_buffer(self, sizehint: int) -> memoryview:
        return self.buffer.view

    def buffer_updated(self, nbytes: int) -> None:
        if self.fast:
            out = self.out
            out.write(self.buffer.view[:nbytes])
            if out.get_write_buffer_size():
                self.buffer.renew()
        else:
            self.data_received(bytes(self.buffer.view[:nbytes]))

    def data_received(self, data: bytes) -> None:
        link = self.inbound
        if link is None:
            self.early.append(data)
            self.transport.pause_reading()
        else:
            link.feed(data)

    def eof_received(self) -> bool:
        link = self.inbound
        if link is None:
            self.early.append(None)
        else:
            link.feed_eof()
        return True  # keep the socket: the other link closes it when it is done

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self.fast = False
        self.owner.side_lost(self)

    def pause_writing(self) -> None:
        if self.outbound is not None:
            self.outbound.set_paused(_DEST_FULL, True)

    def resume_writing(self) -> None:
        if self.outbound is not None:
            self.outbound.set_paused(_DEST_FULL, False)

    def set_linger_zero(self) -> None:
        """Make the next close of this socket a TCP reset."""
        sock = self.transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_ZERO)


class ConnectionOwner(Protocol):
    def side_made(self, side: Side) -> None: ...

    def side_lost(self, side: Side) -> None: ...


class Link:
    """Bytes from ``source`` to ``dest`` through the toxics attached to this direction."""

    def __init__(self, direction: int, source: Side, dest: Side, make_stage: StageFactory) -> None:
        self.direction = direction
        self.source = source
        self.dest = dest
        self.make_stage = make_stage
        self.stages: list[Stage] = []  # replaced on change, never mutated in place
        self.queue: deque[tuple[bytes | None, float]] = deque()
        self.queued = 0
        self.pump: asyncio.Task[None] | None = None
        self.wakeup: asyncio.Future[None] | None = None
        self.paused = 0
        self.eof = False
        self.done = False
        source.inbound = self
        dest.outbound = self

    # -- life cycle -----------------------------------------------------------------------------

    def start(self, toxics: list[ToxicState]) -> None:
        """Attach the proxy's toxics for this direction, then let the source's bytes flow."""
        self.stages = [self.make_stage(toxic, self) for toxic in toxics]
        for stage in self.stages:
            stage.attached()
        if self.stages:
            self._start_pump()
        else:
            self._go_fast()
        early, self.source.early = self.source.early, []
        for item in early:
            if item is None:
                self.feed_eof()
            else:
                self.feed(item)
        if not self.source.lost:
            self.source.transport.resume_reading()

    def finish(self) -> None:
        """End this link: close the destination socket after what was written to it."""
        if self.done:
            return
        self._end()
        self.dest.transport.close()

    def reset(self) -> None:
        """End this link with a TCP reset on both sockets (the reset_peer toxic)."""
        if self.done:
            return
        self.source.set_linger_zero()
        self.dest.set_linger_zero()
        self._end()
        self.dest.transport.abort()

    def source_lost(self) -> None:
        self.feed_eof()

    def dest_lost(self) -> None:
        self._end()

    def _end(self) -> None:
        self.done = True
        self.source.fast = False
        self.queue.clear()
        pump = self.pump
        self.pump = None
        if pump is not None and pump is not asyncio.current_task():
            pump.cancel()
        for stage in self.stages:
            stage.closed()

    # -- input ----------------------------------------------------------------------------------

    def feed(self, data: bytes) -> None:
        if self.done:
            return
        if self.pump is None:
            self.dest.transport.write(data)
            return
        self.queue.append((data, now()))  # when it was read: latency counts from here
        self.queued += len(data)
        if self.queued > QUEUE_LIMIT:
            self.set_paused(_QUEUE_FULL, True)
        self._wake()

    def feed_eof(self) -> None:
        if self.eof or self.done:
            return
        self.eof = True
        if self.pump is None:
            self.finish()
            return
        self.queue.append((None, now()))
        self._wake()

    def set_paused(self, reason: int, on: bool) -> None:
        was = self.paused
        self.paused = was | reason if on else was & ~reason
        if self.source.lost or self.done or bool(was) == bool(self.paused):
            return
        if self.paused:
            self.source.transport.pause_reading()
        else:
            self.source.transport.resume_reading()

    # -- toxics ---------------------------------------------------------------------------------

    def add_toxic(self, toxic: ToxicState) -> None:
        if self.done:
            return
        stage = self.make_stage(toxic, self)
        self.stages = [*self.stages, stage]
        stage.attached()
        if self.pump is None:
            self._start_pump()
        self._wake()

    def remove_toxic(self, toxic: ToxicState) -> None:
        if self.done:
            return
        kept = [stage for stage in self.stages if stage.toxic is not toxic]
        gone = [stage for stage in self.stages if stage.toxic is toxic]
        self.stages = kept
        for stage in gone:
            stage.removed = True
            stage.interrupt()
            stage.detached()
        self._wake()

    def update_toxic(self, toxic: ToxicState) -> None:
        for stage in self.stages:
            if stage.toxic is toxic:
                stage.updated()

    # -- the toxic path -------------------------------------------------------------------------

    async def forward(self, stages: list[Stage], index: int, data: bytes, ts: float) -> None:
        """Pass ``data`` through ``stages[index:]`` (those active on this link), then write it."""
        while index < len(stages):
            stage = stages[index]
            index += 1
            if stage.active and not stage.removed:
                await stage.on_data(data, ts, stages, index)
                return
        if not self.done:
            self.dest.transport.write(data)

    async def forward_eof(self, stages: list[Stage], index: int) -> None:
        while index < len(stages):
            stage = stages[index]
            index += 1
            if stage.active and not stage.removed:
                await stage.on_eof(stages, index)
                return
        self.finish()

    def _start_pump(self) -> None:
        self.source.fast = False
        self.pump = asyncio.get_running_loop().create_task(self._run())

    def _go_fast(self) -> None:
        self.pump = None
        if not self.done and not self.dest.lost:
            self.source.out = self.dest.transport
            self.source.fast = True

    def _wake(self) -> None:
        waiter = self.wakeup
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while not self.done:
                if not self.queue:
                    if not self.stages:
                        self._go_fast()
                        return
                    self.wakeup = loop.create_future()
                    try:
                        await self.wakeup
                    finally:
                        self.wakeup = None
                    continue
                data, ts = self.queue.popleft()
                if data is None:
                    await self.forward_eof(self.stages, 0)
                    return
                self.queued -= len(data)
                if self.paused & _QUEUE_FULL and self.queued <= QUEUE_LIMIT // 2:
                    self.set_paused(_QUEUE_FULL, False)
                await self.forward(self.stages, 0, data, ts)
        except Exception:
            log.exception("toxic link failed; dropping the connection")
            self.reset()
