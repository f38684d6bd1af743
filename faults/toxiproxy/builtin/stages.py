"""What each toxic does to the bytes of one link, following Toxiproxy 2.12's toxics.

A stage is one toxic attached to one link. Toxicity is drawn when the toxic is attached to the link
(a new connection, or a toxic added to an open one) and drawn again when the toxic is updated; an
inactive stage passes everything on. A stage sleeping on data wakes early when its toxic is
removed or updated and passes the data on at once, as Toxiproxy's interrupted toxics do.

Every wait is on the monotonic clock of ``clock`` and ends no earlier than its deadline, as a Go
timer does: a toxic never delivers, closes or resets before its time has passed.
"""

from __future__ import annotations

import asyncio
import random

from faults.toxiproxy.builtin.clock import Deadline, now, sleep_past
from faults.toxiproxy.builtin.link import Link
from faults.toxiproxy.builtin.state import ToxicState


class Stage:
    """A toxic attached to one link; this base class passes everything through (``noop``)."""

    def __init__(self, toxic: ToxicState, link: Link) -> None:
        self.toxic = toxic
        self.link = link
        self.active = random.random() < toxic.toxicity
        self.removed = False
        self._waiter: asyncio.Future[bool] | None = None

    # hooks: attached to the link, detached (toxic removed), toxic updated, link closed
    def attached(self) -> None:
        pass

    def detached(self) -> None:
        pass

    def updated(self) -> None:
        self.active = random.random() < self.toxic.toxicity
        self.interrupt()

    def closed(self) -> None:
        self.interrupt()

    async def on_data(self, data: bytes, ts: float, stages: list[Stage], nxt: int) -> None:
        await self.link.forward(stages, nxt, data, ts)

    async def on_eof(self, stages: list[Stage], nxt: int) -> None:
        await self.link.forward_eof(stages, nxt)

    def interrupt(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(True)

    async def sleep_until(self, when: float) -> bool:
        """Sleep until monotonic instant ``when``; True if woken early by removal or update."""
        if when <= now():
            return False
        waiter: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        timer = Deadline(when, lambda: _resolve(waiter))
        self._waiter = waiter
        try:
            return await waiter
        finally:
            timer.cancel()
            self._waiter = None

    def attr(self, name: str) -> int:
        return self.toxic.attributes.get(name, 0)


def _resolve(waiter: asyncio.Future[bool]) -> None:
    if not waiter.done():
        waiter.set_result(False)


class LatencyStage(Stage):
    """Each chunk leaves ``latency`` +/- ``jitter`` ms after it was read."""

    async def on_data(self, data: bytes, ts: float, stages: list[Stage], nxt: int) -> None:
        delay = self.attr("latency")
        jitter = self.attr("jitter")
        if jitter > 0:
            delay += random.randrange(-jitter, jitter)
        due = ts + delay / 1000.0
        await self.sleep_until(due)
        await self.link.forward(stages, nxt, data, max(due, ts))


class BandwidthStage(Stage):
    """At most ``rate`` KB/s (1 KB = 1000 bytes), released in pieces of 100 ms worth of data."""

    def __init__(self, toxic: ToxicState, link: Link) -> None:
        super().__init__(toxic, link)
        self._clock = 0.0

    async def on_data(self, data: bytes, ts: float, stages: list[Stage], nxt: int) -> None:
        rate = self.attr("rate")
        if rate <= 0:
            await self.link.forward(stages, nxt, data, ts)
            return
        per_second = rate * 1000.0
        step = rate * 100
        self._clock = max(self._clock, now())
        for offset in range(0, len(data), step):
            piece = data[offset : offset + step]
            self._clock += len(piece) / per_second
            if await self.sleep_until(self._clock):
                await self.link.forward(stages, nxt, data[offset:], ts)
                return
            await self.link.forward(stages, nxt, piece, ts)


class SlowCloseStage(Stage):
    """Data passes; the close is held back ``delay`` ms.

    As in Toxiproxy, updating the toxic during the delay starts the delay again (with the new
    attributes and a new toxicity draw); removing it lets the close through at once.
    """

    async def on_eof(self, stages: list[Stage], nxt: int) -> None:
        while self.active and not self.removed and not self.link.done:
            if not await self.sleep_until(now() + self.attr("delay") / 1000.0):
                break
        await self.link.forward_eof(stages, nxt)


class TimeoutStage(Stage):
    """Drops all data; closes the link ``timeout`` ms after the last data, or never when it is 0.

    As in Toxiproxy, the timer starts when the toxic is attached or updated and starts again with
    every chunk it drops: the link closes once ``timeout`` ms pass with nothing arriving. Removing
    a timeout toxic closes every link it was attached to, whether or not toxicity made it active
    there.
    """

    def __init__(self, toxic: ToxicState, link: Link) -> None:
        super().__init__(toxic, link)
        self._timer: Deadline | None = None

    def attached(self) -> None:
        self._arm()

    def updated(self) -> None:
        super().updated()
        self._arm()

    def detached(self) -> None:
        self._disarm()
        self.link.finish()

    def closed(self) -> None:
        self._disarm()
        super().closed()

    def _arm(self) -> None:
        self._disarm()
        timeout = self.attr("timeout")
        if self.active and timeout > 0:
            self._timer = Deadline(now() + timeout / 1000.0, self.link.finish)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    async def on_data(self, data: bytes, ts: float, stages: list[Stage], nxt: int) -> None:
        self._arm()  # dropped on the floor; the wait starts again

    async def on_eof(self, stages: list[Stage], nxt: int) -> None:
        self.link.finish()


class ResetPeerStage(Stage):
    """On the first data (or EOF), waits ``timeout`` ms, then resets both sockets (TCP RST)."""

    async def on_data(self, data: bytes, ts: float, stages: list[Stage], nxt: int) -> None:
        await self._fire()

    async def on_eof(self, stages: list[Stage], nxt: int) -> None:
        await self._fire()

    async def _fire(self) -> None:
        timeout = self.attr("timeout")
        if timeout > 0:
            await sleep_past(now() + timeout / 1000.0)  # not interruptible, as in Toxiproxy
        self.link.reset()


class SlicerStage(Stage):
    """Cuts each chunk into pieces of ``average_size`` +/- ``size_variation`` bytes.

    ``delay`` microseconds pass after each piece.
    """

    async def on_data(self, data: bytes, ts: float, stages: list[Stage], nxt: int) -> None:
        delay = self.attr("delay") / 1_000_000.0
        start = 0
        for end in self._cuts(len(data)):
            await self.link.forward(stages, nxt, data[start:end], ts)
            start = end
            if delay > 0 and await self.sleep_until(now() + delay):
                if start < len(data):
                    await self.link.forward(stages, nxt, data[start:], ts)
                return

    def _cuts(self, size: int) -> list[int]:
        """Piece boundaries: halve until a piece is within the variation of the average size."""
        average = max(1, self.attr("average_size"))
        variation = max(0, min(self.attr("size_variation"), average - 1))
        cuts: list[int] = []
        pending = [(0, size)]
        while pending:
            low, high = pending.pop()
            if high - low - average <= variation:
                cuts.append(high)
                continue
            middle = low + (high - low) // 2
            if variation:
                middle += random.randrange(-variation, variation)
            pending.append((middle, high))
            pending.append((low, middle))
        return cuts


class LimitDataStage(Stage):
    """Passes ``bytes`` bytes on this link, then closes it. The count survives updates."""

    def __init__(self, toxic: ToxicState, link: Link) -> None:
        super().__init__(toxic, link)
        self.sent = 0

    async def on_data(self, data: bytes, ts: float, stages: list[Stage], nxt: int) -> None:
        limit = self.attr("bytes")
        remaining = max(limit - self.sent, 0)
        if remaining < len(data):
            data = data[:remaining]
        if data:
            self.sent += len(data)
            await self.link.forward(stages, nxt, data, ts)
        if limit - self.sent <= 0:
            self.link.finish()


STAGES: dict[str, type[Stage]] = {
    "noop": Stage,
    "latency": LatencyStage,
    "bandwidth": BandwidthStage,
    "slow_close": SlowCloseStage,
    "timeout": TimeoutStage,
    "reset_peer": ResetPeerStage,
    "slicer": SlicerStage,
    "limit_data": LimitDataStage,
}


def make_stage(toxic: ToxicState, link: Link) -> Stage:
    return STAGES[toxic.type](toxic, link)
