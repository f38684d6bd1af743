"""The toxics' clock: monotonic time, and timers that never fire before their deadline.

Toxiproxy's toxics wait on Go timers, which never fire early. An event loop's timers can: uvloop
keeps its time in whole milliseconds, cached once per loop iteration, and rounds delays to the
nearest millisecond, so a 300 ms timer may fire a fraction of a millisecond before 300 ms have
passed on ``time.monotonic()``. Every toxic deadline here is a ``time.monotonic()`` instant: a
timer is set for a whole number of milliseconds at least as long as what is left, and when it fires
before the deadline (by the loop's reckoning) it is set again for the rest.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable

now = time.monotonic


def _delay(remaining: float) -> float:
    """What is left, rounded up to a whole millisecond (the coarsest loop timer's unit)."""
    return math.ceil(remaining * 1000.0) / 1000.0


class Deadline:
    """Call ``callback`` once, at or after monotonic instant ``when``; ``cancel()`` stops it."""

    def __init__(self, when: float, callback: Callable[[], object]) -> None:
        self.when = when
        self._callback = callback
        self._loop = asyncio.get_running_loop()
        self._handle: asyncio.TimerHandle | None = self._loop.call_later(
            _delay(max(when - now(), 0.0)), self._check
        )

    def _check(self) -> None:
        remaining = self.when - now()
        if remaining > 0:
            self._handle = self._loop.call_later(_delay(remaining), self._check)
        else:
            self._handle = None
            self._callback()

    @property
    def pending(self) -> bool:
        return self._handle is not None

    def cancel(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None


def _resolve(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


async def sleep_past(when: float) -> None:
    """Sleep until monotonic instant ``when`` has passed (not interruptible)."""
    waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    timer = Deadline(when, lambda: _resolve(waiter))
    try:
        await waiter
    finally:
        timer.cancel()
