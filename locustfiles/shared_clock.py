"""The run's shared clock in a generator process: the master's UNIX time, however this host's
clock is set.

A remote worker measures its offset from the master over Locust's messages before it reports
ready: it sends its own time, the master answers with its time, and of several exchanges the one
with the shortest round trip gives the offset (the master's reading is taken to fall half-way
through it, so the error is at most half that round trip). Everything the generator schedules or
timestamps reads :func:`now`, so a worker whose clock is off still starts each form when the
master's clock says it is due. ``skew`` stands for a host's clock error (``--clock-skew``, for
tests only); the local runner shares the master's process and clock (offset 0).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

SAMPLES = 8  # clock exchanges with the master before a worker reports ready
REPLY_TIMEOUT_S = 2.0  # one exchange; a lost one is skipped


@dataclass
class SharedClock:
    skew: float = 0.0  # this host's clock error (tests only): added to the system clock
    offset: float = 0.0  # the master's clock minus this host's, as measured
    rtt: float | None = None  # the round trip of the exchange the offset came from

    def local(self) -> float:
        """This host's clock (as its system clock, with the test-only skew)."""
        return time.time() + self.skew

    def now(self) -> float:
        """The master's clock, as this process best knows it."""
        return self.local() + self.offset

    def sample(self, sent: float, master: float, received: float) -> None:
        """One exchange: ``sent`` and ``received`` on this host's clock, ``master`` on the
        master's; kept when its round trip is the shortest so far."""
        rtt = max(0.0, received - sent)
        if self.rtt is None or rtt < self.rtt:
            self.rtt = rtt
            self.offset = master - (sent + received) / 2.0

    def describe(self) -> dict[str, float | None]:
        return {"offset_s": round(self.offset, 6), "rtt_s": self.rtt and round(self.rtt, 6)}


CLOCK = SharedClock()


def now() -> float:
    return CLOCK.now()
